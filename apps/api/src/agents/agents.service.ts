import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { Clock, WALL_CLOCK } from '../common/clock';
import { InjectRepository } from '@nestjs/typeorm';
import {
  HEARTBEAT_PATH,
  HeartbeatDto,
  checkAgentMessage,
  type AgentDto,
  type CreateJoinTokenDto,
  type HostFacts,
  type JoinRequestDto,
  type JoinResponseDto,
  type JoinTokenDto,
  type JoinTokenStatusDto,
  type JoinedAgentDto,
  type AgentVmState,
  type Heartbeat,
} from '@virtuoso/contracts';
import type { Request } from 'express';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { EntityManager, In, IsNull, MoreThan, Repository } from 'typeorm';
import { AuthUser } from '../common/auth.decorators';
import { Database } from '../common/database.service';
import { ApiError, badRequest, notFound, validationException } from '../common/errors';
import { Sql, exec, select } from '../common/sql';
import { isoAfter, nowIso } from '../common/time';
import { Metrics } from '../metrics/metrics.service';
import { APP_CONFIG, AppConfig } from '../config';
import { EventLog } from '../events/event-log.service';
import { Machine } from '../machines/machine.entity';
import { NetworkChanged } from '../network/network.events';
import { Host } from '../providers/host.entity';
import { Agent } from './agent.entity';
import { agentAddressAllowed, plainAddress } from './agent-address';
import { AgentAuth } from './agent-auth.service';
import { JoinToken } from './join-token.entity';
import { CONSOLE_PORT_OFFSET, canBindLoopback, isThisMachine, suggestAgentPorts } from './port-suggestion';
import { isOnline, mayStampLater, parseFacts } from './online';
import { HeartbeatAdmission } from './heartbeat-admission';
import { HeartbeatStamps } from './heartbeat-stamps.service';
import { Reconciler } from './reconciler.service';

const JOIN_TOKEN_PREFIX = 'vj_';
const JOIN_TOKEN_TTL_SECONDS = 3600;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** What a join token command should hold. */
export interface AgentCommandLine {
  frontendUrl: string;
  /** null: the agent has joined already (agent.json in its data dir); no token needed. */
  token: string | null;
  dataDir: string;
  port: number;
  consolePort?: number;
}

/** The agent's transfer sshd as its columns (null when it reports none). */
function transferColumns(facts: HostFacts): Pick<Agent, 'transferSshPort' | 'transferSshUser' | 'transferHostKey' | 'transferFingerprint'> {
  const t = facts.transfer;
  return {
    transferSshPort: t?.sshPort ?? null,
    transferSshUser: t?.sshUser ?? null,
    transferHostKey: t?.hostKey ?? null,
    transferFingerprint: t?.fingerprint ?? null,
  };
}

/** The line the "add host" page shows (npm run agent is the repository's script for apps/provider-agent). */
export function agentCommand(line: AgentCommandLine): string {
  const parts = [
    'npm run agent --',
    '--frontend',
    line.frontendUrl,
    ...(line.token ? ['--join', line.token] : []),
    '--data',
    line.dataDir,
    '--port',
    String(line.port),
  ];
  if (line.consolePort) parts.push('--console-port', String(line.consolePort));
  return parts.join(' ');
}

/**
 * The one line the "add host" page offers first: the install script this API serves, as root, with
 * the token and the same ports as agentCommand (docs/ARCHITECTURE.md §13). The script defaults its
 * market to the address it was fetched from, so the line names it once.
 */
export function installCommand(line: { frontendUrl: string; token: string; port: number; consolePort: number }): string {
  return `curl -fsSL ${line.frontendUrl}/install-agent.sh | sudo bash -s -- --join ${line.token} --port ${line.port} --console-port ${line.consolePort}`;
}

/**
 * Provider agents (report §6.2; docs/ARCHITECTURE.md §5): one-time join tokens (stored hashed, one hour),
 * the join that hands an agent its id and HMAC secret, its heartbeats (facts, machine states,
 * events), and the provider's view of them.
 */
@Injectable()
export class AgentsService {
  private readonly logger = new Logger('Agents');

  constructor(
    private readonly db: Database,
    private readonly auth: AgentAuth,
    private readonly reconciler: Reconciler,
    private readonly stamps: HeartbeatStamps,
    private readonly admission: HeartbeatAdmission,
    @InjectRepository(Agent) private readonly agents: Repository<Agent>,
    @InjectRepository(JoinToken) private readonly tokens: Repository<JoinToken>,
    @InjectRepository(Host) private readonly hosts: Repository<Host>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
    private readonly events: EventEmitter2,
    private readonly metrics: Metrics,
    private readonly eventLog: EventLog,
  ) {}

