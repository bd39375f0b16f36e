import { describe, expect, it } from 'vitest';
import type { Migration, MigrationOffer } from './api';
import {
  arrivalTerms,
  choiceValue,
  defaultChoice,
  formatBytesProgress,
  formatLogLine,
  formatMigrationDuration,
  formatRate,
  formatTimeLeft,
  isActiveMigration,
  methodLabel,
  migrationDurationMs,
  migrationPercent,
  migrationSecondsLeft,
  outcomeLabel,
  outcomeSentence,
  parseChoice,
  phaseWords,
} from './migration';

const MB = 1024 * 1024;

function migration(over: Partial<Migration> = {}): Migration {
  return {
    id: '9b2d3a4c-1111-4a53-9d0e-6c1f0f2f9b11',
    machineId: '0f8fad5b-d9cb-469f-a165-70867728950e',
    fromHostId: 'a',
    fromHostName: 'virt17',
    toHostId: 'b',
    toHostName: 'virt13',
    method: 'RSYNC',
    phase: 'transferring',
    cleanedUp: false,
    previousState: 'stopped',
    fromVersion: 3,
    toVersion: null,
    bytesDone: 16 * MB,
    bytesTotal: 64 * MB,
    bytesPerSecond: 4 * MB,
    secondsLeft: null,
    bytesTransferred: null,
    transferMs: null,
    lastHeartbeatAt: null,
    error: null,
    storagePrice: '3',
    storageAmount: 30,
    runningPrice: '0.2016',
    runningUnitAmount: 3600,
    startedAt: '2026-12-05T10:00:00.000Z',
    finishedAt: null,
    log: [],
    ...over,
  };
}

const offer: MigrationOffer = {
  hostId: 'b',
  hostName: 'virt13',
  owner: 'RsrcProvider',
  processor: 'pentium3',
  connectionSpeed: '1Gbps',
  storagePrice: '3',
  storageAmount: 30,
  runningPrice: '0.2016',
  runningUnitAmount: 3600,
  storagePerMonth: '3',
  runningPerHour: '0.2016',
  withinAsked: true,
  free: { speed: 4000, memory: 512, storage: 10000 },
  methods: ['SCP', 'RSYNC'],
  vmmp: [],
};

describe('migrationPercent', () => {
  it('is the share copied, rounded down', () => {
    expect(migrationPercent(migration({ bytesDone: 16 * MB, bytesTotal: 64 * MB }))).toBe(25);
    expect(migrationPercent(migration({ bytesDone: 64 * MB - 1, bytesTotal: 64 * MB }))).toBe(99);
    expect(migrationPercent(migration({ bytesDone: 64 * MB, bytesTotal: 64 * MB }))).toBe(100);
  });
  it('is unknown until the origin exported (no size yet)', () => {
    expect(migrationPercent(migration({ phase: 'preparing', bytesDone: 0, bytesTotal: 0 }))).toBeNull();
  });
  it('stays within 0–100 whatever the figures', () => {
    expect(migrationPercent(migration({ bytesDone: 80 * MB, bytesTotal: 64 * MB }))).toBe(100);
    expect(migrationPercent(migration({ bytesDone: -5, bytesTotal: 64 * MB }))).toBe(0);
  });
  it('is 100 once committed', () => {
    expect(migrationPercent(migration({ phase: 'committed', bytesDone: 0, bytesTotal: 0 }))).toBe(100);
  });
});

describe('formatRate', () => {
  it('writes bytes per second in binary units', () => {
    expect(formatRate(4 * MB)).toBe('4.00 MB/s');
    expect(formatRate(512)).toBe('512 B/s');
  });
  it('is null before a rate was measured', () => {
    expect(formatRate(0)).toBeNull();
    expect(formatRate(null)).toBeNull();
    expect(formatRate(Number.NaN)).toBeNull();
  });
});

describe('time left', () => {
  it("takes the API's figure when it gave one", () => {
    expect(migrationSecondsLeft(migration({ secondsLeft: 7 }))).toBe(7);
  });
  it('else derives it from what is left at the current rate, rounded up', () => {
    // 48 MB left at 4 MB/s
    expect(migrationSecondsLeft(migration())).toBe(12);
    expect(migrationSecondsLeft(migration({ bytesDone: 63 * MB, bytesPerSecond: 3 * MB }))).toBe(1);
  });
  it('is unknown without a size or a rate', () => {
    expect(migrationSecondsLeft(migration({ bytesPerSecond: 0 }))).toBeNull();
    expect(migrationSecondsLeft(migration({ bytesTotal: 0 }))).toBeNull();
  });
  it('reads as people say it', () => {
    expect(formatTimeLeft(12)).toBe('about 12 seconds left');
    expect(formatTimeLeft(65)).toBe('about 1 minute 5 seconds left');
    expect(formatTimeLeft(0)).toBe('almost done');
    expect(formatTimeLeft(null)).toBe('estimating time left…');
  });
});

describe('formatBytesProgress', () => {
  it('says bytes done of total', () => {
    expect(formatBytesProgress(migration())).toBe('16.0 MB of 64.0 MB');
  });
  it('says what is known before the size is', () => {
    expect(formatBytesProgress(migration({ bytesDone: 0, bytesTotal: 0 }))).toBe('size not known yet');
  });
});

