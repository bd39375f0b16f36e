/**
 * The machine lifecycle (report §4, §6.1.7) as one transition table. The report's `started` is
 * our `running`. Every action that changes state passes through a transient state while the
 * provider works, then settles: on success at its target, on failure back where it left.
 */
export const STATES = [
  'registered',
  'storing',
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
  'deleted',
] as const;
export type MachineState = (typeof STATES)[number];

export const ACTIONS = ['edit', 'searchProviders', 'store', 'start', 'stop', 'reboot', 'reset', 'suspend', 'resume', 'console', 'migrate', 'delete'] as const;
export type MachineAction = (typeof ACTIONS)[number];

export type MachineEvent = 'guestPoweredOff';

/** `via` is the state held while the action is under way; for instant actions via === to. */
interface Step {
  via: MachineState;
  to: MachineState;
}
const stay = (state: MachineState): Step => ({ via: state, to: state });
const through = (via: MachineState, to: MachineState): Step => ({ via, to });

/** The one table: which actions each state allows and where each leads. Absent = refused. */
const TRANSITIONS: { readonly [S in MachineState]: Readonly<Partial<Record<MachineAction, Step>>> } = {
  registered: {
    edit: stay('registered'),
    searchProviders: stay('registered'),
    store: through('storing', 'stored'),
    // Nothing exists on a provider yet, so there is nothing to wait for.
    delete: through('deleted', 'deleted'),
  },
  stored: {
    start: through('starting', 'running'),
    migrate: through('migrating', 'stored'),
    delete: through('deleting', 'deleted'),
  },
  running: {
    // A forced stop is a stop too: same states, same version, same end of the running slice.
    stop: through('stopping', 'stopped'),
    // Reboot (Ctrl-Alt-Del asked of the guest) and reset (the VMM's reset line) restart the guest
    // inside the same VMM run: the machine stays running and its version does not change.
    reboot: stay('running'),
    reset: stay('running'),
    suspend: through('suspending', 'suspended'),
    console: stay('running'),
  },
  stopped: {
    start: through('starting', 'running'),
    migrate: through('migrating', 'stopped'),
    delete: through('deleting', 'deleted'),
  },
  suspended: {
    resume: through('resuming', 'running'),
    migrate: through('migrating', 'suspended'),
    delete: through('deleting', 'deleted'),
  },
  storing: {},
  starting: {},
  stopping: {},
  suspending: {},
  resuming: {},
  migrating: {},
  deleting: {},
  deleted: {},
};

/** The in-between states: an action is under way, and the machine settles on its own (the SPA polls meanwhile). */
export const TRANSIENT_STATES: readonly MachineState[] = ['storing', 'starting', 'stopping', 'suspending', 'resuming', 'migrating', 'deleting'];

/** Order of the groups on a "my computers" page; deleted machines are not listed. */
export const stateGroups: readonly MachineState[] = ['registered', 'stored', 'running', 'stopped', 'suspended', ...TRANSIENT_STATES];

export function isTransient(state: MachineState): boolean {
  return TRANSIENT_STATES.includes(state);
}

/**
 * States in which the machine is stored on a host and charged for storage: from a completed store
 * until it is deleted or the store is undone. A store under way is not billed yet; a delete under
 * way still is.
 */
