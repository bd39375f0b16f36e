import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock, WALL_CLOCK } from '../common/clock';
import { ModuleRef } from '@nestjs/core';
import { InjectRepository } from '@nestjs/typeorm';
import { CreateHostDto, HostDto, type HostFacts, MarketHostDto, ResourceAmountsDto, UpdateHostDto } from '@virtuoso/contracts';
import { type HostCapacity, type HostPrices, type MachineSize, type MachineState, type MarketHost, fits, freeResources, release, reserve } from '@virtuoso/domain';
import { randomUUID } from 'node:crypto';
import { EntityManager, In, Not, Repository } from 'typeorm';
import { AccountsService } from '../accounts/accounts.service';
import { User } from '../accounts/user.entity';
import { Agent } from '../agents/agent.entity';
import { isOnline, parseFacts } from '../agents/online';
import { AuthUser } from '../common/auth.decorators';
import { Database } from '../common/database.service';
import { ApiError, badRequest, conflict, explainUnknownProperties, notFound, withoutUndefined } from '../common/errors';
import { assertUnderQuota } from '../common/quotas';
import { exactAmount } from '../common/money';
import { nowIso } from '../common/time';
import { APP_CONFIG, AppConfig } from '../config';
import { HOST_AGENT_GATEWAY, HostAgentGateway } from '../machines/host-agent.gateway';
import { Machine } from '../machines/machine.entity';
import { HOST_EVICTOR, HostEvictor } from './host-evictor';
import { Host } from './host.entity';

const CREATE_FIELDS = [
  'name', 'processor', 'speed', 'speedUnit', 'speedUnitPrice', 'memory', 'memoryUnit', 'memoryUnitPrice', 'runningUnitAmount',
  'storage', 'storageUnit', 'storageUnitPrice', 'storageAmount', 'connectionSpeed', 'agentHost', 'agentPort',
] as const;
/** Fields locked once the host exists (PATCH names them). */
const LOCKED_FIELDS: readonly string[] = [...CREATE_FIELDS, 'agentId'];
const PRICE_FIELDS = ['speedUnitPrice', 'memoryUnitPrice', 'storageUnitPrice'] as const;

// Report §5.2.3: only units, unit prices and periods may change once a host is added.
explainUnknownProperties(UpdateHostDto, (property) =>
  LOCKED_FIELDS.includes(property) ? `${property} cannot be changed after the host is added` : undefined,
);

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

/** An offer's host details besides its prices. */
export interface OfferDetails {
  processor: string;
  connectionSpeed: string;
  owner: string;
}

// The market search's fields of a host, in packing order: first its price sheet, then its
// capacities, its id and its name. Numbers and canonical prices hold no space and ids are UUIDs;
// the name, which may, comes last and takes the rest.
const SHEET_FIELDS = [
  'speedUnit', 'memoryUnit', 'runningUnitAmount', 'storageUnit', 'storageAmount', 'speedUnitPrice', 'memoryUnitPrice', 'storageUnitPrice',
] as const satisfies ReadonlyArray<keyof Host>;
const PACKED_FIELDS = [
  ...SHEET_FIELDS, 'speed', 'reservedSpeed', 'memory', 'reservedMemory', 'storage', 'reservedStorage', 'id', 'name',
] as const satisfies ReadonlyArray<keyof Host>;

/**
 * Unpacks market hosts. Hosts with the same price sheet get the same HostPrices object, which
 * libs/domain's searches then price once.
 */
class MarketHostReader {
  private readonly sheets = new Map<string, HostPrices>();

  read(packed: string): MarketHost {
    let at = 0;
    for (let field = 0; field < SHEET_FIELDS.length; field++) at = packed.indexOf(' ', at) + 1;
    const prices = this.sheet(packed.slice(0, at - 1));
    const next = (): string => {
      const end = packed.indexOf(' ', at);
      const value = packed.slice(at, end);
      at = end + 1;
      return value;
    };
    const speed = Number(next());
    const reservedSpeed = Number(next());
    const memory = Number(next());
    const reservedMemory = Number(next());
    const storage = Number(next());
    const reservedStorage = Number(next());
    const id = next();
    return {
      id,
      name: packed.slice(at),
      prices,
      total: { speed, memory, storage },
      reserved: { speed: reservedSpeed, memory: reservedMemory, storage: reservedStorage },
    };
  }

