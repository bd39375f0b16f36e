import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock, WALL_CLOCK } from '../common/clock';
import { InjectRepository } from '@nestjs/typeorm';
import { type AgentVmState, MachineDto, NoOfferExplanationDto, RegisterMachineDto, StartMachineDto, StopMachineDto, UpdateMachineDto } from '@virtuoso/contracts';
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
import { BillingService } from '../billing/billing.service';
import { ImageStore, ImageUnavailableError } from '../agents/image-store.service';
import { vcpusFor } from '../agents/online';
import { CatalogService } from '../catalog/catalog.service';
import { AuthUser } from '../common/auth.decorators';
import { Database } from '../common/database.service';
import { ApiError, badRequest, conflict, explainUnknownProperties, notFound, withoutUndefined } from '../common/errors';
import { describeIfMatch, etagOf, IfMatchValue, ifMatchHolds } from '../common/if-match';
import { assertUnderQuota } from '../common/quotas';
import { exactAmount } from '../common/money';
import { nowIso } from '../common/time';
import { APP_CONFIG, AppConfig } from '../config';
import { MarketService, OfferPage } from '../market/market.service';
import { MediaService } from '../media/media.service';
import { Host } from '../providers/host.entity';
import { HostsService, pricesOf } from '../providers/hosts.service';
import {
  AgentNoAnswerError,
  AgentRefusedError,
  AgentTarget,
  AgentUnavailableError,
  HOST_AGENT_GATEWAY,
  HostAgentGateway,
} from './host-agent.gateway';
import { Machine } from './machine.entity';
import { MachineStore } from './machine-store.service';

explainUnknownProperties(UpdateMachineDto, (property) =>
  property === 'configurationId' ? 'configurationId cannot be changed after the machine is registered' : undefined,
);

/** Lifecycle actions that go to the provider agent. */
export type VmAction = 'start' | 'stop' | 'suspend' | 'resume';
type AgentAction = 'store' | 'delete' | VmAction;

/** Options of an action for the agent (start: the boot device). */
interface ActionOptions {
  bootFrom?: 'disk' | 'cdrom';
  /** stop: power off at once, without the ACPI power button and its timeout. */
  force?: boolean;
}

/** A failure the agent gateway (or the image store) reports, as an HTTP status and whether anything may have happened. */
function failureOf(error: unknown): { status: number; message: string; unknown: boolean } {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof AgentNoAnswerError) return { status: 504, message, unknown: true };
  if (error instanceof AgentUnavailableError || error instanceof ImageUnavailableError) return { status: 503, message, unknown: false };
  if (error instanceof AgentRefusedError) return { status: 502, message, unknown: false };
  if (error instanceof ApiError) return { status: error.getStatus(), message: (error.getResponse() as { message?: string }).message ?? message, unknown: false };
  return { status: 502, message, unknown: false };
}

/** Extra work done in the same transaction as a state change; returns columns to set with it. */
interface Hooks {
  begin?(em: EntityManager, machine: Machine): Promise<Partial<Machine>>;
  succeeded?(em: EntityManager, machine: Machine): Promise<Partial<Machine>>;
  failed?(em: EntityManager, machine: Machine): Promise<Partial<Machine>>;
}

