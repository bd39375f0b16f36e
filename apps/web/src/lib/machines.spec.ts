import { describe, expect, it } from 'vitest';
import { STATES, TRANSIENT_STATES } from '@virtuoso/domain';
import { groupByState, groupTitle, isTransient, offlineReason, stopNote, uiActions } from './machines';

const m = (name: string, state: string) => ({ name, state });

describe('groupByState', () => {
  it('orders groups registered, stored, running, stopped, suspended, then transient states', () => {
    const machines = [
      m('a', 'running'),
      m('b', 'storing'),
      m('c', 'registered'),
      m('d', 'suspended'),
      m('e', 'stopped'),
      m('f', 'stored'),
      m('g', 'migrating'),
      m('h', 'registered'),
    ];
    const groups = groupByState(machines);
    expect(groups.map((g) => g.state)).toEqual(['registered', 'stored', 'running', 'stopped', 'suspended', 'storing', 'migrating']);
    // Order inside a group is the API's.
    expect(groups[0].machines.map((x) => x.name)).toEqual(['c', 'h']);
  });
  it('leaves deleted machines out and keeps unknown states at the end', () => {
    const groups = groupByState([m('a', 'deleted'), m('b', 'hibernating'), m('c', 'stored')]);
    expect(groups.map((g) => g.state)).toEqual(['stored', 'hibernating']);
  });
  it('returns no groups for no machines', () => {
    expect(groupByState([])).toEqual([]);
  });
  it('titles a group like the report (fig. 9)', () => {
    expect(groupTitle('registered')).toBe('Your registered machines');
  });
});

describe('uiActions', () => {
  it('shows exactly what a registered machine allows, store folded into Search providers', () => {
    expect(uiActions(['edit', 'searchProviders', 'store', 'delete'])).toEqual(['searchProviders', 'edit', 'delete']);
  });
  it('shows console, stop and suspend for a running machine (fig. 17: view, stop, suspend), force stop with stop', () => {
    expect(uiActions(['stop', 'suspend', 'console'])).toEqual(['console', 'stop', 'suspend', 'forceStop']);
  });
  it('shows Reboot and Reset when the running state allows them', () => {
    expect(uiActions(['stop', 'suspend', 'console', 'reboot', 'reset'])).toEqual(['console', 'stop', 'reboot', 'suspend', 'reset', 'forceStop']);
  });
  it('shows start for a stored machine (fig. 12) and resume for a suspended one, each with Migrate (fig. 19)', () => {
    expect(uiActions(['start', 'migrate', 'delete'])).toEqual(['start', 'migrate', 'delete']);
    expect(uiActions(['resume', 'migrate'])).toEqual(['resume', 'migrate']);
  });
  it('shows Migrate only when the state allows it', () => {
    expect(uiActions(['start', 'delete'])).not.toContain('migrate');
  });
  it('shows nothing while migrating (fig. 21)', () => {
    expect(uiActions([])).toEqual([]);
  });
  it('never adds an action the state did not allow', () => {
    for (const allowed of [['edit'], ['start'], ['stop'], ['delete'], ['store']]) {
      const shown = uiActions(allowed);
      // Search providers stands for store; force stop is a stop.
      const stands: Record<string, string[]> = { searchProviders: ['store', 'searchProviders'], forceStop: ['stop'] };
      for (const action of shown) expect((stands[action] ?? [action]).some((a) => allowed.includes(a))).toBe(true);
    }
  });
});

describe('isTransient', () => {
  it('knows the states that move on their own', () => {
    expect(isTransient('storing')).toBe(true);
    expect(isTransient('stored')).toBe(false);
  });

  it('takes the transient states from the lifecycle, and knows nothing of states it has never heard of', () => {
    // The domain's 13 states: 7 transient (storing … deleting), 6 not.
    expect(STATES.filter(isTransient)).toEqual([...TRANSIENT_STATES]);
    expect(isTransient('deleted')).toBe(false);
    expect(isTransient('teleporting')).toBe(false);
  });
});

describe('offlineReason', () => {
  it('says why agent actions are disabled while the host is offline', () => {
    expect(offlineReason({ host: { name: 'virt8', online: false } })).toMatch(/^virt8 is offline/);
  });
  it('has nothing to say for an online host or no host', () => {
    expect(offlineReason({ host: { name: 'virt8', online: true } })).toBeNull();
    expect(offlineReason({ host: null })).toBeNull();
  });
});

describe('stopNote', () => {
  it('tells that a machine without an OS is forced off after the timeout', () => {
    expect(stopNote({ hasOperatingSystem: false, stopTimeoutSeconds: 90 })).toContain('forces it off after 1 minute 30 seconds');
  });
  it('says nothing for a machine with an OS', () => {
    expect(stopNote({ hasOperatingSystem: true, stopTimeoutSeconds: 90 })).toBeNull();
    expect(stopNote({})).toBeNull();
  });
});
