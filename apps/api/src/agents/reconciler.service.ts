import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InjectRepository } from '@nestjs/typeorm';
import type { AgentEvent, AgentVmState } from '@virtuoso/contracts';
import {
  HOSTED_STATES,
  TRANSIENT_STATES,
  type MachineState,
  type Seen,
  type Settlement,
  abandonTransient,
  applyEvent,
  completeAction,
  isTransient,
  reportedRunning,
  settleAtRest,
  settleTransient,
} from '@virtuoso/domain';
import { In, IsNull, Not, Repository } from 'typeorm';
import { Clock, WALL_CLOCK } from '../common/clock';
import { Daemons, SinglePass } from '../common/daemons';
import { Database } from '../common/database.service';
import { select } from '../common/sql';
import { APP_CONFIG, AppConfig } from '../config';
import { HOST_AGENT_GATEWAY, HostAgentGateway } from '../machines/host-agent.gateway';
import { Machine } from '../machines/machine.entity';
import { MachineStore } from '../machines/machine-store.service';
import { RunningEndCause } from '../machines/running-meter.service';
import { HostsService } from '../providers/hosts.service';
import { Host } from '../providers/host.entity';
import { Migration } from '../migrations/migration.entity';
import { NetworkChanged } from '../network/network.events';
import { Agent } from './agent.entity';

/** After a change, heartbeats taken this soon may still show the state before it. */
const FRESH_AFTER_MS = 2_000;
/** Slack on top of an action's own timeout before the reconciler steps in. */
const GRACE_MS = 5_000;
/** How long a VM must be reported as an orphan before it is deleted: far longer than a heartbeat taken before a store or delete settled can linger. */
export const ORPHAN_GRACE_MS = 60_000;

/** One of `of` shares of the agents, by a hash of their ids (Reconciler.runScheduledPass). */
export interface AgentShare {
  index: number;
  of: number;
}

/** FNV-1a of the id, so that an agent stays in its share while others join and leave. */
export function inShare(agentId: string, share: AgentShare): boolean {
  let hash = 0x811c9dc5;
  for (let i = 0; i < agentId.length; i++) hash = Math.imul(hash ^ agentId.charCodeAt(i), 0x01000193) >>> 0;
  return hash % share.of === share.index;
}

export interface PassResult {
  /** Machines whose state or version changed. */
  settled: number;
}

/**
 * Keeps the front-end's machines in step with their agents (docs/ARCHITECTURE.md §2, report footnote 11):
 * - events of a heartbeat (the guest powered itself off, the VMM crashed) stop a running machine
 *   with version + 1 at once;
 * - every few seconds, a machine whose action outlived its timeout is settled from the last
 *   heartbeat (or, when its agent has been silent since, returned where the action started), and a
 *   machine at rest that its agent reports otherwise (a missed event) is brought in line;
 * - VMs an agent holds for machines not stored on its host are reclaimed (reclaimOrphans).
 */
@Injectable()
export class Reconciler implements OnApplicationBootstrap {
  private readonly logger = new Logger('Reconciler');
  private readonly passes = new SinglePass<PassResult>();
  /** (machineId, version) of events already applied: a resent event (lost ack) changes nothing twice. */
  private readonly applied = new Set<string>();
  /** `agentId:machineId` of orphan VMs → when first reported as one, and whether a running one was logged. */
  private readonly orphans = new Map<string, { since: number; logged: boolean }>();

  constructor(
    private readonly db: Database,
    private readonly store: MachineStore,
    private readonly hosts: HostsService,
    @InjectRepository(Machine) private readonly machines: Repository<Machine>,
    @InjectRepository(Agent) private readonly agents: Repository<Agent>,
    @InjectRepository(Host) private readonly hostRows: Repository<Host>,
    @InjectRepository(Migration) private readonly migrations: Repository<Migration>,
    @Inject(HOST_AGENT_GATEWAY) private readonly gateway: HostAgentGateway,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
    private readonly daemons: Daemons,
    private readonly events: EventEmitter2,
  ) {}

  onApplicationBootstrap(): void {
    this.daemons.every('reconciler', this.config.reconcileIntervalSeconds, () => this.runScheduledPass());
  }

  /** Which share of the agents the next scheduled pass takes. */
  private turn = 0;

