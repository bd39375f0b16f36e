import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { AgentCommands, type MigrationDto, type MigrationPhase, OFFERED_MIGRATION_METHODS, type StartMigrationDto } from '@virtuoso/contracts';
import { type MachineSize, type VmmpMessage, fits, methodOffered, nextProgress, quote, renderVmmp, respVersionAccepted, vcpusFor } from '@virtuoso/domain';
import { randomUUID } from 'node:crypto';
import { parseFacts } from '../agents/online';
import { BillingService } from '../billing/billing.service';
import { Clock, WALL_CLOCK } from '../common/clock';
import { Database } from '../common/database.service';
import { ApiError, conflict, notFound } from '../common/errors';
import { Leadership } from '../common/leadership';
import { IfMatchValue } from '../common/if-match';
import { nowIso } from '../common/time';
import { Metrics } from '../metrics/metrics.service';
import { APP_CONFIG, AppConfig } from '../config';
import { AuthUser } from '../common/auth.decorators';
import { MachineLifecycle } from '../machines/machine-lifecycle.service';
import { MachineStore } from '../machines/machine-store.service';
import { NetworkChanged } from '../network/network.events';
import { Machine } from '../machines/machine.entity';
import { Host } from '../providers/host.entity';
import { HostsService, freeOf, pricesOf } from '../providers/hosts.service';
import { MigrationAgents } from './migration-agents';
import { Migration } from './migration.entity';
import { ACTIVE, MigrationRecords, parseLog } from './migration-records';

const sizeOf = (machine: Pick<Machine, 'speed' | 'memory' | 'disk'>): MachineSize => ({ speed: machine.speed, memory: machine.memory, disk: machine.disk });
const messageOf = (error: unknown) =>
  error instanceof ApiError ? ((error.getResponse() as { message?: string }).message ?? error.message) : error instanceof Error ? error.message : String(error);

/**
 * The front-end's side of a migration (report §7.3; docs/ARCHITECTURE.md §7): validate, reserve
 * the destination and put the machine in `migrating` in one transaction, then prepare (the
 * destination's one-time key) → export (the origin makes the machine migratable) → REQ (the
 * destination pulls it and reports). A RESP SUCCESS at fromVersion + 1 commits in ONE transaction;
 * any failure before that rolls back (report §7.1.6: a failure is a complete failure). Then
 * migration.finish goes to both agents until both have acknowledged (cleanedUp).
 */
@Injectable()
export class MigrationOrchestrator {
  private readonly logger = new Logger('Migrations');
  /** Migrations whose finish is being sent now: one sender at a time. */
  private readonly finishing = new Set<string>();

  constructor(
    private readonly db: Database,
    private readonly records: MigrationRecords,
    private readonly agents: MigrationAgents,
    private readonly lifecycle: MachineLifecycle,
    private readonly machineStore: MachineStore,
    private readonly hosts: HostsService,
    private readonly billing: BillingService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
    private readonly events: EventEmitter2,
    private readonly leadership: Leadership,
    private readonly metrics: Metrics,
  ) {}