  /** The base URL agents reach this API at: VIRTUOSO_PUBLIC_URL, else what the request was sent to. */
  publicUrl(req?: Request): string {
    if (this.config.publicUrl) return this.config.publicUrl;
    const host = req?.get('host');
    if (host) return `${req!.protocol}://${host}`;
    const address = this.config.host === '0.0.0.0' || this.config.host === '::' ? '127.0.0.1' : this.config.host;
    return `http://${address.includes(':') ? `[${address}]` : address}:${this.config.port}`;
  }

  /** `requestFrom`: the address the provider asked from (ports are checked free here when it is this machine). */
  async createJoinToken(
    user: AuthUser,
    dto: CreateJoinTokenDto,
    frontendUrl: string,
    suggest?: { port: number; consolePort?: number; dataDir?: string },
    requestFrom?: string,
  ): Promise<JoinTokenDto> {
    if (dto.hostId) {
      const host = await this.hosts.findOneBy({ id: dto.hostId, ownerId: user.id });
      if (!host) throw badRequest('hostId', 'hostId must be one of your hosts');
      if (host.agentId) throw badRequest('hostId', `host ${host.name} already has an agent`);
    }
    const ports = suggest
      ? { agentPort: suggest.port, consolePort: suggest.consolePort ?? suggest.port + 1 }
      : await this.suggestPorts(isThisMachine(requestFrom));
    const token = JOIN_TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const now = this.wallClock.now();
    const row: JoinToken = {
      id: randomUUID(),
      providerId: user.id,
      tokenHash: sha256(token),
      hostId: dto.hostId ?? null,
      expiresAt: isoAfter(JOIN_TOKEN_TTL_SECONDS, now),
      usedAt: null,
      agentId: null,
      agentPort: ports.agentPort,
      consolePort: ports.consolePort,
      createdAt: new Date(now).toISOString(),
    };
    await this.db.transaction(async (em) => {
      await em.insert(JoinToken, row);
      // Never the token itself: its id names it.
      await this.eventLog.record(em, {
        kind: 'agent.join-token',
        message: `join token ${row.id} made by ${user.handle}${dto.hostId ? ' for its host' : ''}, valid until ${row.expiresAt}`,
        hostId: row.hostId,
        userId: user.id,
        providerId: user.id,
        data: { joinTokenId: row.id, agentPort: row.agentPort, consolePort: row.consolePort },
      });
    });
    const command = agentCommand({
      frontendUrl,
      token,
      dataDir: suggest?.dataDir ?? `~/.virtuoso/agent-${row.id.slice(0, 8)}`,
      port: ports.agentPort,
      consolePort: ports.consolePort,
    });
    return {
      id: row.id,
      token,
      expiresAt: row.expiresAt,
      command,
      installCommand: installCommand({ frontendUrl, token, port: ports.agentPort, consolePort: ports.consolePort }),
      agentPort: ports.agentPort,
      consolePort: ports.consolePort,
    };
  }

  /**
   * Ports for a new agent that no agent the market knows holds (on any address: where the new
   * agent will run is not known before it joins), nor a host added by hand (with its console port
   * unknown, both usual choices, + 1 and + 100), nor a join token still waiting for its agent, nor
   * this API; and, when the provider asks from this machine, free here now (bound on 127.0.0.1).
   */
  private async suggestPorts(onThisMachine: boolean): Promise<{ agentPort: number; consolePort: number }> {
    const taken = new Set<number>([this.config.port]);
    for (const agent of await this.agents.find({ select: { agentPort: true, consolePort: true } })) {
      taken.add(agent.agentPort).add(agent.consolePort);
    }
    for (const host of await this.hosts.find({ select: { agentPort: true, agentId: true } })) {
      taken.add(host.agentPort);
      if (host.agentId === null) taken.add(host.agentPort + 1).add(host.agentPort + CONSOLE_PORT_OFFSET);
    }
    for (const pending of await this.tokens.findBy({ usedAt: IsNull(), expiresAt: MoreThan(nowIso(this.wallClock)) })) {
      if (pending.agentPort !== null) taken.add(pending.agentPort);
      if (pending.consolePort !== null) taken.add(pending.consolePort);
    }
    const ports = await suggestAgentPorts(taken, onThisMachine ? canBindLoopback : async () => true);
    if (!ports) throw new ApiError(503, 'no free pair of ports is left to suggest for a new agent');
    return ports;
  }

