import { Inject, Injectable } from '@nestjs/common';
import { Clock, WALL_CLOCK } from '../common/clock';
import { InjectRepository } from '@nestjs/typeorm';
import { CreateHostDto, HostDto, type HostFacts, ResourceAmountsDto, UpdateHostDto } from '@virtuoso/contracts';
import { type HostCapacity, type HostPrices, type MachineSize, type MachineState, fits, freeResources, release, reserve } from '@virtuoso/domain';
import { randomUUID } from 'node:crypto';
import { EntityManager, In, Not, Repository } from 'typeorm';
import { AccountsService } from '../accounts/accounts.service';
import { Agent } from '../agents/agent.entity';
import { isOnline, parseFacts } from '../agents/online';
import { AuthUser } from '../common/auth.decorators';
import { Database } from '../common/database.service';
import { ApiError, badRequest, conflict, explainUnknownProperties, notFound, withoutUndefined } from '../common/errors';
import { assertUnderQuota } from '../common/quotas';
import { exactAmount } from '../common/money';
import { nowIso } from '../common/time';
import { APP_CONFIG, AppConfig } from '../config';
import { EventLog } from '../events/event-log.service';
import { Machine } from '../machines/machine.entity';
import { Host } from './host.entity';

const CREATE_FIELDS = [
  'name',
  'processor',
  'speed',
  'speedUnit',
  'speedUnitPrice',
  'memory',
  'memoryUnit',
  'memoryUnitPrice',
  'runningUnitAmount',
  'storage',
  'storageUnit',
  'storageUnitPrice',
  'storageAmount',
  'connectionSpeed',
  'agentHost',
  'agentPort',
] as const;
/** Fields locked once the host exists (PATCH names them). */
const LOCKED_FIELDS: readonly string[] = [...CREATE_FIELDS, 'agentId'];
const PRICE_FIELDS = ['speedUnitPrice', 'memoryUnitPrice', 'storageUnitPrice'] as const;

// Report §5.2.3: only units, unit prices and periods may change once a host is added.
explainUnknownProperties(UpdateHostDto, (property) => (LOCKED_FIELDS.includes(property) ? `${property} cannot be changed after the host is added` : undefined));

export const pricesOf = (host: Host): HostPrices => ({
  speedUnit: host.speedUnit,
  speedUnitPrice: host.speedUnitPrice,
  memoryUnit: host.memoryUnit,
  memoryUnitPrice: host.memoryUnitPrice,
  runningUnitAmount: host.runningUnitAmount,
  storageUnit: host.storageUnit,
  storageUnitPrice: host.storageUnitPrice,
  storageAmount: host.storageAmount,
});
export const totalOf = (host: Host): HostCapacity => ({ speed: host.speed, memory: host.memory, storage: host.storage });
export const reservedOf = (host: Host): HostCapacity => ({ speed: host.reservedSpeed, memory: host.reservedMemory, storage: host.reservedStorage });
export const freeOf = (host: Host): ResourceAmountsDto => freeResources(totalOf(host), reservedOf(host));

/** What a host's agent says about it, for HostDto, MarketHostDto and machines' host references. */
export interface AgentStatus {
  online: boolean;
  lastHeartbeatAt: string | null;
  facts: HostFacts | null;
}
const NO_AGENT: AgentStatus = { online: false, lastHeartbeatAt: null, facts: null };

/** The totals a provider may sell on a host are capped by what its agent measured. */
const CAPS: Array<[field: 'speed' | 'memory' | 'storage', fact: 'bogomips' | 'memoryMb' | 'freeDiskMb', what: string]> = [
  ['speed', 'bogomips', 'bogomips'],
  ['memory', 'memoryMb', 'MB of memory'],
  ['storage', 'freeDiskMb', 'MB of free disk'],
];

@Injectable()
export class HostsService {
  constructor(
    private readonly db: Database,
    private readonly accounts: AccountsService,
    @InjectRepository(Host) private readonly hosts: Repository<Host>,
    @InjectRepository(Machine) private readonly machines: Repository<Machine>,
    @InjectRepository(Agent) private readonly agents: Repository<Agent>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
    private readonly eventLog: EventLog,
  ) {}