  /** POST /api/machines/{id}/migrate: every check first (each refusal changes nothing), then the reservation and `migrating` together. */
  async start(user: AuthUser, id: string, dto: StartMigrationDto, ifMatch?: IfMatchValue): Promise<MigrationDto> {
    const machine = await this.lifecycle.find(user, id);
    this.lifecycle.checkVersion(machine, ifMatch);
    const begun = this.lifecycle.begin(machine, 'migrate');
    if (!machine.hostId) throw conflict(`machine ${machine.name} is not stored on a host`);
    if (dto.hostId === machine.hostId) throw conflict(`machine ${machine.name} is already on this host; choose another host`);
    if (!(OFFERED_MIGRATION_METHODS as readonly string[]).includes(dto.method)) {
      throw conflict(`method ${dto.method} is not offered yet; choose ${OFFERED_MIGRATION_METHODS.join(' or ')}`);
    }
    const destination = await this.hosts.findById(dto.hostId);
    if (!destination) throw notFound('host');
    const origin = await this.hosts.findById(machine.hostId);
    if (!origin) throw conflict(`machine ${machine.name}'s host is gone`);
    const size = sizeOf(machine);
    const free = freeOf(destination);
    if (!fits(free, size)) {
      throw conflict(
        `host ${destination.name} cannot hold the machine: ${free.speed} bogomips, ${free.memory} MB of memory and ${free.storage} MB of storage free; ` +
          `it needs ${size.speed}, ${size.memory} and ${size.disk}`,
      );
    }
    await this.hosts.assertOnline(destination);
    await this.hosts.assertOnline(origin);
    const originAgent = await this.agents.agentOf(origin);
    if (!originAgent?.transferSshPort || !originAgent.transferHostKey || !originAgent.transferSshUser) {
      throw new ApiError(503, `host ${origin.name} cannot send machines: its agent runs no transfer sshd (its provider starts the agent with --ssh-port)`);
    }
    const query = await this.agents.query(destination.id, machine.id);
    if (query.methods.length === 0 && query.unavailable && !query.vmmp[1]) {
      throw new ApiError(503, `host ${destination.name} did not answer the VMMP QUERY (${query.unavailable}); nothing changed`);
    }
    if (!methodOffered(query.methods, dto.method)) {
      throw conflict(`host ${destination.name} does not offer ${dto.method}: it answered ${query.methods.join(', ') || 'no method'}`);
    }
    const fixed = quote(pricesOf(destination), size);
    const now = nowIso(this.wallClock);
    const row: Migration = {
      id: randomUUID(),
      machineId: machine.id,
      ownerId: machine.ownerId,
      fromHostId: origin.id,
      toHostId: destination.id,
      fromHostName: origin.name,
      toHostName: destination.name,
      method: dto.method,
      phase: 'preparing',
      previousState: machine.state,
      fromVersion: machine.version,
      toVersion: null,
      bytesDone: 0,
      bytesTotal: 0,
      bytesPerSecond: 0,
      bytesTransferred: null,
      transferMs: null,
      transferringSince: null,
      lastHeartbeatAt: null,
      lastHeartbeatVmmp: null,
      error: null,
      storagePrice: fixed.storagePrice,
      storageAmount: fixed.storageAmount,
      runningPrice: fixed.runningPrice,
      runningUnitAmount: fixed.runningUnitAmount,
      arrivalChargeKey: null,
      cleanedUp: false,
      // This replica drives it (drive() below): the leader leaves it alone while this replica lives.
      orchestratorReplicaId: this.leadership.replicaId,
      startedAt: now,
      finishedAt: null,
      log: JSON.stringify([
        ...query.vmmp.map((text) => ({ at: now, text })),
        {
          at: now,
          text: `front-end: ${machine.name} v${machine.version} (${machine.state}) from ${origin.name} to ${destination.name} by ${dto.method}; ${destination.name}'s resources reserved, the machine is migrating`,
        },
      ]),
    };
    await this.db.transaction(async (em) => {
      // Storage is charged anew on arrival (report §5.1.6): the buyer must be able to pay it.
      await this.billing.assertMayStore(em, machine.ownerId, fixed.storagePrice);
      await this.hosts.reserve(em, destination.id, size);
      const written = await this.machineStore.write(
        em,
        machine,
        { state: begun.transient, previousState: machine.state, lastError: null, transientSince: now },
        { actorId: user.id },
      );
      if (!written) throw await this.lifecycle.lostRace(em, machine.id, 'migrate', ifMatch);
      await em.insert(Migration, row);
    });
    this.logger.log(`migration ${row.id}: ${machine.name} (${machine.id}) v${machine.version} ${origin.name} → ${destination.name} by ${dto.method}`);
    void this.drive(row.id);
    return this.records.toDto(row);
  }

