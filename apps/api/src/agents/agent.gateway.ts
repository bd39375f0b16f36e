import { Inject, Injectable, Logger, OnApplicationShutdown, Optional } from '@nestjs/common';
import { ClientTCP } from '@nestjs/microservices';
import { InjectRepository } from '@nestjs/typeorm';
import {
  AgentCommands,
  AgentErrorCodes,
  AgentProtocol,
  checkAgentMessage,
  type AgentCommand,
  type AgentFailure,
  type AgentReply,
  type AgentRequest,
  type AgentResult,
  type AgentRetireCommand,
  type AgentVmState,
  type ConsoleOpenCommand,
  type VmCommand,
  type VmCreateCommand,
  type VmMediaCommand,
  type VmSendKeysCommand,
  type VmResumeCommand,
  type VmStartCommand,
  type VmStopCommand,
  type VnetSyncCommand,
  type VnetSyncResult,
  sign,
} from '@virtuoso/contracts';
import { TimeoutError, firstValueFrom, timeout } from 'rxjs';
import { Repository } from 'typeorm';
import { Metrics } from '../metrics/metrics.service';
import { currentRequestId } from '../common/request-id';
import { APP_CONFIG, AppConfig } from '../config';
import {
  AgentNoAnswerError,
  AgentRefusedError,
  AgentTarget,
  AgentUnavailableError,
  ConsoleEndpoint,
  HostAgentGateway,
  unreachable,
} from '../machines/host-agent.gateway';
import { AgentCommandLog } from '../events/agent-command-log';
import { Agent } from './agent.entity';
import { agentAddressAllowed } from './agent-address';

/** The agent commands of a migration. */
export type MigrationCommand =
  | typeof AgentCommands.migrationQuery
  | typeof AgentCommands.migrationPrepare
  | typeof AgentCommands.migrationExport
  | typeof AgentCommands.migrationRequest
  | typeof AgentCommands.migrationStatus
  | typeof AgentCommands.migrationFinish;

/** Stop gets the guest's power-off time plus this much for the agent's own work. */
const STOP_MARGIN_MS = 10_000;

interface Connection {
  /** host:port the client dials; a re-joined agent at another address gets a new client. */
  address: string;
  client: ClientTCP;
}

/**
 * The real HostAgentGateway: one NestJS ClientTCP per agent, every command a SignedEnvelope on
 * channel = pattern with the agent's secret (report §6.3, without the blind trust of footnote 26).
 * Fails fast when there is no agent or its port refuses; a command that was sent but not answered
 * in time is an AgentNoAnswerError (outcome unknown: the reconciler settles it from heartbeats).
 */
@Injectable()
export class AgentGateway implements HostAgentGateway, OnApplicationShutdown {
  private readonly logger = new Logger('AgentGateway');
  private readonly connections = new Map<string, Connection>();

  constructor(
    @InjectRepository(Agent) private readonly agents: Repository<Agent>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: Metrics,
    @Optional() private readonly commandLog?: AgentCommandLog,
  ) {}

  createVm(target: AgentTarget, command: VmCreateCommand): Promise<AgentVmState> {
    return this.send(target, AgentCommands.create, command, command.image ? this.config.agentCreateTimeoutMs : this.config.agentCommandTimeoutMs);
  }

  startVm(target: AgentTarget, command: VmStartCommand): Promise<AgentVmState> {
    return this.send(target, AgentCommands.start, command);
  }

  stopVm(target: AgentTarget, command: VmStopCommand): Promise<AgentVmState> {
    return this.send(target, AgentCommands.stop, command, (command.timeoutMs ?? 30_000) + STOP_MARGIN_MS);
  }

  rebootVm(target: AgentTarget, command: VmCommand): Promise<AgentVmState> {
    return this.send(target, AgentCommands.reboot, command);
  }

  resetVm(target: AgentTarget, command: VmCommand): Promise<AgentVmState> {
    return this.send(target, AgentCommands.reset, command);
  }

  async retireAgent(target: AgentTarget, command: AgentRetireCommand): Promise<void> {
    const agent = await this.agentOf(target);
    try {
      await this.send(target, AgentCommands.retire, command);
    } finally {
      // Nothing more goes to it.
      this.drop(agent.id);
    }
  }

  suspendVm(target: AgentTarget, command: VmCommand): Promise<AgentVmState> {
    return this.send(target, AgentCommands.suspend, command);
  }

