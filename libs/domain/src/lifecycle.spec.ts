import { describe, expect, it } from 'vitest';
import {
  ACTIONS,
  BILLED_STATES,
  HOSTED_STATES,
  type MachineAction,
  type MachineState,
  type MachineStatus,
  STATES,
  TRANSIENT_STATES,
  VM_RUNNING_STATES,
  allowedActions,
  applyEvent,
  assumedPreviousState,
  beginAction,
  completeAction,
  isAllowed,
  isTransient,
  stateGroups,
  versionAfterRunEnded,
} from './lifecycle';

/** Runs one action to its end, as the API and agent would: begin, hold the transient, settle. */
function perform(machine: MachineStatus, action: MachineAction, outcome: 'succeeded' | 'failed' = 'succeeded'): MachineStatus {
  const begun = beginAction(machine, action);
  if (!begun.ok) throw new Error(begun.reason);
  if (!isTransient(begun.transient)) return { state: begun.target, version: machine.version };
  return completeAction({ state: begun.transient, version: machine.version, previousState: machine.state }, outcome);
}

const EXPECTED: Record<MachineState, MachineAction[]> = {
  registered: ['edit', 'searchProviders', 'store', 'delete'],
  stored: ['start', 'migrate', 'delete'],
  running: ['stop', 'reboot', 'reset', 'suspend', 'console'],
  stopped: ['start', 'migrate', 'delete'],
  suspended: ['resume', 'migrate', 'delete'],
  storing: [],
  starting: [],
  stopping: [],
  suspending: [],
  resuming: [],
  migrating: [],
  deleting: [],
  deleted: [],
};

describe('the transition table', () => {
  it.each(STATES.map((state) => [state, EXPECTED[state]] as const))('%s allows %j', (state, actions) => {
    expect(allowedActions(state)).toEqual(actions);
  });

  it('refuses every (state, action) pair not in the table, with a sentence naming what is allowed', () => {
    let refused = 0;
    for (const state of STATES) {
      for (const action of ACTIONS) {
        if (EXPECTED[state].includes(action)) continue;
        const result = beginAction({ state, version: 7 }, action);
        expect(result.ok).toBe(false);
        expect(isAllowed(state, action)).toBe(false);
        if (!result.ok) {
          expect(result.allowed).toEqual(EXPECTED[state]);
          expect(result.reason).toBe(`Cannot ${action} a machine that is ${state}; allowed: ${EXPECTED[state].join(', ') || 'none'}`);
        }
        refused++;
      }
    }
    // 13 states × 12 actions = 156 pairs, of which 4 + 3 + 5 + 3 + 3 = 18 are allowed
    expect(refused).toBe(138);
  });

  it('explains a refusal as the report would want a buyer to read it', () => {
    expect(beginAction({ state: 'running', version: 1 }, 'start')).toEqual({
      ok: false,
      reason: 'Cannot start a machine that is running; allowed: stop, reboot, reset, suspend, console',
      allowed: ['stop', 'reboot', 'reset', 'suspend', 'console'],
    });
  });

  it('marks exactly the in-between states as transient, and groups states for "my computers"', () => {
    expect(STATES.filter(isTransient)).toEqual(['storing', 'starting', 'stopping', 'suspending', 'resuming', 'migrating', 'deleting']);
    expect(stateGroups).toEqual([
      'registered',
      'stored',
      'running',
      'stopped',
      'suspended',
      'storing',
      'starting',
      'stopping',
      'suspending',
      'resuming',
      'migrating',
      'deleting',
    ]);
  });

  it('reports instant actions as not changing state', () => {
    expect(beginAction({ state: 'registered', version: 0 }, 'edit')).toMatchObject({
      ok: true,
      transient: 'registered',
      target: 'registered',
      changesState: false,
    });
    expect(beginAction({ state: 'running', version: 3 }, 'console')).toMatchObject({ ok: true, transient: 'running', target: 'running', changesState: false });
    expect(beginAction({ state: 'stored', version: 1 }, 'start')).toMatchObject({
      ok: true,
      previousState: 'stored',
      transient: 'starting',
      target: 'running',
      changesState: true,
    });
  });
});