/** 412: the machine moved on from what the client saw (an If-Match of a bare version names only the version). */
function preconditionFailed(machine: Machine, ifMatch: IfMatchValue): ApiError {
  const now = typeof ifMatch === 'number' ? `version ${machine.version}` : `ETag ${etagOf(machine.version, machine.revision)}`;
  return new ApiError(412, `machine ${machine.name} is at ${now}, not ${describeIfMatch(ifMatch)}; reload it and try again`);
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
  private readonly logger = new Logger('Machines');

  constructor(
    private readonly db: Database,
    private readonly accounts: AccountsService,
    private readonly catalog: CatalogService,
    private readonly hosts: HostsService,
    private readonly market: MarketService,
    private readonly billing: BillingService,
    private readonly machineStore: MachineStore,
    private readonly images: ImageStore,
    private readonly media: MediaService,
    @InjectRepository(Machine) private readonly machines: Repository<Machine>,
    @Inject(HOST_AGENT_GATEWAY) private readonly gateway: HostAgentGateway,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
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
      createdAt: now,
      updatedAt: now,
    };
    await this.db.transaction(async (em) => {
      assertUnderQuota('machines', await em.countBy(Machine, { ownerId: user.id, state: Not<MachineState>('deleted') }), this.config.quotas.machines);
      machine.macAddress = await this.newMacAddress(em);
      await em.insert(Machine, machine);
      await this.billing.chargeRegistrationFee(em, machine, fee);
    });
    return this.toDto(machine);
  }

  /** Edits a registered configuration (report fig. 13); any other state answers 409. */
  async update(user: AuthUser, id: string, dto: UpdateMachineDto, ifMatch?: IfMatchValue): Promise<MachineDto> {
    const machine = await this.own(user, id);
    this.checkVersion(machine, ifMatch);
    this.begin(machine, 'edit');
    const changes: Partial<Machine> = withoutUndefined(dto);
    if (dto.askedStoragePerMonth !== undefined) changes.askedStoragePerMonth = exactAmount('askedStoragePerMonth', dto.askedStoragePerMonth);
    if (dto.askedRunningPerHour !== undefined) changes.askedRunningPerHour = exactAmount('askedRunningPerHour', dto.askedRunningPerHour);
    if (machine.preconfigured) await this.checkImageEdit(machine, changes);
    await this.db.transaction(async (em) => {
      if (!(await this.machineStore.write(em, machine, changes))) throw await this.lostRace(em, machine.id, 'edit', ifMatch);
    });
    return this.get(user, id);
  }

  /** Search providers for a registered machine at its asked prices (report fig. 11). */
  async offers(user: AuthUser, id: string, limit: number): Promise<OfferPage> {
    const machine = await this.own(user, id);
    this.begin(machine, 'searchProviders');
    return this.market.offers(sizeOf(machine), { storagePerMonth: machine.askedStoragePerMonth, runningPerHour: machine.askedRunningPerHour }, limit);
  }

  /** Why the search for a registered machine finds no host, and what would fit. */
  async explainOffers(user: AuthUser, id: string): Promise<NoOfferExplanationDto> {
    const machine = await this.own(user, id);
    this.begin(machine, 'searchProviders');
    return this.market.explain(sizeOf(machine), { storagePerMonth: machine.askedStoragePerMonth, runningPerHour: machine.askedRunningPerHour });
  }

  /**
   * Stores the machine on a host: in one transaction re-check that the host still fits and still
   * asks no more than the buyer's prices, reserve the resources, fix the prices and enter `storing`.
   */
  async store(user: AuthUser, id: string, hostId: string, ifMatch?: IfMatchValue): Promise<MachineDto> {
    return this.perform(user, id, 'store', ifMatch, {
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
  }

  act(user: AuthUser, id: string, action: VmAction, ifMatch?: IfMatchValue, options: ActionOptions = {}): Promise<MachineDto> {
    // Nothing starts or resumes while its buyer is held for a low balance, or cannot pay the slice it would start.
    const hooks: Hooks =
      action === 'start' || action === 'resume'
        ? { begin: async (em, machine) => (await this.billing.assertMayStart(em, machine.id, machine.ownerId), {}) }
        : {};
    return this.perform(user, id, action, ifMatch, hooks, options);
  }

  /** MachineControl: billing suspends a held buyer's running machine through the normal lifecycle (never deletes it). */
  async suspendForBilling(machineId: string): Promise<void> {
    const machine = await this.machines.findOneBy({ id: machineId });
    if (!machine || machine.state !== 'running') return;
    await this.act({ id: machine.ownerId, handle: '', role: 'buyer', sessionId: null, tokenId: null }, machine.id, 'suspend');
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
    const machine = await this.own(user, id);
    this.checkVersion(machine, ifMatch);
    this.begin(machine, action);
    const target = await this.targetOf(machine.hostId);
    const command = { machineId: machine.id, version: machine.version };
    try {
      const seen = action === 'reboot' ? await this.gateway.rebootVm(target, command) : await this.gateway.resetVm(target, command);
      this.checkAgentVersion(machine, action, seen, machine.version);
    } catch (error) {
      throw this.agentFailure(machine, action, error);
    }
    return this.get(user, id);
  }

  /** Deletes the machine: at once while registered, else through the host agent, then frees its resources. */
  async remove(user: AuthUser, id: string, ifMatch?: IfMatchValue): Promise<void> {
    await this.perform(user, id, 'delete', ifMatch, {
      succeeded: async (em, machine) => {
        if (machine.hostId) await this.hosts.release(em, machine.hostId, sizeOf(machine));
        return {};
      },
    });
  }

  /**
   * Puts an ISO of the buyer's library in the machine's CD-ROM drive: live while running, else
   * remembered by the agent for the next start (boot from it with start's bootFrom: 'cdrom').
   */
  async attachMedia(user: AuthUser, id: string, mediaId: string): Promise<MachineDto> {
    const machine = await this.own(user, id);
    this.checkMediaState(machine, 'attach media to');
    const medium = await this.media.own(user, mediaId);
    const target = await this.targetOf(machine.hostId);
    const ungrant = target.agentId ? this.media.grant(target.agentId, medium.id) : () => undefined;
    try {
      const seen = await this.gateway.attachMedia(target, { machineId: machine.id, version: machine.version, media: { id: medium.id, sha256: medium.sha256 } });
      this.checkAgentVersion(machine, 'attach media', seen, machine.version);
    } catch (error) {
      throw this.agentFailure(machine, `attach ${medium.name} to`, error);
    } finally {
      ungrant();
    }
    return this.toDto(await this.recordMedia(machine, medium.id));
  }

  /** Takes the medium out of the drive (live while running). */
  async ejectMedia(user: AuthUser, id: string): Promise<MachineDto> {
    const machine = await this.own(user, id);
    if (machine.mediaId === null) return this.toDto(machine);
    this.checkMediaState(machine, 'eject media of');
    const target = await this.targetOf(machine.hostId);
    try {
      const seen = await this.gateway.ejectMedia(target, { machineId: machine.id, version: machine.version });
      this.checkAgentVersion(machine, 'eject media', seen, machine.version);
    } catch (error) {
      throw this.agentFailure(machine, 'eject the media of', error);
    }
    return this.toDto(await this.recordMedia(machine, null));
  }

  /** The buyer's running machine and its host, for a console (409 unless running). */
  async consoleTarget(user: Pick<AuthUser, 'id'>, id: string): Promise<{ machine: Machine; target: AgentTarget }> {
    const machine = await this.own(user, id);
    this.begin(machine, 'console');
    return { machine, target: await this.targetOf(machine.hostId) };
  }

  /** Presses keys together on a running machine's keyboard (e.g. Ctrl-Alt-Del). */
  async sendKeys(user: AuthUser, id: string, keys: string[]): Promise<void> {
    const { machine, target } = await this.consoleTarget(user, id);
    try {
      await this.gateway.sendKeys(target, { machineId: machine.id, keys, version: machine.version });
    } catch (error) {
      throw this.agentFailure(machine, `send ${keys.join('-')} to`, error);
    }
  }

  private checkMediaState(machine: Machine, what: string): void {
    if (!['stored', 'stopped', 'running'].includes(machine.state)) {
      throw new ApiError(409, `Cannot ${what} a machine that is ${machine.state}: only stored, stopped or running machines have a CD-ROM drive to change`, {
        allowedActions: allowedActions(machine.state),
      });
    }
  }

  private async recordMedia(machine: Machine, mediaId: string | null): Promise<Machine> {
    return this.db.transaction(async (em) => {
      const fresh = await em.findOneByOrFail(Machine, { id: machine.id });
      const written = await this.machineStore.write(em, fresh, { mediaId });
      if (!written) throw conflict(`machine ${machine.name} changed meanwhile; reload it`);
      return written;
    });
  }

  /** An agent failure outside the lifecycle (media, keys): nothing changed here; 503/502/504 with the reason. */
  private agentFailure(machine: Machine, what: string, error: unknown): ApiError {
    if (error instanceof ApiError) return error;
    const failure = failureOf(error);
    return new ApiError(failure.status, `could not ${what} ${machine.name}: ${failure.message}`.slice(0, 500));
  }

  private checkAgentVersion(machine: Machine, action: string, seen: AgentVmState | undefined, expected: number): void {
    if (seen && typeof seen.version === 'number' && seen.version !== expected) {
      this.logger.warn(
        `${machine.name} (${machine.id}): after ${action} the agent holds version ${seen.version}, the lifecycle says ${expected}; keeping ${expected}, the reconciler aligns them`,
      );
    }
  }

  private async perform(user: AuthUser, id: string, action: AgentAction, ifMatch: IfMatchValue | undefined, hooks: Hooks, options: ActionOptions = {}): Promise<MachineDto> {
    const machine = await this.own(user, id);
    this.checkVersion(machine, ifMatch);
    const begun = this.begin(machine, action);

    const instant = begun.transient === begun.target;
    const underway = await this.db.transaction(async (em) => {
      const extra = hooks.begin ? await hooks.begin(em, machine) : {};
      const changes: Partial<Machine> = instant
        ? { ...extra, state: begun.target, previousState: null, lastError: null }
        : { ...extra, state: begun.transient, previousState: machine.state, lastError: null, transientSince: nowIso(this.wallClock) };
      const written = await this.machineStore.write(em, machine, changes);
      if (!written) throw await this.lostRace(em, machine.id, action, ifMatch);
      return written;
    });
    if (instant) return this.toDto(underway);

    const status = { state: underway.state, version: underway.version, previousState: machine.state };
    const success = completeAction(status, 'succeeded');
    try {
      const target = await this.targetOf(underway.hostId);
      const seen = await this.callAgent(action, target, underway, success.version, options);
      this.checkAgentVersion(underway, action, seen, success.version);
    } catch (error) {
      const failure = failureOf(error);
      if (failure.unknown) {
        // Sent but unanswered: the agent may have done it. The machine stays in its transient state
        // until the reconciler settles it from the agent's heartbeat.
        const lastError = `${action} of ${machine.name}: ${failure.message}; the machine will be settled from the agent's heartbeats`.slice(0, 500);
        await this.db.transaction((em) => this.machineStore.write(em, underway, { lastError })).catch(() => null);
        throw new ApiError(failure.status, lastError);
      }
      // It did not happen: the machine does not stay in its transient state.
      const back = completeAction(status, 'failed');
      const lastError = `could not ${action} ${machine.name}: ${failure.message}`.slice(0, 500);
      await this.settle(underway, { state: back.state, version: back.version, lastError }, hooks.failed);
      throw new ApiError(failure.status, lastError);
    }
    return this.toDto(await this.settle(underway, { state: success.state, version: success.version, lastError: null }, hooks.succeeded));
  }

  /** One command to the agent for a lifecycle action, with the version it holds (create: the version once stored). */
  private async callAgent(action: AgentAction, target: AgentTarget, machine: Machine, nextVersion: number, options: ActionOptions): Promise<AgentVmState> {
    const vm = { machineId: machine.id, version: machine.version };
    switch (action) {
      case 'store': {
        const image = machine.image ? await this.images.describe(machine.image) : null;
        const facts = (await this.hosts.agentStatus([{ id: target.hostId, agentId: target.agentId }])).get(target.hostId)?.facts ?? null;
        return this.gateway.createVm(target, {
          machineId: machine.id,
          mac: machine.macAddress,
          vcpus: vcpusFor(machine.speed, facts),
          memoryMb: machine.memory,
          diskMb: machine.disk,
          version: nextVersion,
          ...(image ? { image: { name: image.name, sha256: image.sha256 } } : {}),
        });
      }
      case 'start':
        return this.gateway.startVm(target, { ...vm, ...(options.bootFrom ? { bootFrom: options.bootFrom } : {}) });
      case 'stop':
        return this.gateway.stopVm(target, { ...vm, timeoutMs: this.config.stopTimeoutMs, ...(options.force ? { force: true } : {}) });
      case 'suspend':
        return this.gateway.suspendVm(target, vm);
      case 'resume':
        return this.gateway.resumeVm(target, vm);
      case 'delete':
        return this.gateway.deleteVm(target, vm);
    }
  }

  private async settle(underway: Machine, outcome: Pick<Machine, 'state' | 'version' | 'lastError'>, hook?: Hooks['succeeded']): Promise<Machine> {
    return this.db.transaction(async (em) => {
      const extra = hook ? await hook(em, underway) : {};
      const written = await this.machineStore.write(em, underway, { ...extra, ...outcome, previousState: null, transientSince: null });
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

  private checkVersion(machine: Machine, ifMatch: IfMatchValue | undefined): void {
    if (!ifMatchHolds(ifMatch, machine)) throw preconditionFailed(machine, ifMatch!);
  }

  /** Explains a compare-and-set that found the machine moved on, from what it is now. */
  private async lostRace(em: EntityManager, id: string, action: MachineAction, ifMatch: IfMatchValue | undefined): Promise<ApiError> {
    const now = await em.findOneByOrFail(Machine, { id });
    if (!ifMatchHolds(ifMatch, now)) return preconditionFailed(now, ifMatch!);
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

  private async own(user: Pick<AuthUser, 'id'>, id: string): Promise<Machine> {
    const machine = await this.machines.findOneBy({ id, ownerId: user.id });
    if (!machine || machine.state === 'deleted') throw notFound('machine');
    return machine;
  }

  /** The host of a stored machine and its agent, for the gateway. */
  private async targetOf(hostId: string | null): Promise<AgentTarget> {
    const host = hostId ? await this.hosts.findById(hostId) : null;
    if (!host) throw new AgentUnavailableError('its host is gone');
    return { hostId: host.id, hostName: host.name, agentId: host.agentId };
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
    const status = await this.hosts.agentStatus(hosts);
    const refs = new Map(hosts.map((host) => [host.id, { id: host.id, name: host.name, owner: owners.get(host.ownerId) ?? '?', online: status.get(host.id)?.online ?? false }]));
    const mediaNames = await this.media.namesOf([...new Set(machines.map((machine) => machine.mediaId).filter((id): id is string => id !== null))]);
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
      etag: etagOf(machine.version, machine.revision),
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
      media: machine.mediaId ? { id: machine.mediaId, name: mediaNames.get(machine.mediaId) ?? '?' } : null,
      createdAt: machine.createdAt,
      stopTimeoutSeconds: this.config.stopTimeoutMs / 1000,
      // Only a preconfigured image is known to hold a system that answers the power button; what a
      // buyer installs on a blank machine is unknown here, so its stop may be forced after the timeout.
      hasOperatingSystem: machine.preconfigured,
    }));
  }
}