  /**
   * The daemon's pass: the machines (and orphan VMs) of one share of the agents, and every machine in
   * the middle of an action. A pass over every hosted machine at once held SQLite's one connection,
   * and the event loop, for long enough to delay heartbeats behind it (docs/ARCHITECTURE.md §12);
   * so with more than VIRTUOSO_RECONCILE_AGENTS_PER_PASS agents, they are split into
   * ⌈agents ÷ that⌉ shares by their id, one share a pass: each agent's machines at rest are compared
   * every ⌈agents ÷ that⌉ passes, an action that outlived its timeout is settled at the next pass.
   */
  async runScheduledPass(now = this.wallClock.now()): Promise<void> {
    // Every agent's id (a short column, not their reports), once for the pass and its orphan check.
    const ids = (await select<{ id: string }>(this.db.manager, 'SELECT "id" FROM "agents"', [])).map((row) => row.id);
    const shares = Math.ceil(ids.length / this.config.reconcileAgentsPerPass);
    let scope: ReadonlySet<string> | undefined;
    if (shares > 1) {
      const share = { index: this.turn++ % shares, of: shares };
      scope = new Set(ids.filter((id) => inShare(id, share)));
    }
    await this.runPass(now, scope);
    await this.reclaimOrphans(now, scope);
  }

  /**
   * A heartbeat's events. Only a machine the front-end has running is stopped, and only by an event
   * newer than its version (the event's version is the one after the run ended).
   */
  async applyEvents(agent: Agent, events: AgentEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    const host = await this.hostRows.findOneBy({ agentId: agent.id });
    let changed = 0;
    for (const event of [...events].sort((a, b) => a.version - b.version)) {
      const key = `${event.machineId}:${event.version}`;
      if (this.applied.has(key)) continue;
      const machine = host ? await this.machines.findOneBy({ id: event.machineId, hostId: host.id }) : null;
      if (!machine) {
        this.logger.warn(`agent ${agent.id}: ${event.kind} of ${event.machineId}, which no host of this agent stores; ignored`);
        continue;
      }
      // The lifecycle says which states a power-off changes (only running); the versions tell an old event.
      const next = applyEvent({ state: machine.state, version: machine.version }, 'guestPoweredOff');
      if (!next.changed || event.version <= machine.version) {
        this.logger.log(`${machine.name} (${machine.id}): ${event.kind} v${event.version} while ${machine.state} v${machine.version}; nothing to change`);
        this.remember(key);
        continue;
      }
      if (next.version !== event.version) {
        this.logger.warn(
          `${machine.name} (${machine.id}): the agent reports version ${event.version} after ${event.kind}, the lifecycle says ${next.version}; keeping ${next.version}, the reconciler aligns it`,
        );
      }
      const crashed = event.kind === 'crashed';
      const written = await this.db.transaction((em) =>
        this.store.write(
          em,
          machine,
          {
            state: next.state,
            version: next.version,
            previousState: null,
            transientSince: null,
            lastError: crashed ? `the virtual machine ended unexpectedly: ${event.detail ?? 'crashed'}`.slice(0, 500) : null,
          },
          { cause: crashed ? 'crashed' : 'guest-powered-off' },
        ),
      );
      if (written) {
        changed++;
        this.remember(key);
        this.events.emit(NetworkChanged.event, new NetworkChanged(machine.ownerId, `${event.kind} of ${machine.name}`));
        this.logger.log(`${machine.name} (${machine.id}): ${event.kind} (${event.detail ?? 'no detail'}) → ${next.state} v${next.version}`);
      }
    }
    return changed;
  }

  /** One pass over every machine on a host; tests call it directly. Passes never overlap. */
  /** `scope`: the agents whose machines at rest to compare (runScheduledPass); all when absent. */
  async runPass(now = this.wallClock.now(), scope?: ReadonlySet<string>): Promise<PassResult> {
    return this.passes.run(() => this.pass(now, scope));
  }

