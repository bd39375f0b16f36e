import { EventEmitter2 } from '@nestjs/event-emitter';
import { EventLog } from '../events/event-log.service';
import { Inject, Injectable } from '@nestjs/common';
import { Clock, WALL_CLOCK } from '../common/clock';
import { InjectRepository } from '@nestjs/typeorm';
import { MachineDto, NoOfferExplanationDto, RegisterMachineDto, StartMachineDto, StopMachineDto, UpdateMachineDto } from '@virtuoso/contracts';
import { type MachineSize, type MachineState, askedRatesAccept, quote } from '@virtuoso/domain';
import { randomBytes, randomUUID } from 'node:crypto';
import { EntityManager, Not, Repository } from 'typeorm';
import { BillingService } from '../billing/billing.service';
import { CatalogService } from '../catalog/catalog.service';
import { Actor } from '../common/actor';
import { AuthUser } from '../common/auth.decorators';
import { Database } from '../common/database.service';
import { ApiError, badRequest, conflict, explainUnknownProperties, isUniqueViolation, notFound, withoutUndefined } from '../common/errors';
import { IfMatchValue } from '../common/if-match';
import { assertUnderQuota } from '../common/quotas';
import { exactAmount } from '../common/money';
import { nowIso } from '../common/time';
import { APP_CONFIG, AppConfig } from '../config';
import { MarketService, OfferPage } from '../market/market.service';
import { Host } from '../providers/host.entity';
import { NetworkChanged } from '../network/network.events';
import { NetworkService } from '../network/network.service';
import { HostsService, pricesOf } from '../providers/hosts.service';
import { ActionOptions, VmAction } from './agent-commands';
import { AgentTarget } from './host-agent.gateway';
import { MachineAgent } from './machine-agent.service';
import { MachineDtoMapper } from './machine-dto.mapper';
import { Hooks, MachineLifecycle } from './machine-lifecycle.service';
import { Machine } from './machine.entity';
import { MachineStore } from './machine-store.service';
import { MachineDeleted } from './machine.events';

explainUnknownProperties(UpdateMachineDto, (property) =>
  property === 'configurationId' ? 'configurationId cannot be changed after the machine is registered' : undefined,
);

const sizeOf = (machine: Pick<Machine, 'speed' | 'memory' | 'disk'>): MachineSize => ({ speed: machine.speed, memory: machine.memory, disk: machine.disk });

/**
 * A buyer's machines: registering and editing configurations, searching offers, and the lifecycle
 * actions with their billing and host hooks, carried out by MachineLifecycle (begin, call the
 * agent, settle). The CD-ROM drive is MachineMedia's; the DTOs are MachineDtoMapper's.
 */
@Injectable()
export class MachinesService {
  constructor(
    private readonly db: Database,
    private readonly catalog: CatalogService,
    private readonly hosts: HostsService,
    private readonly market: MarketService,
    private readonly billing: BillingService,
    private readonly machineStore: MachineStore,
    private readonly lifecycle: MachineLifecycle,
    private readonly agent: MachineAgent,
    private readonly mapper: MachineDtoMapper,
    private readonly network: NetworkService,
    @InjectRepository(Machine) private readonly machines: Repository<Machine>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
    private readonly events: EventEmitter2,
    private readonly eventLog: EventLog,
  ) {}

  async list(user: AuthUser): Promise<MachineDto[]> {
    const rows = await this.machines.find({ where: { ownerId: user.id, state: Not<MachineState>('deleted') }, order: { createdAt: 'ASC', id: 'ASC' } });
    return this.mapper.toDtos(rows);
  }