  /** prepare → export → REQ; any failure rolls back with the step and its reason. */
  private async drive(id: string): Promise<void> {
    let step = 'prepare';
    try {
      const m = await this.records.get(id);
      const machine = await this.db.manager.findOneByOrFail(Machine, { id: m.machineId });
      const destination = await this.agents.target(m.toHostId, m.toHostName);
      const origin = await this.agents.target(m.fromHostId, m.fromHostName);
      const prepared = await this.agents.gateway.migrationCommand(destination, AgentCommands.migrationPrepare, {
        migrationId: id,
        machineId: m.machineId,
        method: m.method,
      });
      await this.records.log(null, id, [`front-end: prepare — ${m.toHostName} made a one-time key for this migration`]);
      if (!(await this.stillPreparing(id))) return;

      step = 'export';
      const exported = await this.agents.gateway.migrationCommand(
        origin,
        AgentCommands.migrationExport,
        { migrationId: id, machineId: m.machineId, version: m.fromVersion, method: m.method, publicKey: prepared.publicKey },
        this.config.agentCreateTimeoutMs,
      );
      if (exported.version !== m.fromVersion || exported.machineId !== m.machineId) {
        throw new Error(`host ${m.fromHostName} exported ${exported.machineId} at version ${exported.version}, not ${m.machineId} at ${m.fromVersion}`);
      }
      const bytesTotal = exported.files.reduce((sum, file) => sum + file.size, 0);
      await this.db.transaction(async (em) => {
        await em.update(Migration, { id }, { bytesTotal: Math.max(bytesTotal, 0) });
        await this.records.log(em, id, [
          `front-end: export — ${m.fromHostName} made the machine migratable (${exported.state}, v${exported.version}): ${exported.files.map((f) => `${f.name} ${f.size} B`).join(', ')}; the one-time key may read it`,
        ]);
      });
      if (!(await this.stillPreparing(id))) return;

      step = 'request';
      const originAgent = await this.agents.agentOf({ agentId: origin.agentId });
      const destinationAgent = await this.agents.agentOf({ agentId: destination.agentId });
      if (!originAgent?.transferSshPort || !originAgent.transferHostKey || !originAgent.transferSshUser) {
        throw new Error(`host ${m.fromHostName}'s agent no longer runs a transfer sshd`);
      }
      const req = renderVmmp({
        kind: 'REQ',
        machineId: m.machineId,
        version: m.fromVersion,
        origin: { host: originAgent.agentHost, port: originAgent.transferSshPort },
        central: this.agents.central(),
        method: m.method,
      });
      await this.records.log(null, id, [req]);
      await this.agents.gateway.migrationCommand(destination, AgentCommands.migrationRequest, {
        migrationId: id,
        vmmp: req,
        origin: { sshUser: originAgent.transferSshUser, hostKey: originAgent.transferHostKey },
        files: exported.files,
        machine: {
          mac: machine.macAddress,
          vcpus: vcpusFor(machine.speed, parseFacts(destinationAgent?.facts)),
          memoryMb: machine.memory,
          diskMb: machine.disk,
        },
      });
      const accepted = await this.db.transaction(async (em) => {
        const moved = await this.records.movePhase(em, id, ['preparing'], { phase: 'transferring', transferringSince: nowIso(this.wallClock) });
        if (moved) await this.records.log(em, id, [`front-end: ${m.toHostName} accepted the REQ and pulls the machine`]);
        return moved;
      });
      // Cancelled (or failed) while the REQ was on its way: the abort must reach the destination after it.
      if (!accepted && (await this.records.get(id)).phase === 'rolled-back') await this.finishAgain(id);
    } catch (error) {
      const reason = `${step} failed: ${messageOf(error)}`;
      this.logger.warn(`migration ${id}: ${reason}`);
      await this.rollback(id, reason).catch((e: unknown) => this.logger.error(`migration ${id}: rollback failed: ${messageOf(e)}`));
    }
  }

  /** Still preparing after a step; if it was cancelled meanwhile, the step's effect is undone by a fresh finish. */
  private async stillPreparing(id: string): Promise<boolean> {
    const phase = (await this.records.get(id)).phase;
    if (phase === 'preparing') return true;
    if (phase === 'rolled-back') await this.finishAgain(id);
    return false;
  }