  async joinTokenStatus(user: AuthUser, id: string): Promise<JoinTokenStatusDto> {
    const row = await this.tokens.findOneBy({ id, providerId: user.id });
    if (!row) throw notFound('join token');
    const agent = row.agentId ? await this.agents.findOneBy({ id: row.agentId }) : null;
    return { id: row.id, expiresAt: row.expiresAt, joined: row.usedAt !== null, agent: agent ? this.joinedDto(agent) : null };
  }

  /**
   * An agent joins with a one-time token: it gets its id and a fresh secret, once. A token made for
   * a host added by hand makes the agent that host's agent.
   */
  async join(dto: JoinRequestDto, from?: string): Promise<JoinResponseDto> {
    const refuse = (message: string) => {
      this.logger.warn(`join refused${from ? ` from ${from}` : ''}: ${message}`);
      return new ApiError(401, message);
    };
    const token = await this.tokens.findOneBy({ tokenHash: sha256(dto.joinToken) });
    if (!token) throw refuse('this join token is unknown');
    if (token.usedAt) throw refuse('this join token was already used; make a new one on the "add host" page');
    if (token.expiresAt <= nowIso(this.wallClock)) throw refuse(`this join token expired at ${token.expiresAt}; make a new one on the "add host" page`);
    // The API will dial this address: only what the operator's policy allows (by default the address the agent joins from).
    const joinedFrom = from ? plainAddress(from).slice(0, 64) : null;
    if (!agentAddressAllowed(this.config.agentAddresses, dto.agentHost, joinedFrom)) {
      this.logger.warn(
        `join refused${from ? ` from ${from}` : ''}: agentHost ${dto.agentHost} is not allowed by VIRTUOSO_AGENT_ADDRESSES=${this.config.agentAddresses.text}`,
      );
      const allowed = this.config.agentAddresses.joinedFrom && joinedFrom ? `the address it joins from (${joinedFrom})` : 'an address this market allows';
      throw badRequest('agentHost', `agentHost must be ${allowed}: the market connects to agents only there (operator setting VIRTUOSO_AGENT_ADDRESSES)`);
    }
    const now = nowIso(this.wallClock);
    const agent: Agent = {
      id: randomUUID(),
      providerId: token.providerId,
      secret: randomBytes(32).toString('hex'),
      agentHost: dto.agentHost,
      agentPort: dto.agentPort,
      consolePort: dto.consolePort,
      joinedFrom,
      // The ValidationPipe has checked the facts and dropped unknown fields (HostFactsDto).
      facts: JSON.stringify(dto.facts),
      vms: '[]',
      lastHeartbeatAt: null,
      ...transferColumns(dto.facts),
      joinedAt: now,
    };
    const bound = await this.db.transaction(async (em) => {
      const used = await em.update(JoinToken, { id: token.id, usedAt: IsNull() }, { usedAt: now, agentId: agent.id });
      if (used.affected !== 1) throw refuse('this join token was already used; make a new one on the "add host" page');
      await em.insert(Agent, agent);
      const joined = async (host: Host | null) => {
        await this.eventLog.record(em, {
          kind: 'agent.joined',
          message: `agent ${agent.id} joined from ${dto.agentHost}:${dto.agentPort}${host ? ` for host ${host.name}` : ''}`,
          agentId: agent.id,
          hostId: host?.id ?? null,
          providerId: agent.providerId,
          data: { agentHost: dto.agentHost, agentPort: dto.agentPort, cpus: dto.facts.cpus, memoryMb: dto.facts.memoryMb },
        });
        return host;
      };
      if (!token.hostId) return joined(null);
      const host = await em.findOneBy(Host, { id: token.hostId, ownerId: token.providerId });
      if (!host || host.agentId) {
        this.logger.warn(
          `agent ${agent.id} joined with a token for host ${token.hostId}, which ${host ? 'has an agent by now' : 'is gone'}; it serves no host yet`,
        );
        return joined(null);
      }
      await em.update(Host, { id: host.id }, { agentId: agent.id, agentHost: agent.agentHost, agentPort: agent.agentPort, updatedAt: now });
      return joined(host);
    });
    this.logger.log(
      `agent ${agent.id} joined from ${dto.agentHost}:${dto.agentPort} (console ${dto.consolePort}; ${dto.facts.cpus} cpus, ${dto.facts.bogomips} bogomips, ` +
        `${dto.facts.memoryMb} MB, ${dto.facts.freeDiskMb} MB free, ${dto.facts.accelerator})${bound ? ` for host ${bound.name}` : ''}`,
    );
    return { agentId: agent.id, secret: agent.secret };
  }