  resumeVm(target: AgentTarget, command: VmResumeCommand): Promise<AgentVmState> {
    return this.send(target, AgentCommands.resume, command);
  }

  deleteVm(target: AgentTarget, command: VmCommand): Promise<AgentVmState> {
    return this.send(target, AgentCommands.delete, command);
  }

  attachMedia(target: AgentTarget, command: VmMediaCommand): Promise<AgentVmState> {
    // The agent fetches the ISO first (cached by sha256 afterwards).
    return this.send(target, AgentCommands.attachMedia, command, this.config.agentCreateTimeoutMs);
  }

  ejectMedia(target: AgentTarget, command: VmCommand): Promise<AgentVmState> {
    return this.send(target, AgentCommands.ejectMedia, command);
  }

  sendKeys(target: AgentTarget, command: VmSendKeysCommand): Promise<AgentVmState> {
    return this.send(target, AgentCommands.sendKeys, command);
  }

  async openConsole(target: AgentTarget, command: ConsoleOpenCommand): Promise<ConsoleEndpoint> {
    const agent = await this.agentOf(target);
    const result = await this.send(target, AgentCommands.consoleOpen, command);
    return { host: agent.agentHost, port: result.consolePort || agent.consolePort };
  }

  /** What private networks the agent should hold (vnet.sync); it answers what it holds. */
  vnetSync(target: AgentTarget, command: VnetSyncCommand): Promise<VnetSyncResult> {
    return this.send(target, AgentCommands.vnetSync, command);
  }

  listVms(target: AgentTarget): Promise<AgentVmState[]> {
    return this.send(target, AgentCommands.list, {});
  }

  /**
   * A migration command (libs/contracts agent/migration.ts) to the target's agent, typed and
   * checked by the protocol like every other command; the orchestrator chooses the timeout (an
   * export hashes the machine's files, a query is bounded at about 2 s).
   */
  migrationCommand<C extends MigrationCommand>(target: AgentTarget, pattern: C, body: AgentRequest<C>, timeoutMs?: number): Promise<AgentResult<C>> {
    return this.send(target, pattern, body, timeoutMs);
  }

  onApplicationShutdown(): void {
    for (const { client } of this.connections.values()) client.close();
    this.connections.clear();
  }

  /**
   * Sends command C signed for the target's agent and resolves with its result, typed and checked
   * against the protocol's reply DTO (AgentProtocol): an answer of another shape is a failure. The
   * command and its reply go to the event log; each is counted by command and outcome in
   * virtuoso_agent_commands_total.
   */
  private async send<C extends AgentCommand>(
    target: AgentTarget,
    pattern: C,
    body: AgentRequest<C>,
    timeoutMs = this.config.agentCommandTimeoutMs,
  ): Promise<AgentResult<C>> {
    const exchange = () => this.exchange(target, pattern, body, timeoutMs);
    try {
      const result = await (this.commandLog ? this.commandLog.traced(target, pattern, body, exchange) : exchange());
      this.metrics.agentCommands.inc({ command: pattern, outcome: 'ok' });
      return result;
    } catch (error) {
      this.metrics.agentCommands.inc({ command: pattern, outcome: commandOutcome(error) });
      throw error;
    }
  }

  /** One command and its reply. */
  private async exchange<C extends AgentCommand>(target: AgentTarget, pattern: C, body: AgentRequest<C>, timeoutMs: number): Promise<AgentResult<C>> {
    const agent = await this.agentOf(target);
    const client = await this.connect(target, agent);
    const started = performance.now();
    let reply: AgentReply;
    try {
      reply = await firstValueFrom(
        client.send<AgentReply>(pattern, sign(agent.secret, agent.id, pattern, body, Date.now(), currentRequestId())).pipe(timeout(timeoutMs)),
      );
    } catch (error) {
      if (error instanceof TimeoutError) {
        throw new AgentNoAnswerError(`the agent of host ${target.hostName} did not answer ${pattern} within ${Math.round(timeoutMs / 1000)} s`);
      }
      this.drop(agent.id);
      throw new AgentNoAnswerError(`the connection to the agent of host ${target.hostName} broke during ${pattern} (${describe(error)})`);
    }
    if (!reply || typeof reply !== 'object' || typeof reply.ok !== 'boolean') {
      throw new AgentRefusedError(`the agent of host ${target.hostName} answered ${pattern} with something that is not a reply`, 'failed');
    }
    if (!reply.ok) {
      const failure: AgentFailure = AgentErrorCodes.includes(reply.code) ? reply : { ok: false, code: 'failed', error: String(reply.error) };
      this.logger.warn(`${pattern} on ${target.hostName} (agent ${agent.id}) → ${failure.code}: ${failure.error}`);
      throw new AgentRefusedError(explain(target.hostName, failure), failure.code);
    }
    const result = checkAgentMessage(AgentProtocol[pattern].result, reply.result);
    if (!result.ok) {
      this.logger.warn(`${pattern} on ${target.hostName} (agent ${agent.id}) answered a malformed result: ${result.problems.join('; ')}`);
      throw new AgentRefusedError(`the agent of host ${target.hostName} answered ${pattern} with a malformed result (${result.problems[0]})`, 'failed');
    }
    this.logger.debug(`${pattern} on ${target.hostName} answered in ${Math.round(performance.now() - started)} ms`);
    return result.value as AgentResult<C>;
  }