  private sheet(key: string): HostPrices {
    let prices = this.sheets.get(key);
    if (prices === undefined) {
      const [speedUnit, memoryUnit, runningUnitAmount, storageUnit, storageAmount, speedUnitPrice, memoryUnitPrice, storageUnitPrice] = key.split(' ');
      prices = {
        speedUnit: Number(speedUnit),
        speedUnitPrice,
        memoryUnit: Number(memoryUnit),
        memoryUnitPrice,
        runningUnitAmount: Number(runningUnitAmount),
        storageUnit: Number(storageUnit),
        storageUnitPrice,
        storageAmount: Number(storageAmount),
      };
      this.sheets.set(key, prices);
    }
    return prices;
  }
}

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

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
  private readonly logger = new Logger('Hosts');

  constructor(
    private readonly db: Database,
    private readonly accounts: AccountsService,
    @InjectRepository(Host) private readonly hosts: Repository<Host>,
    @InjectRepository(Machine) private readonly machines: Repository<Machine>,
    @InjectRepository(Agent) private readonly agents: Repository<Agent>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly moduleRef: ModuleRef,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
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
    const changes: Partial<Host> = { ...withoutUndefined(dto), ...this.canonicalPrices(dto), updatedAt: nowIso(this.wallClock) };
    await this.db.transaction((em) => em.update(Host, { id: row.id, ownerId: user.id }, changes));
    return this.getMine(user, id);
  }

  /**
   * Deletes the host. While machines are stored on it: 409, unless forced with its name typed
   * again (confirmName), which sends each of them back to `registered` and tells its owner.
   */
  async remove(user: AuthUser, id: string, options: { force?: boolean; confirmName?: string } = {}): Promise<void> {
    const row = await this.ownHost(user, id);
    if (options.force) {
      if (options.confirmName !== row.name) {
        const stored = await this.machineCount(row.id);
        const message = `host ${row.name} still stores ${plural(stored, 'machine')}; to remove it anyway, confirm with its name: confirmName "${row.name}"`;
        throw new ApiError(409, message, { fields: { confirmName: [message] } });
      }
      await this.moduleRef.get<HostEvictor>(HOST_EVICTOR, { strict: false }).evict(user, row);
      this.retireAgentOf(row);
      return;
    }
    await this.db.transaction(async (em) => {
      const stored = await em.countBy(Machine, { hostId: row.id, state: Not<MachineState>('deleted') });
      if (stored > 0) throw conflict(`host ${row.name} still stores ${plural(stored, 'machine')}; they must leave first`);
      // Only while nothing is reserved: a machine being stored concurrently makes this delete nothing.
      const result = await em.delete(Host, { id: row.id, reservedSpeed: 0, reservedMemory: 0, reservedStorage: 0 });
      if (result.affected !== 1) throw conflict(`host ${row.name} is receiving a machine; try again later`);
      await em.update(Machine, { hostId: row.id, state: 'deleted' }, { hostId: null });
    });
    this.retireAgentOf(row);
  }

  /**
   * A deleted host's agent is told to stop serving (agent.retire: it refuses every later command,
   * stops heartbeating and records it on its disk), then forgotten, so that its secret no longer
   * works here and it can serve again only by joining with a new join token. Best effort, after the
   * answer: an unreachable agent is only logged (its heartbeats are refused from now on).
   */
  private retireAgentOf(host: Host): void {
    const agentId = host.agentId;
    if (!agentId) return;
    const gateway = this.moduleRef.get<HostAgentGateway>(HOST_AGENT_GATEWAY, { strict: false });
    void gateway
      .retireAgent({ hostId: host.id, hostName: host.name, agentId }, { reason: `its host ${host.name} was deleted from the market` })
      .then(() => this.logger.log(`the agent of the deleted host ${host.name} (${agentId}) stopped serving`))
      .catch((error: unknown) => this.logger.warn(`could not tell the agent of the deleted host ${host.name} (${agentId}) to stop serving: ${error instanceof Error ? error.message : String(error)}`))
      .then(() => this.agents.delete({ id: agentId }))
      .catch((error: unknown) => this.logger.warn(`could not forget the agent ${agentId} of the deleted host ${host.name}: ${error instanceof Error ? error.message : String(error)}`));
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
   * Every host as the market rules see it; with a size, only rows whose free resources could hold
   * it are read (libs/domain still decides what fits). Read raw, not as entities, and packed: the
   * sqlite3 driver's cost is per value returned, so the fields come back as one text column per
   * row (10,000 rows: ~40 ms as 16 columns, ~12 ms packed). CAST and || mean the same on PostgreSQL.
   */
  async marketHosts(size?: MachineSize, em: EntityManager = this.db.manager, options: { onlineOnly?: boolean } = {}): Promise<MarketHost[]> {
    const query = em
      .getRepository(Host)
      .createQueryBuilder('host')
      .select(PACKED_FIELDS.map((field) => `CAST(host.${field} AS VARCHAR)`).join(" || ' ' || "), 'packed');
    if (size) {
      query
        .where('host.speed - host.reservedSpeed >= :speed', { speed: size.speed })
        .andWhere('host.memory - host.reservedMemory >= :memory', { memory: size.memory })
        .andWhere('host.storage - host.reservedStorage >= :disk', { disk: size.disk });
    }
    if (options.onlineOnly) {
      // Online as isOnline says: a heartbeat within agentOfflineMs (ISO text sorts in time order).
      const since = new Date(this.wallClock.now() - this.config.agentOfflineMs).toISOString();
      query.innerJoin(Agent, 'agent', 'agent.id = host.agentId').andWhere('agent.lastHeartbeatAt >= :since', { since });
    }
    // Name then id: the order the search keeps between hosts equal on price and name.
    const rows = await query.orderBy('host.name', 'ASC').addOrderBy('host.id', 'ASC').getRawMany<{ packed: string }>();
    const reader = new MarketHostReader();
    return rows.map(({ packed }) => reader.read(packed));
  }

  /** Ids of the hosts whose agent is online (a heartbeat within agentOfflineMs), as marketHosts' onlineOnly reads them. */
  async onlineHostIds(em: EntityManager = this.db.manager): Promise<Set<string>> {
    const since = new Date(this.wallClock.now() - this.config.agentOfflineMs).toISOString();
    const rows = await em
      .getRepository(Host)
      .createQueryBuilder('host')
      .innerJoin(Agent, 'agent', 'agent.id = host.agentId')
      .select('host.id', 'id')
      .where('agent.lastHeartbeatAt >= :since', { since })
      .getRawMany<{ id: string }>();
    return new Set(rows.map((row) => row.id));
  }

  /** What an offer shows besides its price, for the few hosts on a page of search results. */
  async offerDetails(ids: readonly string[]): Promise<Map<string, OfferDetails>> {
    const details = new Map<string, OfferDetails>();
    // In chunks: databases cap the number of bound parameters in one statement.
    for (let start = 0; start < ids.length; start += 500) {
      const rows = await this.hosts
        .createQueryBuilder('host')
        .leftJoin(User, 'owner', 'owner.id = host.ownerId')
        .select('host.id', 'id')
        .addSelect('host.processor', 'processor')
        .addSelect('host.connectionSpeed', 'connectionSpeed')
        .addSelect('owner.handle', 'owner')
        .where({ id: In(ids.slice(start, start + 500)) })
        .getRawMany<{ id: string; processor: string; connectionSpeed: string; owner: string | null }>();
      for (const row of rows) details.set(row.id, { processor: row.processor, connectionSpeed: row.connectionSpeed, owner: row.owner ?? '?' });
    }
    return details;
  }

  async marketplace(): Promise<MarketHostDto[]> {
    const rows = await this.hosts.find({ order: { name: 'ASC', id: 'ASC' } });
    const owners = await this.accounts.handlesOf(rows.map((row) => row.ownerId));
    const status = await this.agentStatus(rows);
    return rows.map((row) => ({
      id: row.id,
      owner: owners.get(row.ownerId) ?? '?',
      name: row.name,
      processor: row.processor,
      free: freeOf(row),
      total: totalOf(row),
      speedUnit: row.speedUnit,
      speedUnitPrice: row.speedUnitPrice,
      memoryUnit: row.memoryUnit,
      memoryUnitPrice: row.memoryUnitPrice,
      runningUnitAmount: row.runningUnitAmount,
      storageUnit: row.storageUnit,
      storageUnitPrice: row.storageUnitPrice,
      storageAmount: row.storageAmount,
      connectionSpeed: row.connectionSpeed,
      online: status.get(row.id)!.online,
      lastHeartbeatAt: status.get(row.id)!.lastHeartbeatAt,
    }));
  }

  /**
   * Refuses (503) to place a machine on a host whose agent is offline: the store would only fail
   * at the agent, after reserving. Says so without the agent's address.
   */
  async assertOnline(host: Pick<Host, 'id' | 'name' | 'agentId'>): Promise<void> {
    const status = (await this.agentStatus([host])).get(host.id)!;
    if (status.online) return;
    const why = host.agentId ? (status.lastHeartbeatAt ? `its agent was last heard from at ${status.lastHeartbeatAt}` : 'its agent has never sent a heartbeat') : 'it has no agent';
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
    const host = await em.findOneBy(Host, { id: hostId });
    if (!host) throw notFound('host');
    const free = freeOf(host);
    if (!fits(free, size)) throw conflict(this.shortage(host, free, size));
    const reserved = reserve(reservedOf(host), size, totalOf(host));
    await this.setReserved(em, host, reserved);
    return host;
  }

  async release(em: EntityManager, hostId: string, size: MachineSize): Promise<void> {
    const host = await em.findOneBy(Host, { id: hostId });
    if (!host) return;
    await this.setReserved(em, host, release(reservedOf(host), size));
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

  private async ownHost(user: AuthUser, id: string): Promise<Host> {
    const row = await this.hosts.findOneBy({ id, ownerId: user.id });
    if (!row) throw notFound('host');
    return row;
  }

  private async machineCount(hostId: string): Promise<number> {
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
      free: freeOf(row),
      machineCount,
      createdAt: row.createdAt,
    };
  }
}
