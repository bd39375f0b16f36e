// Pure rules of the "my computers" page: grouping by state and the buttons each state allows.
import { formatDuration } from './format';
import { type MachineAction, TRANSIENT_STATES, stateGroups } from '@virtuoso/domain';

/** Display order of the groups (report fig. 19): settled states first, transient ones after. */
export const STATE_ORDER: readonly string[] = stateGroups;

/** States the machine passes through on its own: the page polls while any machine is in one. */
export function isTransient(state: string): boolean {
  return (TRANSIENT_STATES as readonly string[]).includes(state);
}

export interface StateGroup<M> {
  state: string;
  machines: M[];
}

/**
 * Groups machines by state in STATE_ORDER; states the SPA does not know yet come last in the
 * order first seen; deleted machines are left out. Order within a group is kept.
 */
export function groupByState<M extends { state: string }>(machines: readonly M[]): StateGroup<M>[] {
  const byState = new Map<string, M[]>();
  for (const machine of machines) {
    if (machine.state === 'deleted') continue;
    const list = byState.get(machine.state);
    if (list) list.push(machine);
    else byState.set(machine.state, [machine]);
  }
  const known: string[] = [...STATE_ORDER];
  const order = [...known, ...[...byState.keys()].filter((state) => !known.includes(state))];
  return order.filter((state) => byState.has(state)).map((state) => ({ state, machines: byState.get(state)! }));
}

/** "Your registered machines" — the heading of a group (report fig. 9). */
export function groupTitle(state: string): string {
  return `Your ${state} machines`;
}

/** Whether the machine has been placed on a host (prices fixed) or is still a bid. */
export function hasFixedPrices(machine: { storagePrice: string | null; runningPrice: string | null }): boolean {
  return machine.storagePrice != null && machine.runningPrice != null;
}

/** What the SPA offers: the lifecycle's actions, plus a forced stop (a stop with `{"force": true}`). */
export type UiAction =
  | Extract<MachineAction, 'edit' | 'searchProviders' | 'start' | 'stop' | 'reboot' | 'reset' | 'suspend' | 'resume' | 'console' | 'migrate' | 'delete'>
  | 'forceStop';

/** Commands sent as POST /api/machines/{id}/{command} (force stop is a stop with `{"force": true}`). */
export type MachineCommand = Extract<MachineAction, 'start' | 'stop' | 'reboot' | 'reset' | 'suspend' | 'resume'> | 'forceStop';

export const ACTION_LABELS: Record<UiAction, string> = {
  edit: 'Edit configuration',
  searchProviders: 'Search providers',
  start: 'Start',
  stop: 'Stop',
  forceStop: 'Force stop',
  reboot: 'Reboot',
  reset: 'Reset',
  suspend: 'Suspend',
  resume: 'Resume',
  console: 'Console',
  migrate: 'Migrate',
  delete: 'Delete',
};

/** What a button says from the click until the answer, so the user sees at once that it acts. */
export const PENDING_LABELS: Record<MachineCommand, string> = {
  start: 'Starting…',
  stop: 'Stopping…',
  forceStop: 'Forcing off…',
  reboot: 'Rebooting…',
  reset: 'Resetting…',
  suspend: 'Suspending…',
  resume: 'Resuming…',
};

/** Commands that lose the guest's unsaved work: the page asks before sending them. */
export const CONFIRM_COMMANDS: Partial<Record<MachineCommand, string>> = {
  reset: 'Reset it now? Like pressing a reset button: the guest restarts at once and unsaved work in it is lost.',
  forceStop: 'Force it off now? Like pulling the plug: the guest is not asked to shut down and unsaved work in it is lost.',
};

const UI_ORDER: UiAction[] = ['searchProviders', 'edit', 'start', 'resume', 'console', 'stop', 'reboot', 'suspend', 'reset', 'forceStop', 'migrate', 'delete'];

/**
 * The buttons to show for a machine, from the actions its state allows. Only allowed actions
 * appear. "store" needs a chosen host, so it is reached through the provider search: either
 * action shows the one "Search providers" button. "Console" links to the console page (the
 * report's viewmachine, fig. 17). Force stop is a stop without the ACPI wait, offered wherever a
 * stop is. "Migrate" links to the migrate page (fig. 20), shown when the state allows it.
 */
export function uiActions(allowedActions: readonly string[]): UiAction[] {
  const allowed = new Set(allowedActions);
  return UI_ORDER.filter((action) => {
    if (action === 'searchProviders') return allowed.has('searchProviders') || allowed.has('store');
    if (action === 'forceStop') return allowed.has('stop');
    return allowed.has(action);
  });
}

/** Actions carried out by the host's agent: impossible while the host is offline. */
// A migration needs the origin's agent too: it exports the machine (report §7.3.2).
const NEEDS_AGENT = new Set<UiAction>(['start', 'stop', 'forceStop', 'reboot', 'reset', 'suspend', 'resume', 'console', 'migrate']);

/**
 * Why the machine's agent actions are disabled, or null when they are not: its host is offline
 * (its agent sends no heartbeats), so a command would only fail.
 */
export function offlineReason(machine: { host: { name: string; online: boolean } | null }): string | null {
  if (!machine.host || machine.host.online) return null;
  return `${machine.host.name} is offline: its provider agent is not answering. Start, stop, the console and migrating are possible again once it is back.`;
}

export function needsAgent(action: UiAction): boolean {
  return NEEDS_AGENT.has(action);
}

/**
 * What a stop of a machine without an operating system means: nothing answers the ACPI power
 * button, so the API forces it off after `stopTimeoutSeconds`. Null for a machine with an OS.
 */
export function stopNote(machine: { hasOperatingSystem?: boolean; stopTimeoutSeconds?: number }): string | null {
  if (machine.hasOperatingSystem !== false) return null;
  const after = machine.stopTimeoutSeconds != null ? `after ${formatDuration(machine.stopTimeoutSeconds * 1000)}` : 'after a timeout';
  return `This machine has no operating system to answer the power button: a stop forces it off ${after}. Force stop does it at once.`;
}

/** What to tell the buyer after a store: done, or under way. */
export function storedNotice(machine: { name: string; state: string; host: { name: string } | null }): string {
  const where = machine.host ? ` on ${machine.host.name}` : '';
  return machine.state === 'storing' ? `${machine.name} is being stored${where}.` : `${machine.name} is stored${where}.`;
}

export function isCommand(action: UiAction): action is MachineCommand {
  return action in PENDING_LABELS;
}
