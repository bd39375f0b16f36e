import { type MachineState, assumedPreviousState } from './lifecycle';

/**
 * How the reconciler settles a machine from what its agent reports (docs/ARCHITECTURE.md §3: one
 * action sets where the machine should go and the reconciler moves it; no action leaves a machine
 * in a transient state for good). Pure functions,
 * so every rule has a scenario test (lifecycle-settle.spec.ts). The agent is the truth about the
 * VM; the version it reports counts runs that ended (stop, suspend, power-off, crash), which is
 * exactly what the front-end's version counts after the store.
 */

/** A machine as its agent reports it; 'absent' = the agent holds no such machine. */
export const REPORTED_VM_STATES = ['stopped', 'running', 'paused', 'suspended', 'absent'] as const;
export type ReportedVmState = (typeof REPORTED_VM_STATES)[number];

/** Whether a reported VM's guest runs (a paused one is a running one the VMM holds still). */
export function reportedRunning(state: ReportedVmState): boolean {
  return state === 'running' || state === 'paused';
}

export interface MachineView {
  state: MachineState;
  previousState: MachineState | null;
  version: number;
}

/** What the agent's last heartbeat says of the machine; `absent` when it does not list it. */
export interface Seen {
  state: ReportedVmState;
  version: number;
}

export interface Settlement {
  state: MachineState;
  version: number;
  /** Give the host its reserved resources back (the machine left it: store undone, or deleted). */
  release: boolean;
  /** Forget host and fixed prices (back to registered). */
  unstore: boolean;
  /** Why, for the log and lastError. */
  note: string;
}

const settlement = (state: MachineState, version: number, note: string, extra: Partial<Settlement> = {}): Settlement => ({
  state,
  version,
  release: false,
  unstore: false,
  note,
  ...extra,
});

/** What the agent's report means for a machine that exists there. */
function present(machine: MachineView, seen: Seen, from: MachineState): Settlement {
  switch (seen.state) {
    case 'running':
    case 'paused':
      return settlement('running', seen.version, 'the agent reports it running');
    case 'suspended':
      return settlement('suspended', seen.version, 'the agent reports it suspended');
    default: {
      // Stopped on the agent: never run since the store → stored; else stopped.
      const neverRan = machine.state === 'storing' || (from === 'stored' && seen.version === machine.version);
      return settlement(neverRan ? 'stored' : 'stopped', seen.version, `the agent reports it ${neverRan ? 'stored' : 'stopped'}`);
    }
  }
}

/**
 * A machine whose action outlived its timeout, settled from a heartbeat that arrived after the
 * action began. null: nothing to do (migrations belong to the migration orchestrator).
 */
export function settleTransient(machine: MachineView, seen: Seen): Settlement | null {
  if (machine.state === 'migrating') return null;
  const from = machine.previousState ?? assumedPreviousState(machine.state);
  if (!from) return null;
  if (seen.state === 'absent') {
    if (machine.state === 'storing') {
      return settlement('registered', machine.version, 'the agent does not hold it: the store did not happen', { release: true, unstore: true });
    }
    if (machine.state === 'deleting') return settlement('deleted', machine.version, 'the agent no longer holds it: deleted', { release: true });
    return settlement(from, machine.version, 'the agent does not hold it');
  }
  return present(machine, seen, from);
}

/**
 * A machine whose action outlived its timeout while its agent sent nothing since: back where the
 * action started (a store is undone), as a failed action would be. A later heartbeat corrects it.
 */
export function abandonTransient(machine: MachineView): Settlement | null {
  if (machine.state === 'migrating') return null;
  const from = machine.previousState ?? assumedPreviousState(machine.state);
  if (!from) return null;
  if (machine.state === 'storing') {
    return settlement('registered', machine.version, 'the agent did not answer and has sent no heartbeat since: the store is undone', {
      release: true,
      unstore: true,
    });
  }
  return settlement(from, machine.version, `the agent did not answer and has sent no heartbeat since: back to ${from}`);
}

/**
 * A machine at rest that its agent reports otherwise, from a heartbeat taken after the machine's
 * last change. Versions tell old news from new: a run that ended raised the agent's version.
 */
export function settleAtRest(machine: MachineView, seen: Seen): Settlement | null {
  if (seen.state === 'absent') return null;
  const runs = reportedRunning(seen.state);
  switch (machine.state) {
    case 'running':
      if (seen.state === 'stopped' && seen.version > machine.version) {
        return settlement('stopped', seen.version, 'the agent reports it stopped (a power-off event was missed)');
      }
      if (seen.state === 'suspended' && seen.version > machine.version) return settlement('suspended', seen.version, 'the agent reports it suspended');
      return null;
    case 'stored':
    case 'stopped':
    case 'suspended': {
      if (runs && seen.version === machine.version) return settlement('running', seen.version, 'the agent reports it running');
      const same = machine.state === 'suspended' ? seen.state === 'suspended' : seen.state === 'stopped';
      if (same && seen.version !== machine.version) {
        return settlement(machine.state, seen.version, `the agent holds version ${seen.version}, not ${machine.version}`);
      }
      return null;
    }
    default:
      return null;
  }
}
