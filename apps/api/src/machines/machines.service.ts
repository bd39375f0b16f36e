import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { MachineDto, RegisterMachineDto, UpdateMachineDto } from '@virtuoso/contracts';
import {
  type MachineAction,
  type MachineSize,
  type MachineState,
  allowedActions,
  askedRatesAccept,
  beginAction,
  completeAction,
  quote,
} from '@virtuoso/domain';
import { randomBytes, randomUUID } from 'node:crypto';
import { EntityManager, Not, Repository } from 'typeorm';
import { AccountsService } from '../accounts/accounts.service';
import { CatalogService } from '../catalog/catalog.service';
import { AuthUser } from '../common/auth.decorators';
import { Database } from '../common/database.service';
import { ApiError, badRequest, conflict, explainUnknownProperties, notFound, withoutUndefined } from '../common/errors';
import { exactAmount } from '../common/money';
import { nowIso } from '../common/time';
import { APP_CONFIG, AppConfig } from '../config';
import { MarketService, OfferPage } from '../market/market.service';
import { HostsService, pricesOf } from '../providers/hosts.service';
import { AgentHost, HOST_AGENT_GATEWAY, HostAgentGateway, VmSpec } from './host-agent.gateway';
import { Machine } from './machine.entity';

explainUnknownProperties(UpdateMachineDto, (property) =>
  property === 'configurationId' ? 'configurationId cannot be changed after the machine is registered' : undefined,
);

/** Lifecycle actions that go to the provider agent, and the gateway call for each. */
export type VmAction = 'start' | 'stop' | 'suspend' | 'resume';
type GatewayCall = (gateway: HostAgentGateway) => HostAgentGateway[keyof HostAgentGateway];

const CALLS: Record<'store' | 'delete' | VmAction, GatewayCall> = {
  store: (gateway) => gateway.createVm.bind(gateway),
  start: (gateway) => gateway.startVm.bind(gateway),
  stop: (gateway) => gateway.stopVm.bind(gateway),
  suspend: (gateway) => gateway.suspendVm.bind(gateway),
  resume: (gateway) => gateway.resumeVm.bind(gateway),
  delete: (gateway) => gateway.deleteVm.bind(gateway),
};

/** Extra work done in the same transaction as a state change; returns columns to set with it. */
interface Hooks {
  begin?(em: EntityManager, machine: Machine): Promise<Partial<Machine>>;
  succeeded?(em: EntityManager, machine: Machine): Promise<Partial<Machine>>;
  failed?(em: EntityManager, machine: Machine): Promise<Partial<Machine>>;
}

const sizeOf = (machine: Pick<Machine, 'speed' | 'memory' | 'disk'>): MachineSize => ({ speed: machine.speed, memory: machine.memory, disk: machine.disk });

/**
 * A buyer's machines. Each lifecycle action: check the owner, the If-Match version and the
 * transition table of libs/domain; move to the transient state with a compare-and-set on
 * (id, state, version), so of two concurrent commands only one applies; ask the host agent;
 * settle at the target (or, on failure, back where it was, version unchanged, with lastError).
 */
