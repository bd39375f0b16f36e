import { Inject, Injectable } from '@nestjs/common';
import { BILLED_STATES, VM_RUNNING_STATES } from '@virtuoso/domain';
import { Clock, WALL_CLOCK } from '../common/clock';
import type { EntityManager } from 'typeorm';
import { nowIso } from '../common/time';
import { EventLog } from '../events/event-log.service';
import { Host } from '../providers/host.entity';
import { Machine } from './machine.entity';
import { RunningEndCause, RunningMeter } from './running-meter.service';

/**
 * Why a machine is written: the cause of leaving `running`, if any, and who asked — the user id of
 * the buyer (or operator) whose request moved it; none when the agent, the reconciler or a daemon did.
 */
export interface WriteContext {
  cause?: RunningEndCause;
  actorId?: string | null;
}

/**
 * Every write of a machine row: a compare-and-set on (id, state, version, revision), so a command
 * acts on exactly the row it read, and the running meter hears every move into and out of
 * `running`, and into and out of being stored, in the same transaction — from a buyer's action, a
 * heartbeat event, the reconciler or a host's removal — and bills it there.
 */
@Injectable()
export class MachineStore {
  constructor(
    private readonly meter: RunningMeter,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
    private readonly eventLog: EventLog,
  ) {}

  /** The machine as written, or null when another writer got there first. */
  async write(em: EntityManager, machine: Machine, changes: Partial<Machine>, { cause, actorId }: WriteContext = {}): Promise<Machine | null> {
    const at = nowIso(this.wallClock);
    const written: Partial<Machine> = { ...changes, ...networkChanges(changes), revision: machine.revision + 1, updatedAt: at };
    const result = await em.update(Machine, { id: machine.id, state: machine.state, version: machine.version, revision: machine.revision }, written);
    if (result.affected !== 1) return null;
    const after: Machine = { ...machine, ...written };
    const wasBilled = BILLED_STATES.has(machine.state);
    const isBilled = BILLED_STATES.has(after.state);
    const wasRunning = VM_RUNNING_STATES.has(machine.state);
    const isRunning = VM_RUNNING_STATES.has(after.state);
    if (!wasBilled && isBilled) await this.meter.stored(em, after);
    if (!wasRunning && isRunning) await this.meter.runningStarted(em, after);
    if (wasRunning && !isRunning) await this.meter.runningEnded(em, after, cause ?? causeOf(after));
    if (wasBilled && !isBilled) await this.meter.removed(em, after);
    if (machine.state !== after.state || machine.hostId !== after.hostId) await this.recordMove(em, machine, after, cause, actorId ?? null);
    return after;
  }

  /** The move in the event log, committed with it (docs/ARCHITECTURE.md "Event log"). */
  private async recordMove(em: EntityManager, before: Machine, after: Machine, cause: RunningEndCause | undefined, actorId: string | null): Promise<void> {
    const moved = before.hostId !== after.hostId;
    const why = after.lastError && after.lastError !== before.lastError ? `: ${after.lastError}` : cause && cause !== 'stopped' ? ` (${cause})` : '';
    // By the host's name, as its buyer saw it in the offers (a move is rare: one read).
    const host = moved && after.hostId ? await em.findOne(Host, { select: { id: true, name: true }, where: { id: after.hostId } }) : null;
    const where = moved && after.hostId ? ` on host ${host?.name ?? after.hostId}` : '';
    await this.eventLog.record(em, {
      kind:
        moved && before.hostId && after.hostId
          ? 'machine.migrated'
          : after.state === 'stored' && (before.state === 'storing' || before.state === 'registered')
            ? 'machine.stored'
            : 'machine.state',
      message: `${after.name}: ${before.state} → ${after.state}${where} (v${after.version})${why}`.slice(0, 1000),
      machineId: after.id,
      hostId: after.hostId ?? before.hostId,
      userId: actorId,
      buyerId: after.ownerId,
      providerId: await this.eventLog.providerOf(em, after.hostId ?? before.hostId),
      version: after.version,
      data: { from: before.state, to: after.state, ...(moved ? { fromHostId: before.hostId, toHostId: after.hostId } : {}), ...(cause ? { cause } : {}) },
    });
  }
}

/**
 * What a move does to the machine's network (docs/ARCHITECTURE.md §11): its forwarded ports go
 * with its VMM process (out of the running states: stopped, suspended, powered off, crashed,
 * migrating, deleted), and a deleted machine frees its private address.
 */
function networkChanges(changes: Partial<Machine>): Partial<Machine> {
  if (changes.state === undefined || VM_RUNNING_STATES.has(changes.state) || changes.forwards !== undefined) return {};
  return changes.state === 'deleted' ? { forwards: [], privateAddress: null } : { forwards: [] };
}

function causeOf(machine: Machine): RunningEndCause {
  if (machine.state === 'suspended' || machine.state === 'suspending') return 'suspended';
  if (machine.state === 'migrating') return 'migrated';
  return 'stopped';
}
