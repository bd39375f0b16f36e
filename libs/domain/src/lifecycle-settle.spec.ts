import { describe, expect, it } from 'vitest';
import { REPORTED_VM_STATES, abandonTransient, reportedRunning, settleAtRest, settleTransient } from './lifecycle-settle';
import { vcpusFor } from './vcpus';

/**
 * The reconciler's rules, one scenario each. Versions: stored at 1; a stop or suspend (or a guest
 * power-off) ends a run and adds 1 on both the front-end and the agent.
 */
describe('settling a machine whose action outlived its timeout', () => {
  it('storing: the agent holds it stopped at the stored version → stored; absent → registered, resources released', () => {
    // Store of a registered machine (version 0) tells the agent version 1.
    expect(settleTransient({ state: 'storing', previousState: 'registered', version: 0 }, { state: 'stopped', version: 1 })).toMatchObject({
      state: 'stored',
      version: 1,
      release: false,
      unstore: false,
    });
    expect(settleTransient({ state: 'storing', previousState: 'registered', version: 0 }, { state: 'absent', version: 0 })).toMatchObject({
      state: 'registered',
      version: 0,
      release: true,
      unstore: true,
    });
  });

  it('starting from stored: running → running; stopped at the same version → back to stored; at a higher version → it ran and ended: stopped', () => {
    const starting = { state: 'starting', previousState: 'stored', version: 1 } as const;
    expect(settleTransient(starting, { state: 'running', version: 1 })).toMatchObject({ state: 'running', version: 1 });
    expect(settleTransient(starting, { state: 'paused', version: 1 })).toMatchObject({ state: 'running', version: 1 });
    expect(settleTransient(starting, { state: 'stopped', version: 1 })).toMatchObject({ state: 'stored', version: 1 });
    // Started, then the guest powered off before anyone looked: 1 + 1 = 2.
    expect(settleTransient(starting, { state: 'stopped', version: 2 })).toMatchObject({ state: 'stopped', version: 2 });
  });

  it("stopping and suspending take the agent's version; still running → back to running", () => {
    expect(settleTransient({ state: 'stopping', previousState: 'running', version: 3 }, { state: 'stopped', version: 4 })).toMatchObject({
      state: 'stopped',
      version: 4,
    });
    expect(settleTransient({ state: 'stopping', previousState: 'running', version: 3 }, { state: 'running', version: 3 })).toMatchObject({
      state: 'running',
      version: 3,
    });
    expect(settleTransient({ state: 'suspending', previousState: 'running', version: 3 }, { state: 'suspended', version: 4 })).toMatchObject({
      state: 'suspended',
      version: 4,
    });
    expect(settleTransient({ state: 'resuming', previousState: 'suspended', version: 4 }, { state: 'suspended', version: 4 })).toMatchObject({
      state: 'suspended',
      version: 4,
    });
  });

  it('deleting: absent → deleted with resources released; still there → back where it was', () => {
    expect(settleTransient({ state: 'deleting', previousState: 'stopped', version: 2 }, { state: 'absent', version: 2 })).toMatchObject({
      state: 'deleted',
      release: true,
      unstore: false,
    });
    expect(settleTransient({ state: 'deleting', previousState: 'stopped', version: 2 }, { state: 'stopped', version: 2 })).toMatchObject({
      state: 'stopped',
      version: 2,
      release: false,
    });
  });

  it("a machine the agent does not hold goes back where its action started; migrations are not the reconciler's", () => {
    expect(settleTransient({ state: 'starting', previousState: 'stopped', version: 2 }, { state: 'absent', version: 2 })).toMatchObject({
      state: 'stopped',
      version: 2,
    });
    expect(settleTransient({ state: 'migrating', previousState: 'stored', version: 1 }, { state: 'stopped', version: 1 })).toBeNull();
  });

  it('a lost previousState: settled from the state its action most likely started from', () => {
    // starting, previousState lost: assumed from stopped. Agent stopped at 2 = the version the
    // machine had (2): a stopped machine that did not start → back to stopped (not stored).
    expect(settleTransient({ state: 'starting', previousState: null, version: 2 }, { state: 'stopped', version: 2 })).toMatchObject({
      state: 'stopped',
      version: 2,
    });
    // resuming, lost: assumed from suspended; the agent does not hold it → suspended, version kept.
    expect(settleTransient({ state: 'resuming', previousState: null, version: 4 }, { state: 'absent', version: 4 })).toMatchObject({
      state: 'suspended',
      version: 4,
      release: false,
    });
    // A machine at rest has no action to settle.
    expect(settleTransient({ state: 'stopped', previousState: null, version: 4 }, { state: 'running', version: 4 })).toBeNull();
    expect(abandonTransient({ state: 'running', previousState: null, version: 4 })).toBeNull();
    expect(abandonTransient({ state: 'migrating', previousState: 'stored', version: 1 })).toBeNull();
  });

  it('a silent agent: back where the action started (a store undone)', () => {
    expect(abandonTransient({ state: 'starting', previousState: 'stored', version: 1 })).toMatchObject({ state: 'stored', version: 1 });
    expect(abandonTransient({ state: 'storing', previousState: 'registered', version: 0 })).toMatchObject({
      state: 'registered',
      release: true,
      unstore: true,
    });
    expect(abandonTransient({ state: 'stopping', previousState: null, version: 3 })).toMatchObject({ state: 'running', version: 3 });
  });
});

