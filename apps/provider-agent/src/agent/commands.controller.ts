import { Controller, Inject, UseFilters, UseGuards, UseInterceptors, UsePipes } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { AgentCommands, type AgentRequest, type AgentResult } from '@virtuoso/contracts';
import { CommandAuth, SignedBody, SignedCommandGuard } from './command-auth';
import { CommandLogInterceptor } from './command-log';
import { CommandBodyPipe } from './commands.pipe';
import { CommandJournalInterceptor } from './command-journal';
import { AgentReplyFilter, AgentReplyInterceptor } from './commands.replies';
import { ConsoleRelay } from './console-relay';
import { CommandError } from './errors';
import { MachinesService } from './machines.service';
import { MigrationService } from '../migration/migration.service';
import { VnetService } from '../network/vnet.service';

export const CONSOLE_PORT = Symbol('CONSOLE_PORT');
/** What the agent does when the front-end retires it (bootstrap: record it on disk, stop heartbeating). */
export const ON_RETIRE = Symbol('ON_RETIRE');
export type OnRetire = (reason: string) => Promise<void> | void;

/**
 * The command port (report §6.3): one handler per AgentCommands pattern. Each message is a
 * SignedEnvelope that SignedCommandGuard verifies on channel = pattern; CommandBodyPipe checks its
 * body against the protocol's request DTO (AgentProtocol); the handler's result, or whatever
 * stopped it, is answered as an AgentReply.
 */
@Controller()
@UseGuards(SignedCommandGuard)
@UsePipes(CommandBodyPipe)
@UseInterceptors(CommandLogInterceptor, CommandJournalInterceptor, AgentReplyInterceptor)
@UseFilters(AgentReplyFilter)
export class CommandsController {
  constructor(
    @Inject(CommandAuth) private readonly auth: CommandAuth,
    @Inject(MachinesService) private readonly machines: MachinesService,
    @Inject(ConsoleRelay) private readonly relay: ConsoleRelay,
    @Inject(CONSOLE_PORT) private readonly consolePort: number,
    @Inject(ON_RETIRE) private readonly onRetire: OnRetire,
    @Inject(MigrationService) private readonly migrations: MigrationService,
    @Inject(VnetService) private readonly vnet: VnetService,
  ) {}

  @MessagePattern(AgentCommands.facts)
  facts(): AgentResult<typeof AgentCommands.facts> {
    return this.machines.facts();
  }

  @MessagePattern(AgentCommands.list)
  list(): Promise<AgentResult<typeof AgentCommands.list>> {
    return this.machines.list();
  }

  @MessagePattern(AgentCommands.create)
  create(@SignedBody(AgentCommands.create) cmd: AgentRequest<typeof AgentCommands.create>): Promise<AgentResult<typeof AgentCommands.create>> {
    return this.machines.create(cmd);
  }

  @MessagePattern(AgentCommands.start)
  start(@SignedBody(AgentCommands.start) cmd: AgentRequest<typeof AgentCommands.start>): Promise<AgentResult<typeof AgentCommands.start>> {
    return this.machines.start(cmd);
  }

  @MessagePattern(AgentCommands.stop)
  stop(@SignedBody(AgentCommands.stop) cmd: AgentRequest<typeof AgentCommands.stop>): Promise<AgentResult<typeof AgentCommands.stop>> {
    return this.machines.stop(cmd);
  }

  @MessagePattern(AgentCommands.reboot)
  reboot(@SignedBody(AgentCommands.reboot) cmd: AgentRequest<typeof AgentCommands.reboot>): Promise<AgentResult<typeof AgentCommands.reboot>> {
    return this.machines.reboot(cmd);
  }

  @MessagePattern(AgentCommands.reset)
  reset(@SignedBody(AgentCommands.reset) cmd: AgentRequest<typeof AgentCommands.reset>): Promise<AgentResult<typeof AgentCommands.reset>> {
    return this.machines.reset(cmd);
  }

  /** The front-end deleted this agent's host: stop serving for good (it may join again only with a new join token). */
  @MessagePattern(AgentCommands.retire)
  async retire(@SignedBody(AgentCommands.retire) cmd: AgentRequest<typeof AgentCommands.retire>): Promise<AgentResult<typeof AgentCommands.retire>> {
    this.auth.retire(cmd.reason);
    await this.onRetire(cmd.reason);
    return { retired: true };
  }

  @MessagePattern(AgentCommands.suspend)
  suspend(@SignedBody(AgentCommands.suspend) cmd: AgentRequest<typeof AgentCommands.suspend>): Promise<AgentResult<typeof AgentCommands.suspend>> {
    return this.machines.suspend(cmd);
  }

  @MessagePattern(AgentCommands.resume)
  resume(@SignedBody(AgentCommands.resume) cmd: AgentRequest<typeof AgentCommands.resume>): Promise<AgentResult<typeof AgentCommands.resume>> {
    return this.machines.resume(cmd);
  }

  @MessagePattern(AgentCommands.delete)
  delete(@SignedBody(AgentCommands.delete) cmd: AgentRequest<typeof AgentCommands.delete>): Promise<AgentResult<typeof AgentCommands.delete>> {
    return this.machines.delete(cmd, () => this.relay.closeMachine(cmd.machineId, 'machine deleted'));
  }