  async listMine(user: AuthUser): Promise<HostDto[]> {
    const rows = await this.hosts.find({ where: { ownerId: user.id }, order: { createdAt: 'ASC', name: 'ASC' } });
    const counts = await this.machineCounts(rows.map((row) => row.id));
    const status = await this.agentStatus(rows);
    return rows.map((row) => this.toDto(row, user.handle, counts.get(row.id) ?? 0, status.get(row.id)));
  }

  async getMine(user: AuthUser, id: string): Promise<HostDto> {
    const row = await this.ownHost(user, id);
    return this.toDto(row, user.handle, await this.machineCount(row.id), (await this.agentStatus([row])).get(row.id));
  }

  /**
   * Adds a host. With agentId (a joined agent of this provider that serves no host yet) the agent
   * address comes from the agent and the totals may not exceed what it measured; without, the host
   * is added by hand and stays offline until an agent joins for it.
   */
  async create(user: AuthUser, dto: CreateHostDto): Promise<HostDto> {
    const now = nowIso(this.wallClock);
    const row: Host = {
      id: randomUUID(),
      ownerId: user.id,
      ...Object.fromEntries(CREATE_FIELDS.map((field) => [field, dto[field]])),
      ...this.canonicalPrices(dto),
      agentId: null,
      reservedSpeed: 0,
      reservedMemory: 0,
      reservedStorage: 0,
      createdAt: now,
      updatedAt: now,
    } as Host;
    await this.db.transaction(async (em) => {
      assertUnderQuota('hosts', await em.countBy(Host, { ownerId: user.id }), this.config.quotas.hosts);
      if (dto.agentId !== undefined) {
        const agent = await em.findOneBy(Agent, { id: dto.agentId, providerId: user.id });
        if (!agent) throw badRequest('agentId', 'agentId must be the id of one of your joined agents');
        const serving = await em.findOneBy(Host, { agentId: agent.id });
        if (serving) throw badRequest('agentId', `that agent already serves your host ${serving.name}`);
        this.checkCaps(dto, parseFacts(agent.facts));
        Object.assign(row, { agentId: agent.id, agentHost: agent.agentHost, agentPort: agent.agentPort });
      }
      if (await em.existsBy(Host, { ownerId: user.id, name: dto.name })) {
        const message = `you already have a host named ${dto.name}`;
        throw new ApiError(409, message, { fields: { name: [message] } });
      }
      await em.insert(Host, row);
      await this.eventLog.record(em, {
        kind: 'host.created',
        message: `host ${row.name} added by ${user.handle}${row.agentId ? ` for agent ${row.agentId}` : ''}`,
        hostId: row.id,
        userId: user.id,
        providerId: user.id,
        data: Object.fromEntries(PRICE_FIELDS.map((field) => [field, row[field]])),
      });
    });
    return this.toDto(row, user.handle, 0, (await this.agentStatus([row])).get(row.id));
  }

  /** 400 naming every total above what the agent measured. */
  private checkCaps(dto: CreateHostDto, facts: HostFacts | null): void {
    if (!facts) return;
    const fields: Record<string, string[]> = {};
    for (const [field, fact, what] of CAPS) {
      if (dto[field] > facts[fact]) fields[field] = [`${field} ${dto[field]} exceeds the ${facts[fact]} ${what} the agent measured`];
    }
    const first = Object.values(fields)[0]?.[0];
    if (first) throw new ApiError(400, first, { fields });
  }

