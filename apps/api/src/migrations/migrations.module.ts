import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Agent } from '../agents/agent.entity';
import { AgentsModule } from '../agents/agents.module';
import { BillingModule } from '../billing/billing.module';
import { MachineCoreModule } from '../machines/machine-core.module';
import { Machine } from '../machines/machine.entity';
import { MachinesModule } from '../machines/machines.module';
import { Host } from '../providers/host.entity';
import { ProvidersModule } from '../providers/providers.module';
import { MigrationAgents } from './migration-agents';
import { Migration } from './migration.entity';
import { MigrationOffers } from './migration-offers.service';
import { MigrationOrchestrator } from './migration-orchestrator.service';
import { MigrationRecords } from './migration-records';
import { MigrationReportsController } from './migration-reports.controller';
import { MigrationReports } from './migration-reports.service';
import { MigrationWatch } from './migration-watch.service';
import { MigrationsController } from './migrations.controller';
import { MigrationsService } from './migrations.service';

/** Migration between providers (docs/ARCHITECTURE.md §7). */
@Module({
  imports: [TypeOrmModule.forFeature([Migration, Machine, Host, Agent]), AgentsModule, MachinesModule, MachineCoreModule, ProvidersModule, BillingModule],
  controllers: [MigrationsController, MigrationReportsController],
  providers: [MigrationsService, MigrationRecords, MigrationAgents, MigrationOffers, MigrationOrchestrator, MigrationReports, MigrationWatch],
  exports: [MigrationOrchestrator, MigrationWatch],
})
export class MigrationsModule {}
