import { Controller, Inject, Logger } from '@nestjs/common';
import { Ctx, MessagePattern, Payload, TcpContext } from '@nestjs/microservices';
import { AgentCommands, type AgentReply, type ConsoleOpenResult } from '@virtuoso/contracts';
import { CommandAuth } from './command-auth';
import { parseConsoleOpen, parseCreate, parseMedia, parseRetire, parseSendKeys, parseStart, parseStop, parseVmCommand } from './commands';
import { ConsoleRelay } from './console-relay';
import { CommandError, toFailure } from './errors';
import { MachinesService } from './machines.service';

export const CONSOLE_PORT = Symbol('CONSOLE_PORT');
/** What the agent does when the front-end retires it (bootstrap: record it on disk, stop heartbeating). */
export const ON_RETIRE = Symbol('ON_RETIRE');
export type OnRetire = (reason: string) => Promise<void> | void;

/**
 * The command port (report §6.3): one handler per AgentCommands pattern. Each takes a
 * SignedEnvelope, verifies it on channel = pattern, and replies AgentReply.
 */
@Controller()
export class CommandsController {
  private readonly log = new Logger('Commands');

  constructor(
    @Inject(CommandAuth) private readonly auth: CommandAuth,
    @Inject(MachinesService) private readonly machines: MachinesService,
    @Inject(ConsoleRelay) private readonly relay: ConsoleRelay,
    @Inject(CONSOLE_PORT) private readonly consolePort: number,
    @Inject(ON_RETIRE) private readonly onRetire: OnRetire,
  ) {}

  private async run<T>(pattern: string, envelope: unknown, ctx: TcpContext | undefined, fn: (body: unknown) => Promise<T> | T): Promise<AgentReply<T>> {
    let peer: string | undefined;
    try {
      const s = ctx?.getSocketRef()?.socket;
      if (s) peer = `${s.remoteAddress}:${s.remotePort}`;
    } catch {
      /* no socket info */
    }
    const a = this.auth.check(pattern, envelope, peer);
    if (!a.ok) return a.reply as AgentReply<T>;
    try {
      return { ok: true, result: await fn(a.body) };
    } catch (e) {
      const f = toFailure(e);
      const level = f.code === 'failed' && !(e instanceof CommandError) ? 'error' : 'warn';
      this.log[level](`${pattern} → ${f.code}: ${f.error}`);
      return f;
    }
  }

  @MessagePattern(AgentCommands.facts)
  facts(@Payload() env: unknown, @Ctx() ctx: TcpContext) {
    return this.run(AgentCommands.facts, env, ctx, () => this.machines.facts());
  }

  @MessagePattern(AgentCommands.list)
  list(@Payload() env: unknown, @Ctx() ctx: TcpContext) {
    return this.run(AgentCommands.list, env, ctx, () => this.machines.list());
  }

  @MessagePattern(AgentCommands.create)
  create(@Payload() env: unknown, @Ctx() ctx: TcpContext) {
    return this.run(AgentCommands.create, env, ctx, (b) => this.machines.create(parseCreate(AgentCommands.create, b)));
  }

  @MessagePattern(AgentCommands.start)
  start(@Payload() env: unknown, @Ctx() ctx: TcpContext) {
    return this.run(AgentCommands.start, env, ctx, (b) => this.machines.start(parseStart(AgentCommands.start, b)));
  }

  @MessagePattern(AgentCommands.stop)
  stop(@Payload() env: unknown, @Ctx() ctx: TcpContext) {
    return this.run(AgentCommands.stop, env, ctx, (b) => this.machines.stop(parseStop(AgentCommands.stop, b)));
  }

  @MessagePattern(AgentCommands.reboot)
  reboot(@Payload() env: unknown, @Ctx() ctx: TcpContext) {
    return this.run(AgentCommands.reboot, env, ctx, (b) => this.machines.reboot(parseVmCommand(AgentCommands.reboot, b)));
  }

  @MessagePattern(AgentCommands.reset)
  reset(@Payload() env: unknown, @Ctx() ctx: TcpContext) {
    return this.run(AgentCommands.reset, env, ctx, (b) => this.machines.reset(parseVmCommand(AgentCommands.reset, b)));
  }

  /** The front-end deleted this agent's host: stop serving for good (it may join again only with a new join token). */
  @MessagePattern(AgentCommands.retire)
  retire(@Payload() env: unknown, @Ctx() ctx: TcpContext) {
    return this.run(AgentCommands.retire, env, ctx, async (b) => {
      const cmd = parseRetire(AgentCommands.retire, b);
      this.auth.retire(cmd.reason);
      await this.onRetire(cmd.reason);
      return { retired: true };
    });
  }

  @MessagePattern(AgentCommands.suspend)
  suspend(@Payload() env: unknown, @Ctx() ctx: TcpContext) {
    return this.run(AgentCommands.suspend, env, ctx, (b) => this.machines.suspend(parseVmCommand(AgentCommands.suspend, b)));
  }

  @MessagePattern(AgentCommands.resume)
  resume(@Payload() env: unknown, @Ctx() ctx: TcpContext) {
    return this.run(AgentCommands.resume, env, ctx, (b) => this.machines.resume(parseVmCommand(AgentCommands.resume, b)));
  }

  @MessagePattern(AgentCommands.delete)
  delete(@Payload() env: unknown, @Ctx() ctx: TcpContext) {
    return this.run(AgentCommands.delete, env, ctx, (b) => {
      const cmd = parseVmCommand(AgentCommands.delete, b);
      return this.machines.delete(cmd, () => this.relay.closeMachine(cmd.machineId, 'machine deleted'));
    });
  }

  @MessagePattern(AgentCommands.attachMedia)
  attachMedia(@Payload() env: unknown, @Ctx() ctx: TcpContext) {
    return this.run(AgentCommands.attachMedia, env, ctx, (b) => this.machines.attachMedia(parseMedia(AgentCommands.attachMedia, b)));
  }

  @MessagePattern(AgentCommands.ejectMedia)
  ejectMedia(@Payload() env: unknown, @Ctx() ctx: TcpContext) {
    return this.run(AgentCommands.ejectMedia, env, ctx, (b) => this.machines.ejectMedia(parseVmCommand(AgentCommands.ejectMedia, b)));
  }

  @MessagePattern(AgentCommands.sendKeys)
  sendKeys(@Payload() env: unknown, @Ctx() ctx: TcpContext) {
    return this.run(AgentCommands.sendKeys, env, ctx, (b) => this.machines.sendKeys(parseSendKeys(AgentCommands.sendKeys, b)));
  }

  @MessagePattern(AgentCommands.consoleOpen)
  consoleOpen(@Payload() env: unknown, @Ctx() ctx: TcpContext) {
    return this.run(AgentCommands.consoleOpen, env, ctx, async (b): Promise<ConsoleOpenResult> => {
      const cmd = parseConsoleOpen(AgentCommands.consoleOpen, b);
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
    });
  }
}