  /** Online, last heartbeat and facts of each host's agent (hosts without one: offline). */
  async agentStatus(rows: Pick<Host, 'id' | 'agentId'>[]): Promise<Map<string, AgentStatus>> {
    const ids = [...new Set(rows.map((row) => row.agentId).filter((id): id is string => !!id))];
    const agents = ids.length ? await this.agents.findBy({ id: In(ids) }) : [];
    const now = this.wallClock.now();
    const byId = new Map(
      agents.map((agent) => [
        agent.id,
        { online: isOnline(agent.lastHeartbeatAt, this.config.agentOfflineMs, now), lastHeartbeatAt: agent.lastHeartbeatAt, facts: parseFacts(agent.facts) },
      ]),
    );
    return new Map(rows.map((row) => [row.id, (row.agentId && byId.get(row.agentId)) || NO_AGENT]));
  }

  /** Units, unit prices and periods only; machines already stored keep the prices fixed when they were stored. */
  async update(user: AuthUser, id: string, dto: UpdateHostDto): Promise<HostDto> {
    const row = await this.ownHost(user, id);
    const asked = withoutUndefined(dto);
    const changes: Partial<Host> = { ...asked, ...this.canonicalPrices(dto), updatedAt: nowIso(this.wallClock) };
    await this.db.transaction(async (em) => {
      await em.update(Host, { id: row.id, ownerId: user.id }, changes);
      // What changed, from what to what (prices as their canonical decimals).
      const changed = Object.keys(asked).filter((field) => String(changes[field as keyof Host]) !== String(row[field as keyof Host]));
      await this.eventLog.record(em, {
        kind: 'host.changed',
        message: `host ${row.name} changed by ${user.handle}: ${
          changed.map((field) => `${field} ${String(row[field as keyof Host])} → ${String(changes[field as keyof Host])}`).join(', ') || 'nothing'
        }`.slice(0, 1000),
        hostId: row.id,
        userId: user.id,
        providerId: user.id,
        data: Object.fromEntries(changed.map((field) => [field, { from: row[field as keyof Host], to: changes[field as keyof Host] }])),
      });
    });
    return this.getMine(user, id);
  }

  /**
   * Revokes the host's agent: its row goes, so its secret stops working at once (heartbeats and
   * downloads are refused, commands cannot be signed with it); the host is offline until a new
   * agent joins with a join token made for it ({hostId}). That is how a provider rotates the secret.
   */
  async revokeAgent(user: AuthUser, id: string): Promise<void> {
    const row = await this.ownHost(user, id);
    await this.db.transaction(async (em) => {
      const unbound = await em.update(Host, { id: row.id, agentId: row.agentId ?? '' }, { agentId: null, updatedAt: nowIso(this.wallClock) });
      if (!row.agentId || unbound.affected !== 1) throw conflict(`host ${row.name} has no agent to revoke`);
      await em.delete(Agent, { id: row.agentId, providerId: user.id });
    });
  }

  /**
   * Refuses (503) to place a machine on a host whose agent is offline: the store would only fail
   * at the agent, after reserving. Says so without the agent's address.
   */
  async assertOnline(host: Pick<Host, 'id' | 'name' | 'agentId'>): Promise<void> {
    const status = (await this.agentStatus([host])).get(host.id)!;
    if (status.online) return;
    const why = host.agentId
      ? status.lastHeartbeatAt
        ? `its agent was last heard from at ${status.lastHeartbeatAt}`
        : 'its agent has never sent a heartbeat'
      : 'it has no agent';
    throw new ApiError(503, `host ${host.name} is offline (${why}); choose another host`);
  }

  async findById(id: string): Promise<Host | null> {
    return this.hosts.findOneBy({ id });
  }

  findByIds(ids: string[]): Promise<Host[]> {
    return this.hosts.findBy({ id: In(ids) });
  }

  /**
   * Reserves a machine's size on the host inside the caller's transaction. The write is a
   * compare-and-set on the reservation read, so two concurrent stores cannot oversell a host.
   * Refuses with 409 naming the first resource that is short.
   */
  async reserve(em: EntityManager, hostId: string, size: MachineSize): Promise<Host> {
    const host = await this.lockedHost(em, hostId);
    if (!host) throw notFound('host');
    const free = freeOf(host);
    if (!fits(free, size)) throw conflict(this.shortage(host, free, size));
    const reserved = reserve(reservedOf(host), size, totalOf(host));
    await this.setReserved(em, host, reserved);
    return host;
  }