  private async pass(now: number, scope?: ReadonlySet<string>): Promise<PassResult> {
    // Only the columns a settlement reads (apply() reads the row again): every hosted machine is
    // loaded every pass, and whole rows made that the pass's main cost at scale (docs/ARCHITECTURE.md §12).
    const columns = {
      id: true,
      name: true,
      ownerId: true,
      state: true,
      previousState: true,
      version: true,
      revision: true,
      hostId: true,
      transientSince: true,
      updatedAt: true,
    } as const;
    let machines: Machine[];
    if (!scope) machines = await this.machines.find({ select: columns, where: { state: In([...HOSTED_STATES]), hostId: Not(IsNull()) } });
    else {
      // The share's machines, and every machine in the middle of an action (few: their deadlines do not wait for a share's turn).
      const hostIds = await this.hostsOf([...scope]);
      const atRest = hostIds.length ? await this.machines.find({ select: columns, where: { state: In([...HOSTED_STATES]), hostId: In(hostIds) } }) : [];
      const busy = await this.machines.find({ select: columns, where: { state: In([...TRANSIENT_STATES]), hostId: Not(IsNull()) } });
      const seen = new Set(atRest.map((machine) => machine.id));
      machines = [...atRest, ...busy.filter((machine) => !seen.has(machine.id))];
    }
    if (machines.length === 0) return { settled: 0 };
    const hosts = await this.hostRows.findBy({ id: In([...new Set(machines.map((m) => m.hostId!))]) });
    const agentIds = hosts.map((host) => host.agentId).filter((id): id is string => !!id);
    const agents = agentIds.length ? await this.agents.findBy({ id: In(agentIds) }) : [];
    // By id, not agents.find per host: thousands of hosts made that quadratic (docs/ARCHITECTURE.md §12).
    const agentById = new Map(agents.map((agent) => [agent.id, agent]));
    const agentOfHost = new Map(hosts.map((host) => [host.id, (host.agentId && agentById.get(host.agentId)) || null]));
    const reports = new Map(agents.map((agent) => [agent.id, parseVms(agent.vms)]));
    const migrating = await this.migratingMachineIds();

    let settled = 0;
    for (const machine of machines) {
      // The migration orchestrator settles these (its commit, rollback or boot recovery), not a heartbeat.
      if (migrating.has(machine.id)) continue;
      const agent = agentOfHost.get(machine.hostId!) ?? null;
      const heartbeatAt = agent?.lastHeartbeatAt ? Date.parse(agent.lastHeartbeatAt) : 0;
      const seenOf = (): Seen => {
        const vm = reports.get(agent!.id)?.get(machine.id);
        return vm ? { state: vm.state, version: vm.version } : { state: 'absent', version: machine.version };
      };
      let outcome: Settlement | null = null;
      if (isTransient(machine.state)) {
        const since = Date.parse(machine.transientSince ?? machine.updatedAt);
        const deadline = since + this.timeoutOf(machine) + GRACE_MS;
        if (now < deadline) continue;
        if (agent && heartbeatAt > since + FRESH_AFTER_MS) outcome = settleTransient(machine, seenOf());
        else if (now > deadline + this.config.agentOfflineMs) outcome = abandonTransient(machine);
      } else if (agent && heartbeatAt > Date.parse(machine.updatedAt) + FRESH_AFTER_MS) {
        outcome = settleAtRest(machine, seenOf());
      }
      if (outcome && (await this.apply(machine, outcome))) settled++;
    }
    return { settled };
  }

  /**
   * VMs an agent holds for machines the front-end does not store on that agent's host: a store the
   * reconciler undid (the agent silent, or still copying the image) that the agent completed later,
   * a delete the agent never heard of. They take the provider's disk and nobody pays for them, and
   * no buyer can reach them. Once reported as such for ORPHAN_GRACE_MS, a stopped or suspended one
   * is deleted on its agent; a running one is only logged, for the provider to look at. A store
   * under way is never one: a machine names its host from the moment it enters `storing`.
   * A machine with a migration under way or not yet acknowledged by both agents is never one: the
   * origin lists the machine until migration.finish turns it into a cache (docs/ARCHITECTURE.md §7).
   * Returns how many were deleted.
   */
  async reclaimOrphans(now = this.wallClock.now(), scope?: ReadonlySet<string>): Promise<number> {
    const agents = scope
      ? await this.agents.findBy({ id: In([...scope]), lastHeartbeatAt: Not(IsNull()) })
      : await this.agents.findBy({ lastHeartbeatAt: Not(IsNull()) });
    const migrating = await this.migratingMachineIds();
    const hosts = agents.length ? await this.hostRows.findBy({ agentId: In(agents.map((agent) => agent.id)) }) : [];
    const agentById = new Map(agents.map((agent) => [agent.id, agent]));
    // Which machine each host stores, in one read rather than one per host: with thousands of
    // agents, a read per host every pass was as many statements as their heartbeats (docs/ARCHITECTURE.md §12).
    const stored = new Set(
      hosts.length
        ? (await this.machines.find({ select: { id: true, hostId: true }, where: { hostId: In(hosts.map((host) => host.id)) } })).map(
            (machine) => `${machine.hostId}:${machine.id}`,
          )
        : [],
    );
    const reported = new Set<string>();
    let deleted = 0;
    for (const host of hosts) {
      const agent = agentById.get(host.agentId!)!;
      const vms = [...parseVms(agent.vms).values()].filter((vm) => vm.state !== 'absent');
      if (vms.length === 0) continue;
      for (const vm of vms) {
        if (stored.has(`${host.id}:${vm.machineId}`) || migrating.has(vm.machineId)) continue;
        const key = `${agent.id}:${vm.machineId}`;
        reported.add(key);
        const orphan = this.orphans.get(key) ?? { since: now, logged: false };
        this.orphans.set(key, orphan);
        if (now - orphan.since < ORPHAN_GRACE_MS) continue;
        if (reportedRunning(vm.state)) {
          if (!orphan.logged) this.logger.warn(`host ${host.name}: its agent runs VM ${vm.machineId}, which is not stored on this host; left for the provider`);
          orphan.logged = true;
          continue;
        }
        try {
          await this.gateway.deleteVm({ hostId: host.id, hostName: host.name, agentId: agent.id }, { machineId: vm.machineId, version: vm.version });
          this.orphans.delete(key);
          deleted++;
          this.logger.log(`host ${host.name}: deleted VM ${vm.machineId} (${vm.state} v${vm.version}), which is not stored on this host`);
        } catch (error) {
          this.logger.warn(`host ${host.name}: deleting orphan VM ${vm.machineId} failed: ${(error as Error).message}`);
        }
      }
    }
    // Forgotten when no longer reported; another share's are left for its turn.
    for (const key of this.orphans.keys()) {
      if (!reported.has(key) && (!scope || scope.has(key.slice(0, key.indexOf(':'))))) this.orphans.delete(key);
    }
    return deleted;
  }