  /** A HEARTBEAT: progress moves forward and the watchdog's window restarts. The log keeps the first one. */
  async heartbeat(m: Migration, progress: { bytesDone: number; bytesTotal: number; bytesPerSecond: number }, text: string): Promise<void> {
    await this.db.transaction(async (em) => {
      const fresh = await em.findOneBy(Migration, { id: m.id });
      if (!fresh || (fresh.phase !== 'preparing' && fresh.phase !== 'transferring')) return;
      const next = nextProgress({ bytesDone: fresh.bytesDone, bytesTotal: fresh.bytesTotal, bytesPerSecond: fresh.bytesPerSecond }, progress);
      await em.update(Migration, { id: m.id }, { ...next, lastHeartbeatAt: nowIso(this.wallClock), lastHeartbeatVmmp: text });
      if (fresh.lastHeartbeatVmmp === null) await this.records.log(em, m.id, [text]);
    });
  }

  /** RESP SUCCESS: committed only at fromVersion + 1, else rolled back. A repeated RESP changes nothing. */
  async arrived(
    m: Migration,
    resp: Extract<VmmpMessage, { kind: 'RESP' }>,
    text: string,
    transfer?: { bytesReceived: number; durationMs: number },
  ): Promise<void> {
    if (m.phase === 'committed' || m.phase === 'rolled-back') return;
    const lines = [...this.lastHeartbeatLine(m), text];
    if (!respVersionAccepted(m.fromVersion, resp.version)) {
      await this.rollback(m.id, `the destination answered version ${resp.version}, not ${m.fromVersion + 1}`, ['preparing', 'transferring'], { lines });
      return;
    }
    const moved = await this.db.transaction(async (em) => {
      const ok = await this.records.movePhase(em, m.id, ['preparing', 'transferring'], {
        phase: 'committing',
        ...(transfer ? { bytesTransferred: transfer.bytesReceived, transferMs: transfer.durationMs } : {}),
        bytesDone: m.bytesTotal > 0 ? m.bytesTotal : m.bytesDone,
      });
      if (ok) await this.records.log(em, m.id, lines);
      return ok;
    });
    if (!moved && (await this.records.get(m.id)).phase !== 'committing') return;
    await this.commit(m.id, `${m.toHostName} verified the copy at version ${resp.version}`);
  }

  /** RESP FAIL: rolled back with the destination's reason. */
  async failedAtDestination(m: Migration, reason: string | undefined, text: string): Promise<void> {
    await this.rollback(m.id, `the destination failed: ${reason ?? 'no reason given'}`, ['preparing', 'transferring'], {
      lines: [...this.lastHeartbeatLine(m), text],
    });
  }

  private lastHeartbeatLine(m: Migration): string[] {
    // The log has the first HEARTBEAT; the last one goes in before the RESP, unless it is the same.
    const last = m.lastHeartbeatVmmp;
    return last && !parseLog(m.log).some((line) => line.text === last) ? [last] : [];
  }