  async list(user: AuthUser): Promise<AgentDto[]> {
    const rows = await this.agents.find({ where: { providerId: user.id }, order: { joinedAt: 'ASC', id: 'ASC' } });
    const hosts = rows.length ? await this.hosts.findBy({ agentId: In(rows.map((row) => row.id)) }) : [];
    return rows.map((row) => {
      const host = hosts.find((h) => h.agentId === row.id);
      return {
        ...this.joinedDto(row),
        online: isOnline(row.lastHeartbeatAt, this.config.agentOfflineMs, this.wallClock.now()),
        lastHeartbeatAt: row.lastHeartbeatAt,
        joinedAt: row.joinedAt,
        hostId: host?.id ?? null,
        hostName: host?.name ?? null,
      };
    });
  }

  /**
   * POST /api/agents/heartbeat: verified, checked against HeartbeatDto (a 400 naming the field,
   * recording nothing), recorded (facts, machine states) in the one transaction that records its
   * nonce (docs/ARCHITECTURE.md §12: a heartbeat is the load that grows with the market), then
   * its events applied.
   */
  async heartbeat(envelope: unknown, from?: string): Promise<void> {
    const message = await this.auth.check(HEARTBEAT_PATH, envelope, from);
    const { agent, body } = message;
    const unchanged = unchangedReport(agent, body);
    const hb = unchanged ?? this.checkedHeartbeat(agent, body);
    const later = unchanged && mayStampLater(agent.lastHeartbeatAt, this.config.agentOfflineMs, message.now);
    if (later) {
      // Steady and online: the nonce alone now, the stamp with other agents' in a moment (HeartbeatStamps).
      await this.auth.record(message);
      this.stamps.stamp(agent.id, nowIso(this.wallClock));
    } else {
      const backOnline = agent.lastHeartbeatAt !== null && !isOnline(agent.lastHeartbeatAt, this.config.agentOfflineMs, this.wallClock.now());
      await this.auth.once(message, async (em) => {
        const lastHeartbeatAt = nowIso(this.wallClock);
        if (unchanged) {
          // Only the stamp moves (hand-written, see recordForwards).
          const q = new Sql(em);
          await exec(em, `UPDATE "agents" SET "lastHeartbeatAt" = ${q.p(lastHeartbeatAt)} WHERE "id" = ${q.p(agent.id)}`, q.params);
        } else {
          await em.update(
            Agent,
            { id: agent.id },
            { lastHeartbeatAt, facts: JSON.stringify(hb.facts), vms: JSON.stringify(hb.vms), ...transferColumns(hb.facts) },
          );
        }
        if (backOnline) await this.recordOnline(em, agent);
        // Its journal commits with the heartbeat: a 2xx tells the agent every entry it carried is stored.
        await this.eventLog.recordJournal(em, agent, hb.journal ?? []);
      });
    }
    if (agent.lastHeartbeatAt === null) this.logger.log(`agent ${agent.id}: first heartbeat (${hb.vms.length} machine(s))`);
    await this.recordForwards(agent, hb.vms);
    await this.reconciler.applyEvents(agent, hb.events);
    this.metrics.heartbeatsReceived.inc();
    this.admission.noteAnswered(agent.id);
    // Back from offline (or new, or restarted while offline): it is told what networks to hold.
    if (!isOnline(agent.lastHeartbeatAt, this.config.agentOfflineMs, this.wallClock.now())) {
      this.events.emit(NetworkChanged.event, new NetworkChanged(null, `agent ${agent.id} online`));
    }
  }

  private async recordOnline(em: EntityManager, agent: Agent): Promise<void> {
    const host = await em.findOne(Host, { select: { id: true, name: true }, where: { agentId: agent.id } });
    await this.eventLog.record(em, {
      kind: 'host.online',
      message: `${host ? `host ${host.name}` : `agent ${agent.id}`} is back online (last heartbeat before: ${agent.lastHeartbeatAt})`,
      agentId: agent.id,
      hostId: host?.id ?? null,
      providerId: agent.providerId,
    });
  }