  private async agentOf(target: AgentTarget): Promise<Agent> {
    const agent = target.agentId ? await this.agents.findOneBy({ id: target.agentId }) : null;
    if (!agent) {
      throw new AgentUnavailableError(
        `host ${target.hostName} has no agent yet: start one on the host with a join token for it (POST /api/agents/join-tokens with its hostId)`,
      );
    }
    return agent;
  }

  /** The agent's client, connected; refuses at once when the agent's port does (ECONNREFUSED). */
  private async connect(target: AgentTarget, agent: Agent): Promise<ClientTCP> {
    const address = `${agent.agentHost}:${agent.agentPort}`;
    // Agents joined before joinedFrom was kept are taken at the address they reported then.
    if (!agentAddressAllowed(this.config.agentAddresses, agent.agentHost, agent.joinedFrom ?? agent.agentHost)) {
      this.logger.warn(
        `agent ${agent.id} of host ${target.hostName}: not dialling ${address}, which VIRTUOSO_AGENT_ADDRESSES=${this.config.agentAddresses.text} does not allow`,
      );
      throw new AgentUnavailableError(unreachable(target.hostName));
    }
    let connection = this.connections.get(agent.id);
    if (connection && connection.address !== address) {
      this.drop(agent.id);
      connection = undefined;
    }
    if (!connection) {
      connection = { address, client: new ClientTCP({ host: agent.agentHost, port: agent.agentPort }) };
      this.connections.set(agent.id, connection);
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        connection.client.connect(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no connection within ${this.config.agentConnectTimeoutMs} ms`)), this.config.agentConnectTimeoutMs);
        }),
      ]);
      return connection.client;
    } catch (error) {
      this.drop(agent.id);
      // Whatever failed (refused, no answer, no route), buyers get one sentence without the address:
      // telling them apart would make the API a port scanner for whoever controls an agent address.
      this.logger.warn(`agent ${agent.id} of host ${target.hostName} not reachable: ${describe(error)} at ${address}`);
      throw new AgentUnavailableError(unreachable(target.hostName));
    } finally {
      clearTimeout(timer);
    }
  }

  private drop(agentId: string): void {
    const connection = this.connections.get(agentId);
    if (!connection) return;
    this.connections.delete(agentId);
    const socket = (connection.client as unknown as { socket?: { netSocket?: { destroy(): void } } | null }).socket;
    connection.client.close();
    socket?.netSocket?.destroy();
  }
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.message : String((error as { message?: unknown })?.message ?? error);
}

/** An agent's refusal as a sentence for the buyer (and lastError). */
function explain(hostName: string, reply: AgentFailure): string {
  const agent = `the agent of host ${hostName}`;
  switch (reply.code) {
    case 'unauthenticated':
      return `${agent} refused the front-end's signature (${reply.error}); it may have joined another front-end`;
    case 'not-found':
      return `${agent} does not hold the machine (${reply.error})`;
    case 'conflict':
      return `${agent} refused: ${reply.error}`;
    case 'refused':
      return `the virtual machine monitor on host ${hostName} refused: ${reply.error}`;
    default:
      return `${agent} failed: ${reply.error}`;
  }
}

/** A failed command's outcome label: what the gateway's errors say happened. */
function commandOutcome(error: unknown): string {
  if (error instanceof AgentRefusedError) return 'refused';
  if (error instanceof AgentNoAnswerError) return 'no-answer';
  if (error instanceof AgentUnavailableError) return 'unavailable';
  return 'error';
}