  /**
   * The commit, in ONE transaction (report §7.3.3): version + 1, the destination becomes the
   * machine's host, the origin's resources are released, the state returns to the one it left,
   * the machine's prices become the destination's current ones, storage is charged for a new
   * cycle there and its provider credited (BillingService.onArrived). The phase's compare-and-set
   * inside it makes it happen once, whoever (a RESP, the recovery) gets there.
   */
  async commit(id: string, note: string, from: MigrationPhase[] = ['committing']): Promise<boolean> {
    const committed = await this.db.transaction(async (em) => {
      const m = await em.findOneBy(Migration, { id });
      if (!m || !from.includes(m.phase)) return null;
      const machine = await em.findOneBy(Machine, { id: m.machineId });
      if (!machine || machine.state !== 'migrating' || machine.version !== m.fromVersion) {
        throw new Error(`machine ${m.machineId} is ${machine?.state ?? 'gone'} at version ${machine?.version ?? '?'}, not migrating at ${m.fromVersion}`);
      }
      const destination = await em.findOneBy(Host, { id: m.toHostId });
      if (!destination) throw new Error(`host ${m.toHostName} is gone`);
      const size = sizeOf(machine);
      const fixed = quote(pricesOf(destination), size);
      const toVersion = m.fromVersion + 1;
      const at = nowIso(this.wallClock);
      const moved = await this.records.movePhase(em, id, [m.phase], {
        phase: 'committed',
        toVersion,
        finishedAt: at,
        error: null,
        storagePrice: fixed.storagePrice,
        storageAmount: fixed.storageAmount,
        runningPrice: fixed.runningPrice,
        runningUnitAmount: fixed.runningUnitAmount,
      });
      if (!moved) return null;
      await this.hosts.release(em, m.fromHostId, size);
      const written = await this.machineStore.write(em, machine, {
        state: m.previousState,
        previousState: null,
        version: toVersion,
        hostId: destination.id,
        storagePrice: fixed.storagePrice,
        storageAmount: fixed.storageAmount,
        runningPrice: fixed.runningPrice,
        runningUnitAmount: fixed.runningUnitAmount,
        transientSince: null,
        lastError: null,
      });
      if (!written) throw new Error(`machine ${machine.name} changed while committing`);
      const charges = await this.billing.onArrived(em, written);
      const arrival = charges.find((c) => c.kind === 'storage');
      if (arrival) await em.update(Migration, { id }, { arrivalChargeKey: arrival.key });
      const charged = charges.map((c) => `${c.amount}`).join(', ');
      await this.records.log(em, id, [
        `front-end: committed — ${note}; ${machine.name} is ${m.previousState} v${toVersion} on ${m.toHostName} at its prices (storage ${fixed.storagePrice} per ${fixed.storageAmount} days${charged ? `, charged ${charged} on arrival` : ''}); ${m.fromHostName}'s resources released`,
      ]);
      return m;
    });
    if (!committed) return false;
    this.metrics.migrations.inc({ method: committed.method, outcome: 'committed' });
    this.logger.log(`migration ${id}: committed on ${committed.toHostName} at version ${committed.fromVersion + 1}`);
    // Its private address goes with it: the network is held where it is now.
    this.events.emit(NetworkChanged.event, new NetworkChanged(committed.ownerId, `migration of ${committed.machineId} to ${committed.toHostName}`));
    void this.finishBoth(id);
    return true;
  }

  /**
   * The rollback (report §7.1.6): the machine back in its previous state at its version on the
   * origin, the destination's reservation released, no money moved, the reason recorded. Once only
   * (the phase's compare-and-set); then migration.finish abort to both agents. `lines`: the VMMP
   * messages to record with it; `actorId`: the buyer who cancelled it (the machine's move is theirs
   * in the event log), none when the orchestrator or the watch rolls back.
   */
  async rollback(
    id: string,
    reason: string,
    from: MigrationPhase[] = ['preparing', 'transferring'],
    { lines = [], actorId = null }: { lines?: string[]; actorId?: string | null } = {},
  ): Promise<boolean> {
    const rolled = await this.db.transaction(async (em) => {
      const m = await em.findOneBy(Migration, { id });
      if (!m || !from.includes(m.phase)) return null;
      const moved = await this.records.movePhase(em, id, [m.phase], { phase: 'rolled-back', error: reason.slice(0, 500), finishedAt: nowIso(this.wallClock) });
      if (!moved) return null;
      const machine = await em.findOneBy(Machine, { id: m.machineId });
      if (machine && machine.state === 'migrating') {
        const written = await this.machineStore.write(
          em,
          machine,
          {
            state: m.previousState,
            version: m.fromVersion,
            previousState: null,
            transientSince: null,
            lastError: `migration to ${m.toHostName} rolled back: ${reason}`.slice(0, 500),
          },
          { actorId },
        );
        if (!written) throw new Error(`machine ${machine.name} changed while rolling back`);
      }
      await this.hosts.release(em, m.toHostId, sizeOf(machine ?? { speed: 0, memory: 0, disk: 0 }));
      await this.records.log(em, id, [
        ...lines,
        `front-end: rolled back — ${reason}; ${machine?.name ?? m.machineId} is ${m.previousState} v${m.fromVersion} on ${m.fromHostName}, ${m.toHostName}'s reservation released, no money moved`,
      ]);
      return m;
    });
    if (!rolled) return false;
    this.metrics.migrations.inc({ method: rolled.method, outcome: 'rolled-back' });
    this.logger.log(`migration ${id}: rolled back (${reason})`);
    void this.finishBoth(id);
    return true;
  }