  /** The heartbeat checked against HeartbeatDto: a 400 naming the field, recording nothing. */
  private checkedHeartbeat(agent: Agent, body: unknown): HeartbeatDto {
    const checked = checkAgentMessage(HeartbeatDto, body);
    if (!checked.ok) {
      this.logger.warn(`agent ${agent.id}: malformed heartbeat refused: ${checked.problems.join('; ')}`);
      throw checked.errors.length ? validationException(checked.errors) : new ApiError(400, 'a heartbeat must be a JSON object');
    }
    if (checked.value.agentId !== agent.id) {
      this.logger.warn(`agent ${agent.id}: heartbeat carrying agentId ${checked.value.agentId} refused`);
      throw badRequest('agentId', 'a heartbeat carries the agentId of its signer');
    }
    return checked.value;
  }

  /**
   * The forwarded ports a heartbeat reports for the machines its host runs: kept while the machine
   * runs at the reported version (a heartbeat from before a stop cannot bring them back), and asked
   * for again at its next start (lastHostPorts). One read on the steady heartbeat (the machines
   * joined to the agent's host; docs/ARCHITECTURE.md §12: heartbeats are the load that grows with
   * the market), a write only for what differs — every heartbeat compares, so forwards cleared by
   * a move out of running and back (a stop that failed) come back with the next report.
   */
  private async recordForwards(agent: Agent, vms: AgentVmState[]): Promise<void> {
    const reported = new Map(vms.filter((vm) => vm.state === 'running' && vm.forwards?.length).map((vm) => [vm.machineId, vm]));
    if (reported.size === 0) return;
    // Hand-written: TypeORM's query building and hydration cost more CPU than the read (docs/ARCHITECTURE.md §12).
    const q = new Sql(this.db.manager);
    const rows = await select<{ id: string; hostId: string; version: number; forwards: string }>(
      this.db.manager,
      `SELECT "machine"."id" AS "id", "machine"."hostId" AS "hostId", "machine"."version" AS "version", "machine"."forwards" AS "forwards" ` +
        `FROM "machines" "machine" INNER JOIN "hosts" "host" ON "host"."id" = "machine"."hostId" AND "host"."agentId" = ${q.p(agent.id)} ` +
        `WHERE "machine"."id" IN ${q.inList([...reported.keys()])} AND "machine"."state" = ${q.p('running')}`,
      q.params,
    );
    // forwards is simple-json: the stored text is JSON.stringify of what was recorded.
    const changed = rows.filter((row) => {
      const vm = reported.get(row.id)!;
      return Number(row.version) === vm.version && row.forwards !== JSON.stringify(vm.forwards);
    });
    if (changed.length === 0) return;
    await this.db.transaction(async (em) => {
      for (const row of changed) {
        const forwards = reported.get(row.id)!.forwards!;
        await em.update(
          Machine,
          { id: row.id, hostId: row.hostId, state: 'running', version: Number(row.version) },
          { forwards, lastHostPorts: forwards.map((forward) => forward.hostPort) },
        );
      }
    });
  }

  private joinedDto(agent: Agent): JoinedAgentDto {
    return {
      agentId: agent.id,
      agentHost: agent.agentHost,
      agentPort: agent.agentPort,
      consolePort: agent.consolePort,
      facts: (parseFacts(agent.facts) ?? {}) as HostFacts,
    };
  }
}

/**
 * A heartbeat whose facts and machines are, as JSON text, what the agent's row holds, with no
 * events: the stored text was written from a report that passed HeartbeatDto (unknown fields
 * dropped), so this one would pass it too, to the same value. Most heartbeats are these; they skip
 * class-validator and write only the stamp (docs/ARCHITECTURE.md §12). null: check it in full.
 */
export function unchangedReport(agent: Pick<Agent, 'id' | 'facts' | 'vms'>, body: unknown): Heartbeat | null {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
  const hb = body as Partial<Record<keyof Heartbeat, unknown>>;
  if (hb.agentId !== agent.id || !Array.isArray(hb.events) || hb.events.length !== 0 || !Array.isArray(hb.vms)) return null;
  // Journal entries for the event log are stored with the heartbeat (its full path).
  if (hb.journal !== undefined && (!Array.isArray(hb.journal) || hb.journal.length !== 0)) return null;
  if (!hb.facts || typeof hb.facts !== 'object' || JSON.stringify(hb.vms) !== agent.vms || JSON.stringify(hb.facts) !== agent.facts) return null;
  return { agentId: agent.id, facts: hb.facts as HostFacts, vms: hb.vms as AgentVmState[], events: [] };
}
