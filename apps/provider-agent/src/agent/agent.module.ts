import { Module, type DynamicModule } from '@nestjs/common';
import { CommandAuth } from './command-auth';
import { JOURNAL } from './command-journal';
import type { EventQueue } from './event-queue';
import { CommandsController, CONSOLE_PORT, ON_RETIRE, type OnRetire } from './commands.controller';
import { ConsoleRelay } from './console-relay';
import { MachinesService } from './machines.service';
import { MigrationService } from '../migration/migration.service';
import { VnetService } from '../network/vnet.service';

export interface AgentModuleDeps {
  auth: CommandAuth;
  machines: MachinesService;
  relay: ConsoleRelay;
  consolePort: number;
  onRetire: OnRetire;
  migrations: MigrationService;
  vnet: VnetService;
  /** Where commands received and done are journalled for the front-end's event log. */
  journal?: EventQueue;
}

/** The command port's Nest module; its services are built by bootstrap (they outlive Nest's app). */
@Module({})
export class AgentModule {
  static register(deps: AgentModuleDeps): DynamicModule {
    return {
      module: AgentModule,
      controllers: [CommandsController],
      providers: [
        { provide: CommandAuth, useValue: deps.auth },
        { provide: MachinesService, useValue: deps.machines },
        { provide: ConsoleRelay, useValue: deps.relay },
        { provide: CONSOLE_PORT, useValue: deps.consolePort },
        { provide: ON_RETIRE, useValue: deps.onRetire },
        { provide: MigrationService, useValue: deps.migrations },
        { provide: VnetService, useValue: deps.vnet },
        { provide: JOURNAL, useValue: deps.journal ?? null },
      ],
    };
  }
}