describe('settling a machine at rest that its agent reports otherwise', () => {
  it("running, agent stopped at a higher version: a missed power-off → stopped at the agent's version", () => {
    // Running at 2; the guest powered off: the agent counts 3.
    expect(settleAtRest({ state: 'running', previousState: null, version: 2 }, { state: 'stopped', version: 3 })).toMatchObject({
      state: 'stopped',
      version: 3,
    });
  });

  it('ignores old news: a heartbeat from before a start (stopped at the same version) changes nothing', () => {
    expect(settleAtRest({ state: 'running', previousState: null, version: 2 }, { state: 'stopped', version: 2 })).toBeNull();
    // And one from before a stop completed (running at the old version).
    expect(settleAtRest({ state: 'stopped', previousState: null, version: 3 }, { state: 'running', version: 2 })).toBeNull();
  });

  it("stored or stopped but running on the agent at the same version → running; a version that differs is the agent's", () => {
    expect(settleAtRest({ state: 'stopped', previousState: null, version: 3 }, { state: 'running', version: 3 })).toMatchObject({
      state: 'running',
      version: 3,
    });
    expect(settleAtRest({ state: 'stored', previousState: null, version: 5 }, { state: 'stopped', version: 1 })).toMatchObject({ state: 'stored', version: 1 });
    expect(settleAtRest({ state: 'suspended', previousState: null, version: 4 }, { state: 'suspended', version: 4 })).toBeNull();
    expect(settleAtRest({ state: 'stored', previousState: null, version: 1 }, { state: 'absent', version: 1 })).toBeNull();
  });
});

describe('what the agent reports', () => {
  it('a running or paused VM runs; stopped, suspended or absent ones do not', () => {
    expect(REPORTED_VM_STATES.filter(reportedRunning)).toEqual(['running', 'paused']);
  });
});

describe('vCPUs from speed', () => {
  it("uses as many of the host's CPUs as the speed needs (2 CPUs of 5199.5 bogomips here), at least 1", () => {
    // 10399 / 2 = 5199.5 bogomips per CPU: 2000 → ⌈0.38⌉ = 1; 5199 → ⌈0.9999⌉ = 1; 5200 → ⌈1.0001⌉ = 2;
    // 50000 → ⌈9.6⌉ = 10, capped at the host's 2 CPUs.
    const facts = { bogomips: 10399, cpus: 2, memoryMb: 1, freeDiskMb: 1, accelerator: 'tcg', agentVersion: '0', hostname: 'h' };
    expect(vcpusFor(2000, facts)).toBe(1);
    expect(vcpusFor(5199, facts)).toBe(1);
    expect(vcpusFor(5200, facts)).toBe(2);
    expect(vcpusFor(50_000, facts)).toBe(2);
    expect(vcpusFor(4000, null)).toBe(1);
    // Facts that cannot be divided (no CPU or no bogomips measured): 1.
    expect(vcpusFor(4000, { bogomips: 10399, cpus: 0 })).toBe(1);
    expect(vcpusFor(4000, { bogomips: 0, cpus: 2 })).toBe(1);
  });
});