  @MessagePattern(AgentCommands.attachMedia)
  attachMedia(
    @SignedBody(AgentCommands.attachMedia) cmd: AgentRequest<typeof AgentCommands.attachMedia>,
  ): Promise<AgentResult<typeof AgentCommands.attachMedia>> {
    return this.machines.attachMedia(cmd);
  }

  @MessagePattern(AgentCommands.ejectMedia)
  ejectMedia(@SignedBody(AgentCommands.ejectMedia) cmd: AgentRequest<typeof AgentCommands.ejectMedia>): Promise<AgentResult<typeof AgentCommands.ejectMedia>> {
    return this.machines.ejectMedia(cmd);
  }

  @MessagePattern(AgentCommands.sendKeys)
  sendKeys(@SignedBody(AgentCommands.sendKeys) cmd: AgentRequest<typeof AgentCommands.sendKeys>): Promise<AgentResult<typeof AgentCommands.sendKeys>> {
    return this.machines.sendKeys(cmd);
  }

  @MessagePattern(AgentCommands.consoleOpen)
  async consoleOpen(
    @SignedBody(AgentCommands.consoleOpen) cmd: AgentRequest<typeof AgentCommands.consoleOpen>,
  ): Promise<AgentResult<typeof AgentCommands.consoleOpen>> {
    const st = await this.machines.isRunning(cmd.machineId);
    if (st.state === 'absent') throw new CommandError('not-found', `machine ${cmd.machineId} not found`);
    if (!st.running) throw new CommandError('conflict', `no console for machine ${cmd.machineId}: it is ${st.state}`);
    if (cmd.expiresAt <= Date.now()) throw new CommandError('refused', 'the console ticket has already expired');
    try {
      this.relay.open(cmd.machineId, cmd.ticket, cmd.expiresAt);
    } catch (e) {
      throw new CommandError('conflict', (e as Error).message);
    }
    return { machineId: cmd.machineId, expiresAt: cmd.expiresAt, consolePort: this.consolePort };
  }

  // Migration (docs/ARCHITECTURE.md §7): MigrationService routes each to the origin or the destination.

  @MessagePattern(AgentCommands.migrationQuery)
  migrationQuery(
    @SignedBody(AgentCommands.migrationQuery) cmd: AgentRequest<typeof AgentCommands.migrationQuery>,
  ): AgentResult<typeof AgentCommands.migrationQuery> {
    return this.migrations.query(cmd);
  }

  @MessagePattern(AgentCommands.migrationPrepare)
  migrationPrepare(
    @SignedBody(AgentCommands.migrationPrepare) cmd: AgentRequest<typeof AgentCommands.migrationPrepare>,
  ): Promise<AgentResult<typeof AgentCommands.migrationPrepare>> {
    return this.migrations.prepare(cmd);
  }

  @MessagePattern(AgentCommands.migrationExport)
  migrationExport(
    @SignedBody(AgentCommands.migrationExport) cmd: AgentRequest<typeof AgentCommands.migrationExport>,
  ): Promise<AgentResult<typeof AgentCommands.migrationExport>> {
    return this.migrations.export(cmd);
  }

  @MessagePattern(AgentCommands.migrationRequest)
  migrationRequest(
    @SignedBody(AgentCommands.migrationRequest) cmd: AgentRequest<typeof AgentCommands.migrationRequest>,
  ): Promise<AgentResult<typeof AgentCommands.migrationRequest>> {
    return this.migrations.request(cmd);
  }

  @MessagePattern(AgentCommands.migrationStatus)
  migrationStatus(
    @SignedBody(AgentCommands.migrationStatus) cmd: AgentRequest<typeof AgentCommands.migrationStatus>,
  ): AgentResult<typeof AgentCommands.migrationStatus> {
    return this.migrations.status(cmd);
  }

  @MessagePattern(AgentCommands.migrationFinish)
  migrationFinish(
    @SignedBody(AgentCommands.migrationFinish) cmd: AgentRequest<typeof AgentCommands.migrationFinish>,
  ): Promise<AgentResult<typeof AgentCommands.migrationFinish>> {
    return this.migrations.finish(cmd);
  }

  // Guest networking (docs/ARCHITECTURE.md §11): the private segments this agent holds.

  @MessagePattern(AgentCommands.vnetSync)
  async vnetSync(@SignedBody(AgentCommands.vnetSync) cmd: AgentRequest<typeof AgentCommands.vnetSync>): Promise<AgentResult<typeof AgentCommands.vnetSync>> {
    if (!this.vnet.available()) {
      if (!cmd.networks.length) return { networks: [] };
      throw new CommandError(
        'failed',
        'this host cannot carry private networks (the vde2 package is not installed or the agent has no transfer sshd: --ssh-port)',
      );
    }
    try {
      return await this.vnet.sync(cmd);
    } catch (e) {
      throw new CommandError('failed', `vnet.sync: ${(e as Error).message}`);
    }
  }
}