describe('phaseWords', () => {
  it('names each phase with the hosts', () => {
    expect(phaseWords(migration({ phase: 'preparing' }))).toBe('Preparing: room reserved on virt13, virt17 is getting the machine ready to leave');
    expect(phaseWords(migration({ phase: 'transferring' }))).toBe('Copying from virt17 to virt13 by RSYNC');
    expect(phaseWords(migration({ phase: 'committing' }))).toBe('Copied and verified at virt13; making the move final');
    expect(phaseWords(migration({ phase: 'committed' }))).toBe('Arrived at virt13');
    expect(phaseWords(migration({ phase: 'rolled-back' }))).toBe('Rolled back: stayed on virt17');
  });
  it('knows which phases are under way', () => {
    expect(['preparing', 'transferring', 'committing', 'committed', 'rolled-back'].map(isActiveMigration)).toEqual([true, true, true, false, false]);
    expect(isActiveMigration(null)).toBe(false);
  });
});

describe('outcomeSentence / outcomeLabel', () => {
  it('says where it arrived and at which version', () => {
    const done = migration({ phase: 'committed', toVersion: 4 });
    expect(outcomeSentence(done)).toBe('The machine arrived at virt13 at version 4, stopped as it left virt17.');
    expect(outcomeLabel(done)).toBe('Arrived, version 4');
  });
  it('says why it rolled back and where the machine is', () => {
    const failed = migration({ phase: 'rolled-back', error: 'the destination sent no heartbeat for 15 s', previousState: 'suspended' });
    expect(outcomeSentence(failed)).toBe(
      'The migration to virt13 rolled back: the destination sent no heartbeat for 15 s. The machine stayed on virt17 at version 3, suspended.',
    );
    expect(outcomeLabel(failed)).toBe('Rolled back');
  });
  it('does not lose the sentence when no reason was recorded', () => {
    expect(outcomeSentence(migration({ phase: 'rolled-back', error: null }))).toContain('rolled back: no reason was recorded.');
  });
  it('has no outcome while under way', () => {
    expect(outcomeSentence(migration({ phase: 'committing' }))).toBeNull();
    expect(outcomeLabel(migration({ phase: 'preparing' }))).toBe('In progress');
  });
});

describe('durations and log lines', () => {
  it('measures from the request to the end', () => {
    expect(migrationDurationMs(migration({ finishedAt: '2026-12-05T10:00:03.500Z' }))).toBe(3500);
    expect(migrationDurationMs(migration())).toBeNull();
    expect(formatMigrationDuration(3500)).toBe('4 seconds');
    expect(formatMigrationDuration(null)).toBe('—');
  });
  it("shows a log line's time and its VMMP text as it is", () => {
    const text = '<VMMP 1.0 HEARTBEAT 0f8fad5b-d9cb-469f-a165-70867728950e 1048576 67108864 5242880>';
    expect(formatLogLine({ at: '2026-12-05T10:00:01.250Z', text })).toBe(`10:00:01.250 ${text}`);
  });
});

describe('method choices', () => {
  it('says what each method does', () => {
    expect(methodLabel('SCP')).toBe('SCP — full copy');
    expect(methodLabel('RSYNC')).toBe('RSYNC — only what changed; fast when that host held this machine before');
    expect(methodLabel('LIVE')).toBe('LIVE');
  });
  it('round-trips a host and method through one radio value', () => {
    expect(parseChoice(choiceValue('b', 'SCP'))).toEqual({ hostId: 'b', method: 'SCP' });
    expect(parseChoice('')).toBeNull();
    expect(parseChoice(null)).toBeNull();
  });
  it('starts on the first host that answered, RSYNC when it offers it', () => {
    const silent = { hostId: 'a', methods: [] };
    expect(defaultChoice([silent, { hostId: 'b', methods: ['SCP', 'RSYNC'] }])).toBe('b RSYNC');
    expect(defaultChoice([{ hostId: 'c', methods: ['SCP'] }])).toBe('c SCP');
    expect(defaultChoice([silent])).toBeNull();
  });
});

describe('arrivalTerms', () => {
  it("names the destination's prices, storage charged anew on arrival, no refund, no running slice", () => {
    expect(arrivalTerms(offer, { hostName: 'virt17', state: 'stopped' })).toEqual([
      "Storage at virt13: 3 / 30 days (3 / month), charged anew when the machine arrives, for a new period of 30 days at virt13's price.",
      'Running at virt13: 0.2016 / 3600 seconds (0.2016 / hour), charged by the slice when you start it there.',
      'The unused part of the storage period already paid at virt17 is not refunded.',
      'The machine is stopped, not running, so no running slice moves with it.',
    ]);
  });
  it('says so when the host asks more than the asked prices', () => {
    const terms = arrivalTerms({ ...offer, withinAsked: false }, { hostName: 'virt17', state: 'stored' });
    expect(terms.at(-1)).toBe('virt13 asks more than the prices you asked for this machine.');
  });
  it('keeps a long exact price readable', () => {
    const [storage] = arrivalTerms({ ...offer, storagePrice: '0.15360000000001', storageAmount: 1 }, { hostName: null, state: 'stored' });
    expect(storage).toContain('0.1536 / 1 day');
    expect(storage).toContain('for a new period of 1 day');
  });
});