  async get(user: AuthUser, id: string): Promise<MachineDto> {
    return this.mapper.toDto(await this.lifecycle.find(user, id));
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
    const now = nowIso(this.wallClock);
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
      mediaId: null,
      storedAt: null,
      transientSince: null,
      privateAddress: null,
      forwardPorts: [],
      forwards: [],
      lastHostPorts: [],
      createdAt: now,
      updatedAt: now,
    };
    await this.db.transaction(async (em) => {
      assertUnderQuota('machines', await em.countBy(Machine, { ownerId: user.id, state: Not<MachineState>('deleted') }), this.config.quotas.machines);
      machine.macAddress = await this.newMacAddress(em);
      await em.insert(Machine, machine);
      await this.billing.chargeRegistrationFee(em, machine, fee);
      await this.eventLog.record(em, {
        kind: 'machine.created',
        message: `${machine.name}: configuration registered (fee ${fee})`,
        machineId: machine.id,
        userId: user.id,
        buyerId: user.id,
        version: machine.version,
      });
    });
    return this.mapper.toDto(machine);
  }

  /** Edits a registered configuration (report fig. 13); any other state answers 409. */
  async update(user: AuthUser, id: string, dto: UpdateMachineDto, ifMatch?: IfMatchValue): Promise<MachineDto> {
    const machine = await this.lifecycle.find(user, id);
    this.lifecycle.checkVersion(machine, ifMatch);
    this.lifecycle.begin(machine, 'edit');
    const changes: Partial<Machine> = withoutUndefined(dto);
    if (dto.askedStoragePerMonth !== undefined) changes.askedStoragePerMonth = exactAmount('askedStoragePerMonth', dto.askedStoragePerMonth);
    if (dto.askedRunningPerHour !== undefined) changes.askedRunningPerHour = exactAmount('askedRunningPerHour', dto.askedRunningPerHour);
    if (machine.preconfigured) await this.checkImageEdit(machine, changes);
    await this.db.transaction(async (em) => {
      if (!(await this.machineStore.write(em, machine, changes, { actorId: user.id }))) throw await this.lifecycle.lostRace(em, machine.id, 'edit', ifMatch);
    });
    return this.get(user, id);
  }

  /** Search providers for a registered machine at its asked prices (report fig. 11). */
  async offers(user: AuthUser, id: string, limit: number): Promise<OfferPage> {
    const machine = await this.lifecycle.find(user, id);
    this.lifecycle.begin(machine, 'searchProviders');
    return this.market.offers(sizeOf(machine), { storagePerMonth: machine.askedStoragePerMonth, runningPerHour: machine.askedRunningPerHour }, limit);
  }

  /** Why the search for a registered machine finds no host, and what would fit. */
  async explainOffers(user: AuthUser, id: string): Promise<NoOfferExplanationDto> {
    const machine = await this.lifecycle.find(user, id);
    this.lifecycle.begin(machine, 'searchProviders');
    return this.market.explain(sizeOf(machine), { storagePerMonth: machine.askedStoragePerMonth, runningPerHour: machine.askedRunningPerHour });
  }

  /**
   * Stores the machine on a host: in one transaction re-check that the host still fits and still
   * asks no more than the buyer's prices, reserve the resources, fix the prices and enter `storing`.
   */
  async store(user: AuthUser, id: string, hostId: string, ifMatch?: IfMatchValue): Promise<MachineDto> {
    const stored = await this.lifecycle.perform(user, id, 'store', ifMatch, {
      begin: async (em, machine) => {
        const size = sizeOf(machine);
        const candidate = await em.findOneBy(Host, { id: hostId });
        if (!candidate) throw notFound('host');
        await this.hosts.assertOnline(candidate);
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
        await this.billing.assertMayStore(em, machine.ownerId, fixed.storagePrice);
        return {
          hostId: host.id,
          storagePrice: fixed.storagePrice,
          storageAmount: fixed.storageAmount,
          runningPrice: fixed.runningPrice,
          runningUnitAmount: fixed.runningUnitAmount,
        };
      },
      succeeded: async () => ({ storedAt: nowIso(this.wallClock) }),
      failed: async (em, machine) => {
        if (machine.hostId) await this.hosts.release(em, machine.hostId, sizeOf(machine));
        return { hostId: null, storagePrice: null, storageAmount: null, runningPrice: null, runningUnitAmount: null };
      },
    });
    return this.mapper.toDto(stored);
  }

  /** A VM action by a buyer, or by the system (billing's suspensions: see BillingSuspensions). */
  async act(actor: Actor, id: string, action: VmAction, ifMatch?: IfMatchValue, options: ActionOptions = {}): Promise<MachineDto> {
    // Nothing starts or resumes while its buyer is held for a low balance, or cannot pay the slice it would start.
    // A machine gets its private address at its first start (a resume finds it has one).
    const hooks: Hooks =
      action === 'start' || action === 'resume'
        ? {
            begin: async (em, machine) => {
              await this.billing.assertMayStart(em, machine.id, machine.ownerId);
              return this.network.assignAddress(em, machine);
            },
          }
        : {};
    try {
      // The buyer's network exists before the start's transaction assigns an address in it.
      if (action === 'start' || action === 'resume') await this.network.networkOf((await this.lifecycle.find(actor, id)).ownerId);
      return this.mapper.toDto(await this.lifecycle.perform(actor, id, action, ifMatch, hooks, options));
    } catch (error) {
      // Two machines of one buyer starting at the same moment picked the same address (PostgreSQL): one tries again.
      if (isUniqueViolation(error)) throw conflict('another of your machines took the same private address at this moment; try again');
      throw error;
    } finally {
      // Whatever came of it, the agents of the buyer's network are told what to hold now.
      this.announceNetworkChange(id, action);
    }
  }

  /** The network sync runs after the change is committed (NetworkSync listens); it never fails the request. */
  private announceNetworkChange(machineId: string, why: string): void {
    void this.machines
      .findOneBy({ id: machineId })
      .then((machine) => machine && this.events.emit(NetworkChanged.event, new NetworkChanged(machine.ownerId, `${why} of ${machine.name}`)))
      .catch(() => undefined);
  }

  /** The system suspends a running machine (billing: its buyer is held for a low balance) through the normal lifecycle; never deletes it. */
  async suspendBySystem(actor: Actor, machineId: string): Promise<void> {
    const machine = await this.machines.findOneBy({ id: machineId });
    if (!machine || machine.state !== 'running') return;
    await this.act(actor, machine.id, 'suspend');
  }

  start(user: AuthUser, id: string, dto: StartMachineDto, ifMatch?: IfMatchValue): Promise<MachineDto> {
    return this.act(user, id, 'start', ifMatch, { bootFrom: dto.bootFrom });
  }

  /** A stop; forced, it skips the power button: the same lifecycle step (stopping → stopped, version + 1, running slice ended). */
  stop(user: AuthUser, id: string, dto: StopMachineDto, ifMatch?: IfMatchValue): Promise<MachineDto> {
    return this.act(user, id, 'stop', ifMatch, { force: dto.force === true });
  }

  /**
   * Reboot (Ctrl-Alt-Del asked of the guest) or reset (the reset line) of a running machine: the
   * guest restarts inside the same run, so the machine stays running at its version and its
   * billing goes on; nothing is stored here but a failure's reason in the answer.
   */
  async restart(user: AuthUser, id: string, action: 'reboot' | 'reset', ifMatch?: IfMatchValue): Promise<MachineDto> {
    const machine = await this.lifecycle.find(user, id);
    this.lifecycle.checkVersion(machine, ifMatch);
    this.lifecycle.begin(machine, action);
    const target = await this.agent.targetOf(machine.hostId);
    const command = { machineId: machine.id, version: machine.version };
    try {
      const seen = action === 'reboot' ? await this.agent.gateway.rebootVm(target, command) : await this.agent.gateway.resetVm(target, command);
      this.agent.checkAgentVersion(machine, action, seen, machine.version);
    } catch (error) {
      throw this.agent.failure(machine, action, error);
    }
    return this.get(user, id);
  }

  /** Deletes the machine: at once while registered, else through the host agent, then frees its resources. */
  async remove(user: AuthUser, id: string, ifMatch?: IfMatchValue): Promise<void> {
    let hostId: string | null = null;
    const deleted = await this.lifecycle.perform(user, id, 'delete', ifMatch, {
      succeeded: async (em, machine) => {
        hostId = machine.hostId;
        if (machine.hostId) await this.hosts.release(em, machine.hostId, sizeOf(machine));
        return {};
      },
    });
    // Former hosts may keep a cache of it (migration): they are told to drop it, best effort.
    if (hostId) this.events.emit(MachineDeleted.event, new MachineDeleted(deleted.id, hostId, deleted.version));
    this.events.emit(NetworkChanged.event, new NetworkChanged(deleted.ownerId, `delete of ${deleted.name}`));
  }

  /** The buyer's running machine and its host, for a console (409 unless running). */
  async consoleTarget(user: Pick<AuthUser, 'id'>, id: string): Promise<{ machine: Machine; target: AgentTarget }> {
    const machine = await this.lifecycle.find(user, id);
    this.lifecycle.begin(machine, 'console');
    return { machine, target: await this.agent.targetOf(machine.hostId) };
  }

  /** Presses keys together on a running machine's keyboard (e.g. Ctrl-Alt-Del). */
  async sendKeys(user: AuthUser, id: string, keys: string[]): Promise<void> {
    const { machine, target } = await this.consoleTarget(user, id);
    try {
      await this.agent.gateway.sendKeys(target, { machineId: machine.id, keys, version: machine.version });
    } catch (error) {
      throw this.agent.failure(machine, `send ${keys.join('-')} to`, error);
    }
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

  /** A locally administered address in QEMU's 52:54:00 range, unique among machines. */
  private async newMacAddress(em: EntityManager): Promise<string> {
    for (let attempt = 0; attempt < 20; attempt += 1) {
      const mac = ['52', '54', '00', ...randomBytes(3).toString('hex').match(/../g)!].join(':');
      if (!(await em.existsBy(Machine, { macAddress: mac }))) return mac;
    }
    throw new ApiError(503, 'could not issue a unique MAC address; try again');
  }
}