describe('whole lifecycles with versions', () => {
  it('register → store → start → stop → start → suspend → resume → stop → migrate → delete', () => {
    let m: MachineStatus = { state: 'registered', version: 0 };
    m = perform(m, 'edit'); //      registered v0 (edit changes nothing)
    m = perform(m, 'store'); //     storing → stored v1 (becomes stored: +1)
    expect(m).toEqual({ state: 'stored', version: 1 });
    m = perform(m, 'start'); //     starting → running v1 (starting never changes the version)
    expect(m).toEqual({ state: 'running', version: 1 });
    m = perform(m, 'console'); //   running v1
    m = perform(m, 'stop'); //      stopping → stopped v2 (+1)
    expect(m).toEqual({ state: 'stopped', version: 2 });
    m = perform(m, 'start'); //     running v2
    m = perform(m, 'suspend'); //   suspending → suspended v3 (+1)
    expect(m).toEqual({ state: 'suspended', version: 3 });
    m = perform(m, 'resume'); //    resuming → running v3
    expect(m).toEqual({ state: 'running', version: 3 });
    m = perform(m, 'stop'); //      stopped v4
    m = perform(m, 'migrate'); //   migrating → stopped at the destination v5 (+1 on arrival)
    expect(m).toEqual({ state: 'stopped', version: 5 });
    m = perform(m, 'delete'); //    deleting → deleted v5
    expect(m).toEqual({ state: 'deleted', version: 5 });
    expect(allowedActions(m.state)).toEqual([]);
  });

  it('migrates from stored and from suspended back to the state it left, +1 each', () => {
    // stored v1 → migrating → stored v2; suspended v4 → migrating → suspended v5
    expect(perform({ state: 'stored', version: 1 }, 'migrate')).toEqual({ state: 'stored', version: 2 });
    expect(perform({ state: 'suspended', version: 4 }, 'migrate')).toEqual({ state: 'suspended', version: 5 });
  });

  it('deletes a registered machine at once, with nothing on a provider to wait for', () => {
    // registered v0 → deleted v0
    expect(beginAction({ state: 'registered', version: 0 }, 'delete')).toMatchObject({ ok: true, transient: 'deleted', target: 'deleted', changesState: true });
    expect(perform({ state: 'registered', version: 0 }, 'delete')).toEqual({ state: 'deleted', version: 0 });
  });

  it('returns a failed step to the state it left with the version unchanged', () => {
    // stored v1: a failed start → stored v1; running v1: a failed suspend → running v1;
    // suspended v3: a failed migration → suspended v3 (no arrival, no +1); registered v0: failed store → registered v0
    expect(perform({ state: 'stored', version: 1 }, 'start', 'failed')).toEqual({ state: 'stored', version: 1 });
    expect(perform({ state: 'running', version: 1 }, 'suspend', 'failed')).toEqual({ state: 'running', version: 1 });
    expect(perform({ state: 'suspended', version: 3 }, 'migrate', 'failed')).toEqual({ state: 'suspended', version: 3 });
    expect(perform({ state: 'registered', version: 0 }, 'store', 'failed')).toEqual({ state: 'registered', version: 0 });
    expect(perform({ state: 'stopped', version: 2 }, 'delete', 'failed')).toEqual({ state: 'stopped', version: 2 });
  });

  it('reboots and resets a running machine in place: still running, same version', () => {
    // running v3 → reboot → running v3 → reset → running v3 → stop → stopped v4
    let m: MachineStatus = { state: 'running', version: 3 };
    expect(beginAction(m, 'reboot')).toMatchObject({ ok: true, transient: 'running', target: 'running', changesState: false });
    expect(beginAction(m, 'reset')).toMatchObject({ ok: true, transient: 'running', target: 'running', changesState: false });
    m = perform(m, 'reboot');
    expect(m).toEqual({ state: 'running', version: 3 });
    m = perform(m, 'reset');
    expect(m).toEqual({ state: 'running', version: 3 });
    expect(perform(m, 'stop')).toEqual({ state: 'stopped', version: 4 });
    // only a running machine can be rebooted or reset
    for (const state of STATES.filter((s) => s !== 'running')) {
      expect(isAllowed(state, 'reboot')).toBe(false);
      expect(isAllowed(state, 'reset')).toBe(false);
    }
  });

  it('refuses to complete what cannot be under way', () => {
    expect(() => completeAction({ state: 'running', version: 1, previousState: 'stored' }, 'succeeded')).toThrow(/no action to complete/);
    // nothing leads from registered to stopping
    expect(() => completeAction({ state: 'stopping', version: 1, previousState: 'registered' }, 'succeeded')).toThrow(RangeError);
  });
});

