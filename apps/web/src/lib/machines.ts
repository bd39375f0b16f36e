// Pure rules of the "my computers" page: grouping by state and the buttons each state allows.
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

export type UiAction = Extract<MachineAction, 'edit' | 'searchProviders' | 'start' | 'stop' | 'suspend' | 'resume' | 'console' | 'delete'>;

/** Commands sent as POST /api/machines/{id}/{command}. */
export type MachineCommand = Extract<MachineAction, 'start' | 'stop' | 'suspend' | 'resume'>;

export const ACTION_LABELS: Record<UiAction, string> = {
  edit: 'Edit configuration',
  searchProviders: 'Search providers',
  start: 'Start',
  stop: 'Stop',
  suspend: 'Suspend',
  resume: 'Resume',
  console: 'Console',
  delete: 'Delete',
};

const UI_ORDER: UiAction[] = ['searchProviders', 'edit', 'start', 'resume', 'console', 'stop', 'suspend', 'delete'];

/**
 * The buttons to show for a machine, from the actions its state allows. Only allowed actions
 * appear. "store" needs a chosen host, so it is reached through the provider search: either
 * action shows the one "Search providers" button. "Console" links to the console page (the
 * report's viewmachine, fig. 17). Migration belongs to a later page and is not shown here.
 */
export function uiActions(allowedActions: readonly string[]): UiAction[] {
  const allowed = new Set(allowedActions);
  return UI_ORDER.filter((action) => {
    if (action === 'searchProviders') return allowed.has('searchProviders') || allowed.has('store');
    return allowed.has(action);
  });
}

/** What to tell the buyer after a store: done, or under way. */
export function storedNotice(machine: { name: string; state: string; host: { name: string } | null }): string {
  const where = machine.host ? ` on ${machine.host.name}` : '';
  return machine.state === 'storing' ? `${machine.name} is being stored${where}.` : `${machine.name} is stored${where}.`;
}

export function isCommand(action: UiAction): action is MachineCommand {
  return action === 'start' || action === 'stop' || action === 'suspend' || action === 'resume';
}
