import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { nowIso } from '../common/time';
import { Machine } from './machine.entity';
import { RunningEndCause, RunningMeter } from './running-meter.service';

/**
 * Every write of a machine row: a compare-and-set on (id, state, version, revision), so a command
 * acts on exactly the row it read, and the running meter hears every move into and out of
 * `running` in the same transaction — from a buyer's action, a heartbeat event or the reconciler.
 */
@Injectable()
export class MachineStore {
  constructor(private readonly meter: RunningMeter) {}

  /** The machine as written, or null when another writer got there first. */
  async write(em: EntityManager, machine: Machine, changes: Partial<Machine>, cause?: RunningEndCause): Promise<Machine | null> {
    const at = nowIso();
    const written = { ...changes, revision: machine.revision + 1, updatedAt: at };
    const result = await em.update(Machine, { id: machine.id, state: machine.state, version: machine.version, revision: machine.revision }, written);
    if (result.affected !== 1) return null;
    const after: Machine = { ...machine, ...written };
    const wasRunning = VM_RUNS.has(machine.state);
    const isRunning = VM_RUNS.has(after.state);
    if (!wasRunning && isRunning) await this.meter.runningStarted(em, after, at);
    if (wasRunning && !isRunning) await this.meter.runningEnded(em, after, at, cause ?? causeOf(after));
    return after;
  }
}

/** States in which the guest runs (and is charged for running): a stop or suspend under way has not ended it yet. */
const VM_RUNS = new Set<string>(['running', 'stopping', 'suspending']);

function causeOf(machine: Machine): RunningEndCause {
  if (machine.state === 'suspended' || machine.state === 'suspending') return 'suspended';
  if (machine.state === 'migrating') return 'migrated';
  return 'stopped';
}