describe('a guest powering itself off', () => {
  it('stops a running machine and counts a version (report weakness fixed: state is not lost)', () => {
    // running v3 → stopped v4
    expect(applyEvent({ state: 'running', version: 3 }, 'guestPoweredOff')).toEqual({ state: 'stopped', version: 4, changed: true });
  });

  it('changes nothing in any other state; a stop under way settles itself', () => {
    // stopping v3 stays stopping v3; the stop's completion then gives stopped v4 (one +1, not two)
    expect(applyEvent({ state: 'stopping', version: 3 }, 'guestPoweredOff')).toEqual({ state: 'stopping', version: 3, changed: false });
    expect(applyEvent({ state: 'stopped', version: 4 }, 'guestPoweredOff')).toEqual({ state: 'stopped', version: 4, changed: false });
  });
});

describe('what each state means for billing, the VM and the reconciler', () => {
  it('bills storage from a completed store until deleted: not while registered, storing or deleted', () => {
    // 13 states − registered, storing, deleted = 10 billed; a delete under way is still billed.
    expect(STATES.filter((state) => BILLED_STATES.has(state))).toEqual([
      'stored',
      'starting',
      'running',
      'stopping',
      'stopped',
      'suspending',
      'suspended',
      'resuming',
      'migrating',
      'deleting',
    ]);
  });

  it('runs the VM (and bills running time) while running and until a stop or suspend completes', () => {
    // starting and resuming have not begun the run; stopping and suspending have not ended it.
    expect(STATES.filter((state) => VM_RUNNING_STATES.has(state))).toEqual(['running', 'stopping', 'suspending']);
    // Every state in which the VM runs is billed for storage too.
    expect([...VM_RUNNING_STATES].every((state) => BILLED_STATES.has(state))).toBe(true);
  });

  it('holds a copy on a host in every state but registered and deleted: the billed ones and a store under way', () => {
    // 13 − 2 = 11: the 10 billed states + storing.
    expect(STATES.filter((state) => HOSTED_STATES.has(state))).toEqual(['storing', ...STATES.filter((state) => BILLED_STATES.has(state))]);
    expect(TRANSIENT_STATES.every((state) => HOSTED_STATES.has(state))).toBe(true);
  });

  it('assumes, for a transient state whose previous state was lost, a state whose action leads through it', () => {
    expect(TRANSIENT_STATES.map((state) => [state, assumedPreviousState(state)])).toEqual([
      ['storing', 'registered'],
      ['starting', 'stopped'],
      ['stopping', 'running'],
      ['suspending', 'running'],
      ['resuming', 'suspended'],
      // migration is settled by its orchestrator, never from a guess
      ['migrating', null],
      ['deleting', 'stopped'],
    ]);
    // Each guess is a real start of that transient: beginning some action there passes through it.
    for (const transient of TRANSIENT_STATES) {
      const from = assumedPreviousState(transient);
      if (!from) continue;
      expect(
        ACTIONS.some((action) => {
          const begun = beginAction({ state: from, version: 1 }, action);
          return begun.ok && begun.transient === transient;
        }),
      ).toBe(true);
    }
    // States at rest have none.
    expect(
      STATES.filter((state) => !isTransient(state))
        .map(assumedPreviousState)
        .every((state) => state === null),
    ).toBe(true);
  });
});

describe('the version rule on the agent', () => {
  it('a run that ended adds one, as a stop or suspend does on the front-end', () => {
    // v7 run ended → v8; a stop of running v7 completes at stopped v8, a suspend at suspended v8.
    expect(versionAfterRunEnded(7)).toBe(8);
    expect(perform({ state: 'running', version: 7 }, 'stop')).toEqual({ state: 'stopped', version: versionAfterRunEnded(7) });
    expect(perform({ state: 'running', version: 7 }, 'suspend')).toEqual({ state: 'suspended', version: versionAfterRunEnded(7) });
    expect(applyEvent({ state: 'running', version: 7 }, 'guestPoweredOff').version).toBe(versionAfterRunEnded(7));
  });
});