  /** Cancel by the buyer: 409 when none is under way or it is committing. */
  async cancel(user: AuthUser, machineId: string): Promise<MigrationDto> {
    const machine = await this.lifecycle.find(user, machineId);
    const m = await this.records.latest(machine.id);
    if (!m || !ACTIVE.includes(m.phase)) throw conflict(`no migration of ${machine.name} is under way`);
    if (m.phase === 'committing') throw conflict(`the migration of ${machine.name} is committing: it can no longer be cancelled`);
    const done = await this.rollback(m.id, 'cancelled by the buyer', undefined, { actorId: user.id });
    if (!done) {
      const now = await this.records.get(m.id);
      if (now.phase !== 'rolled-back') throw conflict(`the migration of ${machine.name} is ${now.phase}: it can no longer be cancelled`);
    }
    return this.records.toDto(await this.records.get(m.id));
  }

  /** After a late step re-created what a finish undid (a key, an export): the finish goes again. */
  private async finishAgain(id: string): Promise<void> {
    await this.db.transaction((em) => em.update(Migration, { id }, { cleanedUp: false }));
    await this.finishBoth(id);
  }

  /**
   * migration.finish to the destination, then the origin (idempotent on the agents); cleanedUp
   * once both acknowledged. The cleanup daemon calls it again for those that are not.
   */
  async finishBoth(id: string): Promise<boolean> {
    if (this.finishing.has(id)) return false;
    this.finishing.add(id);
    try {
      const m = await this.records.get(id);
      if (m.cleanedUp || ACTIVE.includes(m.phase)) return m.cleanedUp;
      const outcome = m.phase === 'committed' ? 'commit' : 'abort';
      const command = {
        migrationId: id,
        machineId: m.machineId,
        outcome,
        ...(outcome === 'abort' && m.error ? { reason: m.error.slice(0, 2000) } : {}),
      } as const;
      const acknowledged: string[] = [];
      for (const [hostId, hostName] of [
        [m.toHostId, m.toHostName],
        [m.fromHostId, m.fromHostName],
      ] as const) {
        try {
          const target = await this.agents.target(hostId, hostName).catch(() => null);
          // A host deleted since has nothing left to clean up.
          if (target) await this.agents.gateway.migrationCommand(target, AgentCommands.migrationFinish, command);
          acknowledged.push(hostName);
        } catch (error) {
          this.logger.warn(`migration ${id}: finish ${outcome} on ${hostName} failed (retried later): ${messageOf(error)}`);
        }
      }
      if (acknowledged.length < 2) return false;
      await this.db.transaction(async (em) => {
        await em.update(Migration, { id }, { cleanedUp: true });
        await this.records.log(em, id, [`front-end: finish ${outcome} acknowledged by ${m.toHostName} and ${m.fromHostName}`]);
      });
      return true;
    } finally {
      this.finishing.delete(id);
    }
  }

  /** Settles a migration from what both agents say (recovery after a restart, an orphan, a commit that did not complete); true if this call ended it. */
  async settleFromAgents(
    m: Migration,
    decide: (
      destination: Awaited<ReturnType<MigrationAgents['status']>>,
      origin: Awaited<ReturnType<MigrationAgents['status']>>,
    ) => { outcome: 'commit' | 'rollback'; reason: string },
  ): Promise<boolean> {
    const [destination, origin] = await Promise.all([this.agents.status(m.toHostId, m.id, m.machineId), this.agents.status(m.fromHostId, m.id, m.machineId)]);
    const decision = decide(destination, origin);
    const phases: MigrationPhase[] = ['preparing', 'transferring', 'committing'];
    return decision.outcome === 'commit' ? this.commit(m.id, decision.reason, phases) : this.rollback(m.id, decision.reason, phases);
  }
}