  private async hostsOf(agentIds: string[]): Promise<string[]> {
    if (agentIds.length === 0) return [];
    return (await this.hostRows.find({ select: { id: true }, where: { agentId: In(agentIds) } })).map((host) => host.id);
  }

  /** Machines with a migration under way, or ended but not yet acknowledged by both agents (cleanedUp false). */
  private async migratingMachineIds(): Promise<Set<string>> {
    const rows = await this.migrations.find({
      select: { machineId: true },
      where: [{ phase: In(['preparing', 'transferring', 'committing']) }, { cleanedUp: false }],
    });
    return new Set(rows.map((row) => row.machineId));
  }

  /** How long the machine's action may take before the reconciler settles it. */
  private timeoutOf(machine: Machine): number {
    switch (machine.state) {
      case 'storing':
        return this.config.agentCreateTimeoutMs;
      case 'stopping':
        return this.config.stopTimeoutMs + 10_000;
      default:
        return this.config.agentCommandTimeoutMs;
    }
  }

  private async apply(machine: Machine, outcome: Settlement): Promise<boolean> {
    const written = await this.db.transaction(async (em) => {
      const fresh = await em.findOneBy(Machine, { id: machine.id });
      if (!fresh || fresh.revision !== machine.revision) return null; // it moved meanwhile: next pass
      const succeeded = isTransient(fresh.state) && fresh.previousState ? safeTarget(fresh) === outcome.state : true;
      const changes: Partial<Machine> = {
        state: outcome.state,
        version: outcome.version,
        previousState: null,
        transientSince: null,
        lastError: succeeded
          ? isTransient(fresh.state)
            ? null
            : fresh.lastError
          : `${describeAction(fresh)} settled from the agent's heartbeat: ${outcome.note}`.slice(0, 500),
      };
      if (outcome.release && fresh.hostId) await this.hosts.release(em, fresh.hostId, { speed: fresh.speed, memory: fresh.memory, disk: fresh.disk });
      if (outcome.unstore) Object.assign(changes, { hostId: null, storagePrice: null, storageAmount: null, runningPrice: null, runningUnitAmount: null });
      const cause: RunningEndCause = outcome.state === 'suspended' ? 'suspended' : 'reconciled';
      return this.store.write(em, fresh, changes, { cause });
    });
    if (written) {
      this.logger.log(`${machine.name} (${machine.id}): ${machine.state} v${machine.version} → ${outcome.state} v${outcome.version} (${outcome.note})`);
      this.events.emit(NetworkChanged.event, new NetworkChanged(machine.ownerId, `${machine.name} settled ${outcome.state}`));
    }
    return !!written;
  }

  private remember(key: string): void {
    this.applied.add(key);
    if (this.applied.size > 10_000) this.applied.delete(this.applied.values().next().value as string);
  }
}

function safeTarget(machine: Machine): MachineState | null {
  try {
    return completeAction({ state: machine.state, version: machine.version, previousState: machine.previousState! }, 'succeeded').state;
  } catch {
    return null;
  }
}

function describeAction(machine: Machine): string {
  return isTransient(machine.state) ? `${machine.state} (from ${machine.previousState ?? '?'})` : `${machine.state}`;
}

function parseVms(text: string): Map<string, AgentVmState> {
  try {
    const vms = JSON.parse(text) as AgentVmState[];
    return new Map(Array.isArray(vms) ? vms.map((vm) => [vm.machineId, vm]) : []);
  } catch {
    return new Map();
  }
}