@Injectable()
export class MachinesService {
  constructor(
    private readonly db: Database,
    private readonly accounts: AccountsService,
    private readonly catalog: CatalogService,
    private readonly hosts: HostsService,
    private readonly market: MarketService,
    @InjectRepository(Machine) private readonly machines: Repository<Machine>,
    @Inject(HOST_AGENT_GATEWAY) private readonly gateway: HostAgentGateway,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async list(user: AuthUser): Promise<MachineDto[]> {
    const rows = await this.machines.find({ where: { ownerId: user.id, state: Not<MachineState>('deleted') }, order: { createdAt: 'ASC', id: 'ASC' } });
    return this.toDtos(rows);
  }

  async get(user: AuthUser, id: string): Promise<MachineDto> {
    return this.toDto(await this.own(user, id));
  }

  /** Registers a configuration (report §5.1.2) and charges the registration fee, in one transaction. */
  async register(user: AuthUser, dto: RegisterMachineDto): Promise<MachineDto> {
    const entry = dto.configurationId ? await this.catalog.findById(dto.configurationId) : null;
    if (dto.configurationId && !entry) throw badRequest('configurationId', 'configurationId must be a catalog entry id');
    // A preconfigured machine is its image: size, OS and processor follow the catalog entry.
    const fromImage = entry?.preconfigured
      ? { processor: entry.processor, speed: entry.speed, os: entry.os, memory: entry.memory, disk: entry.disk, preconfigured: true, image: entry.image }
      : { processor: dto.processor, speed: dto.speed, os: dto.os, memory: dto.memory, disk: dto.disk, preconfigured: false, image: null };
    const fee = this.config.registrationFee;
    const now = nowIso();
    const machine: Machine = {
      id: randomUUID(),
      ownerId: user.id,
      name: dto.name,
      ...fromImage,
      configurationId: entry?.id ?? null,
      state: 'registered',
      previousState: null,
      version: 0,
      revision: 0,
      askedStoragePerMonth: exactAmount('askedStoragePerMonth', dto.askedStoragePerMonth),
      askedRunningPerHour: exactAmount('askedRunningPerHour', dto.askedRunningPerHour),
      hostId: null,
      storagePrice: null,
      storageAmount: null,
      runningPrice: null,
      runningUnitAmount: null,
      macAddress: '',
      registrationFee: fee,
      lastError: null,
      storedAt: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.db.transaction(async (em) => {
      machine.macAddress = await this.newMacAddress(em);
      await em.insert(Machine, machine);
      await this.accounts.debit(em, user.id, fee, { key: `fee:${machine.id}`, kind: 'fee', machineId: machine.id, what: 'registration fee' });
    });
    return this.toDto(machine);
  }

  /** Edits a registered configuration (report fig. 13); any other state answers 409. */
  async update(user: AuthUser, id: string, dto: UpdateMachineDto, ifMatch?: number): Promise<MachineDto> {
    const machine = await this.own(user, id);
    this.checkVersion(machine, ifMatch);
    this.begin(machine, 'edit');
    const changes: Partial<Machine> = withoutUndefined(dto);
    if (dto.askedStoragePerMonth !== undefined) changes.askedStoragePerMonth = exactAmount('askedStoragePerMonth', dto.askedStoragePerMonth);
    if (dto.askedRunningPerHour !== undefined) changes.askedRunningPerHour = exactAmount('askedRunningPerHour', dto.askedRunningPerHour);
    if (machine.preconfigured) await this.checkImageEdit(machine, changes);
    await this.db.transaction(async (em) => {
      if (!(await this.compareAndSet(em, machine, changes))) throw await this.lostRace(em, machine.id, 'edit', ifMatch);
    });
    return this.get(user, id);
  }

  /** Search providers for a registered machine at its asked prices (report fig. 11). */
  async offers(user: AuthUser, id: string, limit: number): Promise<OfferPage> {
    const machine = await this.own(user, id);
    this.begin(machine, 'searchProviders');
    return this.market.offers(sizeOf(machine), { storagePerMonth: machine.askedStoragePerMonth, runningPerHour: machine.askedRunningPerHour }, limit);
  }

  /**
   * Stores the machine on a host: in one transaction re-check that the host still fits and still
   * asks no more than the buyer's prices, reserve the resources, fix the prices and enter `storing`.
   */
  async store(user: AuthUser, id: string, hostId: string, ifMatch?: number): Promise<MachineDto> {
    return this.perform(user, id, 'store', ifMatch, {
      begin: async (em, machine) => {
        const size = sizeOf(machine);
        const host = await this.hosts.reserve(em, hostId, size);
        const prices = pricesOf(host);
        const asked = { storagePerMonth: machine.askedStoragePerMonth, runningPerHour: machine.askedRunningPerHour };
        if (!askedRatesAccept(asked, prices, size)) {
          const offer = quote(prices, size);
          throw conflict(
            `host ${host.name} asks ${offer.storagePerMonth} per month for storage and ${offer.runningPerHour} per hour for running, ` +
              `above the asked ${asked.storagePerMonth} and ${asked.runningPerHour}`,
          );
        }
        const fixed = quote(prices, size);
        return {
          hostId: host.id,
          storagePrice: fixed.storagePrice,
          storageAmount: fixed.storageAmount,
          runningPrice: fixed.runningPrice,
          runningUnitAmount: fixed.runningUnitAmount,
        };
      },
      succeeded: async () => ({ storedAt: nowIso() }),
      failed: async (em, machine) => {
        if (machine.hostId) await this.hosts.release(em, machine.hostId, sizeOf(machine));
        return { hostId: null, storagePrice: null, storageAmount: null, runningPrice: null, runningUnitAmount: null };
      },
    });
  }

  act(user: AuthUser, id: string, action: VmAction, ifMatch?: number): Promise<MachineDto> {
    return this.perform(user, id, action, ifMatch, {});
  }

  /** Deletes the machine: at once while registered, else through the host agent, then frees its resources. */
  async remove(user: AuthUser, id: string, ifMatch?: number): Promise<void> {
    await this.perform(user, id, 'delete', ifMatch, {
      succeeded: async (em, machine) => {
        if (machine.hostId) await this.hosts.release(em, machine.hostId, sizeOf(machine));
        return {};
      },
    });
  }

  private async perform(user: AuthUser, id: string, action: 'store' | 'delete' | VmAction, ifMatch: number | undefined, hooks: Hooks): Promise<MachineDto> {
    const machine = await this.own(user, id);
    this.checkVersion(machine, ifMatch);
    const begun = this.begin(machine, action);

    const instant = begun.transient === begun.target;
    const underway = await this.db.transaction(async (em) => {
      const extra = hooks.begin ? await hooks.begin(em, machine) : {};
      const changes: Partial<Machine> = instant
        ? { ...extra, state: begun.target, previousState: null, lastError: null }
        : { ...extra, state: begun.transient, previousState: machine.state, lastError: null };
      const written = await this.compareAndSet(em, machine, changes);
      if (!written) throw await this.lostRace(em, machine.id, action, ifMatch);
      return written;
    });
    if (instant) return this.toDto(underway);

    const status = { state: underway.state, version: underway.version, previousState: machine.state };
    const success = completeAction(status, 'succeeded');
    let hostName = 'of the machine';
    try {
      const host = await this.agentHost(underway.hostId);
      hostName = host.name;
      await CALLS[action](this.gateway)(underway.id, host, this.vmSpec(underway, success.version));
    } catch (error) {
      // Whatever went wrong, the machine does not stay in its transient state.
      const failure = completeAction(status, 'failed');
      const lastError = `host ${hostName} could not ${action} ${machine.name}: ${error instanceof Error ? error.message : String(error)}`.slice(0, 500);
      await this.settle(underway, { state: failure.state, version: failure.version, lastError }, hooks.failed);
      throw new ApiError(502, lastError);
    }
    return this.toDto(await this.settle(underway, { state: success.state, version: success.version, lastError: null }, hooks.succeeded));
  }

  private async settle(underway: Machine, outcome: Pick<Machine, 'state' | 'version' | 'lastError'>, hook?: Hooks['succeeded']): Promise<Machine> {
    return this.db.transaction(async (em) => {
      const extra = hook ? await hook(em, underway) : {};
      const written = await this.compareAndSet(em, underway, { ...extra, ...outcome, previousState: null });
      if (!written) throw conflict(`machine ${underway.name} changed while ${underway.state}; reload it`);
      return written;
    });
  }

  /** The transition table decides; anything else is a 409 listing what the state allows. */
  private begin(machine: Machine, action: MachineAction) {
    const begun = beginAction({ state: machine.state, version: machine.version }, action);
    if (!begun.ok) {
      throw new ApiError(409, `Cannot ${action} a machine that is ${machine.state}`, { allowedActions: begun.allowed });
    }
    return begun;
  }

  private checkVersion(machine: Machine, ifMatch: number | undefined): void {
    if (ifMatch !== undefined && ifMatch !== machine.version) {
      throw new ApiError(412, `machine ${machine.name} is at version ${machine.version}, not ${ifMatch}; reload it and try again`);
    }
  }

  /**
   * Compare-and-set on (id, state, version, revision): the machine as written, or null when
   * another command got there first.
   */
  private async compareAndSet(em: EntityManager, machine: Machine, changes: Partial<Machine>): Promise<Machine | null> {
    const written = { ...changes, revision: machine.revision + 1, updatedAt: nowIso() };
    const result = await em.update(Machine, { id: machine.id, state: machine.state, version: machine.version, revision: machine.revision }, written);
    return result.affected === 1 ? { ...machine, ...written } : null;
  }

  /** Explains a compare-and-set that found the machine moved on, from what it is now. */
  private async lostRace(em: EntityManager, id: string, action: MachineAction, ifMatch: number | undefined): Promise<ApiError> {
    const now = await em.findOneByOrFail(Machine, { id });
    if (ifMatch !== undefined && ifMatch !== now.version) {
      return new ApiError(412, `machine ${now.name} is at version ${now.version}, not ${ifMatch}; reload it and try again`);
    }
    const begun = beginAction({ state: now.state, version: now.version }, action);
    if (!begun.ok) return new ApiError(409, `Cannot ${action} a machine that is ${now.state}`, { allowedActions: begun.allowed });
    return new ApiError(409, `machine ${now.name} changed meanwhile; reload it and try again`, { allowedActions: allowedActions(now.state) });
  }

  private async checkImageEdit(machine: Machine, changes: Partial<Machine>): Promise<void> {
    if (changes.os !== undefined && changes.os !== machine.os) {
      throw badRequest('os', 'os cannot be changed on a preconfigured machine: it is the installed system');
    }
    const entry = machine.configurationId ? await this.catalog.findById(machine.configurationId) : null;
    if (entry && changes.disk !== undefined && changes.disk < entry.disk) {
      throw badRequest('disk', `disk must be at least ${entry.disk} MB to hold the ${entry.name} image`);
    }
  }

  private async own(user: AuthUser, id: string): Promise<Machine> {
    const machine = await this.machines.findOneBy({ id, ownerId: user.id });
    if (!machine || machine.state === 'deleted') throw notFound('machine');
    return machine;
  }

  private async agentHost(hostId: string | null): Promise<AgentHost> {
    const host = hostId ? await this.hosts.findById(hostId) : null;
    if (!host) throw new Error('its host is gone');
    return { id: host.id, name: host.name, agentHost: host.agentHost, agentPort: host.agentPort };
  }

  private vmSpec(machine: Machine, version: number): VmSpec {
    return { name: machine.name, ...sizeOf(machine), os: machine.os, image: machine.image, macAddress: machine.macAddress, version };
  }

  /** A locally administered address in QEMU's 52:54:00 range, unique among machines. */
  private async newMacAddress(em: EntityManager): Promise<string> {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const mac = ['52', '54', '00', ...randomBytes(3).toString('hex').match(/../g)!].join(':');
      if (!(await em.existsBy(Machine, { macAddress: mac }))) return mac;
    }
    throw new ApiError(503, 'could not issue a unique MAC address; try again');
  }

  private async toDto(machine: Machine): Promise<MachineDto> {
    return (await this.toDtos([machine]))[0];
  }

  private async toDtos(machines: Machine[]): Promise<MachineDto[]> {
    const hostIds = [...new Set(machines.map((machine) => machine.hostId).filter((id): id is string => id !== null))];
    const hosts = hostIds.length ? await this.hosts.findByIds(hostIds) : [];
    const owners = await this.accounts.handlesOf(hosts.map((host) => host.ownerId));
    const refs = new Map(hosts.map((host) => [host.id, { id: host.id, name: host.name, owner: owners.get(host.ownerId) ?? '?' }]));
    return machines.map((machine) => ({
      id: machine.id,
      name: machine.name,
      processor: machine.processor,
      speed: machine.speed,
      os: machine.os,
      memory: machine.memory,
      disk: machine.disk,
      preconfigured: machine.preconfigured,
      image: machine.image,
      state: machine.state,
      version: machine.version,
      allowedActions: allowedActions(machine.state),
      askedStoragePerMonth: machine.askedStoragePerMonth,
      askedRunningPerHour: machine.askedRunningPerHour,
      host: (machine.hostId && refs.get(machine.hostId)) || null,
      storagePrice: machine.storagePrice,
      storageAmount: machine.storageAmount,
      runningPrice: machine.runningPrice,
      runningUnitAmount: machine.runningUnitAmount,
      macAddress: machine.macAddress,
      registrationFee: machine.registrationFee,
      lastError: machine.lastError,
      createdAt: machine.createdAt,
    }));
  }
}