export const BILLED_STATES: ReadonlySet<MachineState> = new Set<MachineState>([
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

/**
 * States in which the guest runs and is charged for running time: a stop or suspend under way has
 * not ended the run yet; a start or resume under way has not begun it.
 */
export const VM_RUNNING_STATES: ReadonlySet<MachineState> = new Set<MachineState>(['running', 'stopping', 'suspending']);

/**
 * States in which a copy of the machine is (or is being made) on its host: what the reconciler
 * compares with the agent's report. Everything but registered (nothing on a host yet) and deleted.
 */
export const HOSTED_STATES: ReadonlySet<MachineState> = new Set<MachineState>(STATES.filter((state) => state !== 'registered' && state !== 'deleted'));

/**
 * The state a transient one was most likely entered from, for a machine whose recorded
 * previousState was lost: the state its action starts from (for a start or delete, which several
 * states allow, the stopped machine; a store is always of a registered one). Migration has none:
 * the migration orchestrator, not a guess, settles it.
 */
const ASSUMED_PREVIOUS: Partial<Record<MachineState, MachineState>> = {
  storing: 'registered',
  starting: 'stopped',
  stopping: 'running',
  suspending: 'running',
  resuming: 'suspended',
  deleting: 'stopped',
};

/** A transient state's previous state when the record of it was lost; null for other states and for migrating. */
export function assumedPreviousState(transient: MachineState): MachineState | null {
  return ASSUMED_PREVIOUS[transient] ?? null;
}

export function allowedActions(state: MachineState): MachineAction[] {
  return ACTIONS.filter((action) => TRANSITIONS[state]?.[action] !== undefined);
}

export function isAllowed(state: MachineState, action: MachineAction): boolean {
  return TRANSITIONS[state]?.[action] !== undefined;
}

/** New contents are one more version: the one place the version grows. */
function nextVersion(version: number): number {
  return version + 1;
}

/**
 * The version counts the machine's contents (report §4): it grows by 1 when the machine becomes
 * stored, stopped or suspended, or arrives at a migration destination — and at no other time.
 */
function versionAfter(step: Step, version: number): number {
  const arrives = step.via === 'migrating' || step.to === 'stored' || step.to === 'stopped' || step.to === 'suspended';
  return arrives && step.via !== step.to ? nextVersion(version) : version;
}

/**
 * The version rule as the provider's agent applies it: a run that ended (stop, suspend, guest
 * power-off, crash, or an end nobody watched) may have changed the disk, so the machine's version
 * grows by one — the same step the front-end takes when the machine becomes stopped or suspended.
 */
export function versionAfterRunEnded(version: number): number {
  return nextVersion(version);
}

export interface MachineStatus {
  state: MachineState;
  version: number;
}

export type BeginResult =
  | {
      ok: true;
      action: MachineAction;
      previousState: MachineState;
      /** Store this while the action is under way (equals target for instant actions). */
      transient: MachineState;
      target: MachineState;
      /** false for edit, searchProviders, console, reboot and reset: nothing to complete. */
      changesState: boolean;
    }
  | { ok: false; reason: string; allowed: MachineAction[] };

export function beginAction(machine: MachineStatus, action: MachineAction): BeginResult {
  const step = TRANSITIONS[machine.state]?.[action];
  if (!step) {
    const allowed = allowedActions(machine.state);
    const reason = `Cannot ${action} a machine that is ${machine.state}; allowed: ${allowed.join(', ') || 'none'}`;
    return { ok: false, reason, allowed };
  }
  return {
    ok: true,
    action,
    previousState: machine.state,
    transient: step.via,
    target: step.to,
    changesState: step.to !== machine.state,
  };
}

/**
 * Settles a machine in a transient state. previousState is the state the action left, which
 * identifies the action (each transient is reached from a given state by one action only).
 * A failure returns to previousState with the version unchanged.
 */
export function completeAction(machine: MachineStatus & { previousState: MachineState }, outcome: 'succeeded' | 'failed'): MachineStatus {
  if (!isTransient(machine.state)) {
    throw new RangeError(`A machine that is ${machine.state} has no action to complete`);
  }
  const step = Object.values(TRANSITIONS[machine.previousState] ?? {}).find((candidate) => candidate.via === machine.state);
  if (!step) {
    throw new RangeError(`A machine cannot be ${machine.state} after being ${machine.previousState}`);
  }
  if (outcome === 'failed') return { state: machine.previousState, version: machine.version };
  return { state: step.to, version: versionAfter(step, machine.version) };
}

/**
 * Events the provider reports without being asked. A guest that powers itself off while running
 * is stopped (version + 1) and stops costing running time. In any other state the event changes
 * nothing: e.g. during `stopping` the stop itself settles the machine.
 */
export function applyEvent(machine: MachineStatus, event: MachineEvent): MachineStatus & { changed: boolean } {
  if (event === 'guestPoweredOff' && machine.state === 'running') {
    // Settles exactly as a successful stop would.
    const stop = TRANSITIONS.running.stop as Step;
    return { state: stop.to, version: versionAfter(stop, machine.version), changed: true };
  }
  return { state: machine.state, version: machine.version, changed: false };
}
