import { describe, expect, it } from 'vitest';
import type { MarketHost } from './matching';
import {
  heartbeatOverdue,
  methodOffered,
  migrationCandidates,
  migrationOrphaned,
  nextProgress,
  progressPercent,
  recoveryDecision,
  respVersionAccepted,
  secondsLeft,
} from './migration';
import type { HostPrices } from './pricing';

const MB = 1024 * 1024;

describe('migration progress: percent and seconds left', () => {
  it('a 64 MB copy reported by heartbeats reads 0 %, then 25 %, then 100 %, with the time left at the last rate', () => {
    let progress = { bytesDone: 0, bytesTotal: 0, bytesPerSecond: 0 };
    // Before the origin exported, nothing is known.
    expect(progressPercent(progress)).toBe(0);
    expect(secondsLeft(progress)).toBeNull();
    progress = nextProgress(progress, { bytesDone: 16 * MB, bytesTotal: 64 * MB, bytesPerSecond: 8 * MB });
    expect(progressPercent(progress)).toBe(25);
    expect(secondsLeft(progress)).toBe(6);
    // A late heartbeat (sent before the one above) does not move the bar back.
    progress = nextProgress(progress, { bytesDone: 8 * MB, bytesTotal: 64 * MB, bytesPerSecond: 1 * MB });
    expect(progress.bytesDone).toBe(16 * MB);
    expect(secondsLeft(progress)).toBe(6);
    progress = nextProgress(progress, { bytesDone: 63 * MB + 1, bytesTotal: 64 * MB, bytesPerSecond: 10 * MB });
    // Not 100 until every byte is there; a partial second left is a second.
    expect(progressPercent(progress)).toBe(98);
    expect(secondsLeft(progress)).toBe(1);
    progress = nextProgress(progress, { bytesDone: 64 * MB, bytesTotal: 64 * MB, bytesPerSecond: 10 * MB });
    expect(progressPercent(progress)).toBe(100);
    expect(secondsLeft(progress)).toBe(0);
  });

  it('a stalled copy (rate 0) has no time left to show', () => {
    expect(secondsLeft({ bytesDone: MB, bytesTotal: 2 * MB, bytesPerSecond: 0 })).toBeNull();
  });
});

describe('heartbeat watchdog', () => {
  const window = 15_000;
  const t0 = Date.parse('2026-12-05T10:00:00Z');
  it('a transfer heard from within the window goes on; silent longer than the window it fails', () => {
    const m = { phase: 'transferring', lastHeartbeatAt: t0, transferringSince: t0 - 1000 };
    expect(heartbeatOverdue(m, t0 + 14_000, window)).toBe(false);
    expect(heartbeatOverdue(m, t0 + 15_000, window)).toBe(false);
    expect(heartbeatOverdue(m, t0 + 15_001, window)).toBe(true);
  });
  it('no heartbeat at all: the window runs from when the transfer began', () => {
    expect(heartbeatOverdue({ phase: 'transferring', lastHeartbeatAt: null, transferringSince: t0 }, t0 + 16_000, window)).toBe(true);
  });
  it('preparing, committing and finished migrations are not watched', () => {
    for (const phase of ['preparing', 'committing', 'committed', 'rolled-back']) {
      expect(heartbeatOverdue({ phase, lastHeartbeatAt: t0, transferringSince: t0 }, t0 + 60_000, window)).toBe(false);
    }
  });
});

describe('recovery after a front-end restart: exactly one outcome', () => {
  const origin = { role: 'origin' as const, phase: 'exported' as const };
  it('the destination verified a copy at version + 1: commit', () => {
    expect(recoveryDecision(3, { role: 'destination', phase: 'verified', version: 4 }, origin).outcome).toBe('commit');
  });
  it('a verified copy at another version: roll back (versions never skip, report §7.1.5)', () => {
    expect(recoveryDecision(3, { role: 'destination', phase: 'verified', version: 5 }, origin).outcome).toBe('rollback');
  });
  it('still pulling, failed, prepared, never heard of it, or unreachable: roll back', () => {
    for (const phase of ['prepared', 'pulling', 'failed', 'none'] as const) {
      expect(recoveryDecision(3, { role: phase === 'none' ? 'none' : 'destination', phase }, origin).outcome).toBe('rollback');
    }
    const unreachable = recoveryDecision(3, null, origin);
    expect(unreachable.outcome).toBe('rollback');
    expect(unreachable.reason).toMatch(/could not be asked/);
  });
  it('the origin unreachable does not change a verified destination: the copy there is whole', () => {
    expect(recoveryDecision(3, { role: 'destination', phase: 'verified', version: 4 }, null).outcome).toBe('commit');
  });
  it('a RESP SUCCESS commits only at fromVersion + 1', () => {
    expect(respVersionAccepted(3, 4)).toBe(true);
    expect(respVersionAccepted(3, 3)).toBe(false);
    expect(respVersionAccepted(3, 5)).toBe(false);
  });
});

describe('orphans: migrations whose orchestrating replica is gone', () => {
  const phases = ['preparing', 'transferring', 'committing', 'committed', 'rolled-back'] as const;
  it('a living orchestrator keeps every phase of its migration, whenever the leader looks', () => {
    for (const phase of phases) {
      expect(migrationOrphaned({ phase, orchestratorAlive: true }, 'taking-the-lead')).toBe(false);
      expect(migrationOrphaned({ phase, orchestratorAlive: true }, 'watch-pass')).toBe(false);
    }
  });
  it('on taking the lead: every unfinished migration of a gone orchestrator, none that ended', () => {
    expect(phases.filter((phase) => migrationOrphaned({ phase, orchestratorAlive: false }, 'taking-the-lead'))).toEqual([
      'preparing',
      'transferring',
      'committing',
    ]);
  });
  it('at a watch pass: only a preparing one (transfers and commits keep their windows)', () => {
    expect(phases.filter((phase) => migrationOrphaned({ phase, orchestratorAlive: false }, 'watch-pass'))).toEqual(['preparing']);
  });
});

describe('migrate search (fig. 20)', () => {
  const prices = (storageUnitPrice: string, speedUnitPrice: string): HostPrices => ({
    speedUnit: 1000,
    speedUnitPrice,
    memoryUnit: 4,
    memoryUnitPrice: '0.00001',
    runningUnitAmount: 3600,
    storageUnit: 100,
    storageUnitPrice,
    storageAmount: 30,
  });
  const host = (name: string, p: HostPrices, free = 10000): MarketHost => ({
    id: `id-${name}`,
    name,
    prices: p,
    total: { speed: 10000, memory: 1024, storage: 10000 },
    reserved: { speed: 10000 - free, memory: 0, storage: 0 },
  });
  const size = { speed: 4000, memory: 256, disk: 1000 };
  it('lists every other host with room, cheapest first, above the asked prices too, flagging those within them', () => {
    const hosts = [
      host('virt8', prices('0.01', '0.00001')),
      host('dear', prices('0.5', '0.001')),
      host('cheap', prices('0.001', '0.000001')),
      host('full', prices('0.001', '0.000001'), 100),
    ];
    const asked = { storagePerMonth: '60', runningPerHour: '10.11' };
    const offers = migrationCandidates(hosts, size, 'id-virt8', asked);
    expect(offers.map((o) => o.host.name)).toEqual(['cheap', 'dear']);
    expect(offers.map((o) => o.withinAsked)).toEqual([true, false]);
  });
  it('a method is chosen only among those the host answered', () => {
    expect(methodOffered(['SCP', 'RSYNC'], 'RSYNC')).toBe(true);
    expect(methodOffered([], 'SCP')).toBe(false);
  });
});