  async release(em: EntityManager, hostId: string, size: MachineSize): Promise<void> {
    const host = await this.lockedHost(em, hostId);
    if (!host) return;
    await this.setReserved(em, host, release(reservedOf(host), size));
  }

  /**
   * The host row to change reservations of. PostgreSQL runs transactions side by side (SQLite one
   * at a time, Database): the row is locked, so that a concurrent store on the same host waits for
   * this one and reads its reservation instead of failing the compare-and-set.
   */
  private lockedHost(em: EntityManager, hostId: string): Promise<Host | null> {
    if (em.connection.options.type !== 'postgres') return em.findOneBy(Host, { id: hostId });
    return em.findOne(Host, { where: { id: hostId }, lock: { mode: 'pessimistic_write' } });
  }

  private async setReserved(em: EntityManager, host: Host, reserved: HostCapacity): Promise<void> {
    const result = await em.update(
      Host,
      { id: host.id, reservedSpeed: host.reservedSpeed, reservedMemory: host.reservedMemory, reservedStorage: host.reservedStorage },
      { reservedSpeed: reserved.speed, reservedMemory: reserved.memory, reservedStorage: reserved.storage, updatedAt: nowIso(this.wallClock) },
    );
    if (result.affected !== 1) throw conflict(`host ${host.name} changed while reserving; try again`);
  }

  private shortage(host: Host, free: HostCapacity, size: MachineSize): string {
    const short: Array<[string, number, number, string]> = [
      ['speed', free.speed, size.speed, 'bogomips'],
      ['memory', free.memory, size.memory, 'MB'],
      ['storage', free.storage, size.disk, 'MB'],
    ];
    const [resource, has, needs, unit] = short.find(([, has, needs]) => has < needs) ?? short[0];
    return `host ${host.name} no longer has enough ${resource}: ${has} ${unit} free, the machine needs ${needs} ${unit}`;
  }

  /** One of the provider's hosts, or 404. */
  async ownHost(user: AuthUser, id: string): Promise<Host> {
    const row = await this.hosts.findOneBy({ id, ownerId: user.id });
    if (!row) throw notFound('host');
    return row;
  }

  /** How many machines the host stores (deleted ones aside). */
  async machineCount(hostId: string): Promise<number> {
    return this.machines.countBy({ hostId, state: Not<MachineState>('deleted') });
  }

  private async machineCounts(hostIds: string[]): Promise<Map<string, number>> {
    if (hostIds.length === 0) return new Map();
    const rows = await this.machines
      .createQueryBuilder('machine')
      .select('machine.hostId', 'hostId')
      .addSelect('COUNT(*)', 'count')
      .where({ hostId: In(hostIds), state: Not<MachineState>('deleted') })
      .groupBy('machine.hostId')
      .getRawMany<{ hostId: string; count: string | number }>();
    return new Map(rows.map((row) => [row.hostId, Number(row.count)]));
  }

  private canonicalPrices(dto: Partial<Pick<CreateHostDto, (typeof PRICE_FIELDS)[number]>>): Partial<Host> {
    const prices: Partial<Host> = {};
    for (const field of PRICE_FIELDS) {
      const value = dto[field];
      if (value !== undefined) prices[field] = exactAmount(field, value);
    }
    return prices;
  }

  toDto(row: Host, owner: string, machineCount: number, agent: AgentStatus = NO_AGENT): HostDto {
    return {
      id: row.id,
      owner,
      ...(Object.fromEntries(CREATE_FIELDS.map((field) => [field, row[field]])) as Pick<Host, (typeof CREATE_FIELDS)[number]>),
      agentId: row.agentId,
      online: agent.online,
      lastHeartbeatAt: agent.lastHeartbeatAt,
      facts: agent.facts,
      network: agent.facts?.network ?? null,
      free: freeOf(row),
      machineCount,
      createdAt: row.createdAt,
    };
  }
}
