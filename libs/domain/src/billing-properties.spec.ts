import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Charge,
  type LedgerEntry,
  type MachineMeter,
  type MeterStep,
  type MeterTerms,
  MS_PER_DAY,
  chargedTo,
  dueCharges,
  ledgerBalances,
  meterOnArrived,
  meterOnRemoved,
  meterOnStart,
  meterOnStop,
  meterOnStored,
  nextDebits,
  nextDueAt,
  postCharge,
  postMovement,
  registrationFeeCharge,
  topUpMovement,
} from './billing';
import { sumMoney } from './money/money';

/*
 * Random machine timelines — store, start, stop, suspend, resume, migrate (live when running),
 * remove — with daemon passes at random instants, checked against an oracle written here from the
 * rules alone, in closed form over the whole timeline (it never calls the meter):
 *   storage: on each stay [arrival, next arrival | removal | end], period k is due at
 *            arrival + k × period, for every k with that instant inside the stay (ends included);
 *   running: lay the runs end to end on an axis of cumulative running time; slice boundaries are
 *            b0 = 0, b(k+1) = b(k) + the slice length in force where b(k) falls; slice k is due at
 *            the first instant the running machine's cumulative time equals b(k) (ends included).
 */

const MACHINE = 'vm-1';
const BUYER = 'buyer-1';
const UNITS = 10n ** 12n;
const T0 = Date.UTC(2024, 0, 1);

type Gap =
  | { kind: 'zero' }
  | { kind: 'ms'; ms: number }
  | { kind: 'slices'; n: number }
  | { kind: 'sliceFraction'; permille: number }
  | { kind: 'periodFraction'; permille: number }
  | { kind: 'toRunOut' }
  | { kind: 'toStorageBoundary' };

type Op =
  | { op: 'start' | 'stop' | 'suspend' | 'resume' | 'remove'; gap: Gap }
  | { op: 'migrate'; gap: Gap; terms: MeterTerms }
  | { op: 'pass'; gap: Gap; limit: number | undefined };

type Event =
  | { t: number; type: 'store' | 'arrive'; terms: MeterTerms }
  | { t: number; type: 'start' | 'stop' | 'remove' }
  | { t: number; type: 'pass'; limit: number | undefined };

const moneyText = fc.bigInt({ min: 0n, max: 10n ** 15n }).map((units) => {
  const whole = units / UNITS;
  const fraction = (units % UNITS).toString().padStart(12, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : `${whole}`;
});

// Slices that divide a day (so slice and storage boundaries can coincide) and arbitrary ones.
const sliceSeconds = fc.oneof(fc.constantFrom(600, 900, 1800, 3600, 7200, 43_200, 86_400), fc.integer({ min: 600, max: 7200 }));

const terms: fc.Arbitrary<MeterTerms> = fc.record({
  providerId: fc.constantFrom('p-a', 'p-b', 'p-c'),
  storagePrice: moneyText,
  storageAmountDays: fc.integer({ min: 1, max: 2 }),
  runningPrice: moneyText,
  runningUnitSeconds: sliceSeconds,
});

const gap: fc.Arbitrary<Gap> = fc.oneof(
  fc.constant<Gap>({ kind: 'zero' }),
  fc.integer({ min: 1, max: 10_000 }).map<Gap>((ms) => ({ kind: 'ms', ms })),
  fc.integer({ min: 1, max: 3 }).map<Gap>((n) => ({ kind: 'slices', n })),
  fc.integer({ min: 0, max: 999 }).map<Gap>((permille) => ({ kind: 'sliceFraction', permille })),
  fc.integer({ min: 0, max: 999 }).map<Gap>((permille) => ({ kind: 'periodFraction', permille })),
  fc.constant<Gap>({ kind: 'toRunOut' }),
  fc.constant<Gap>({ kind: 'toStorageBoundary' }),
);

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constantFrom('start' as const, 'resume' as const), gap }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constantFrom('stop' as const, 'suspend' as const), gap }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('migrate' as const), gap, terms }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('remove' as const), gap }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('pass' as const), gap, limit: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }) }) },
);

const scenario = fc.record({
  first: terms,
  ops: fc.array(op, { minLength: 5, maxLength: 40 }),
  tail: gap,
});

/**
 * Turns abstract ops into a concrete, lifecycle-valid timeline. A plain meter fed the events (no
 * passes) tells where "run out" lands; it only chooses instants, it checks nothing.
 */
function buildTimeline(first: MeterTerms, ops: readonly Op[], tail: Gap): { events: Event[]; end: number } {
  type State = 'stored' | 'running' | 'stopped' | 'suspended' | 'removed';
  let state: State = 'stored';
  let t = T0;
  let current = first;
  let storedAt = T0;
  let meter = meterOnStored({ machineId: MACHINE, buyerId: BUYER, at: T0, ...first }).meter;
  const events: Event[] = [{ t: T0, type: 'store', terms: first }];

  const resolve = (g: Gap): number => {
    const slice = current.runningUnitSeconds * 1000;
    const period = current.storageAmountDays * MS_PER_DAY;
    switch (g.kind) {
      case 'zero':
        return t;
      case 'ms':
        return t + g.ms;
      case 'slices':
        return t + g.n * slice;
      case 'sliceFraction':
        return t + Math.floor((slice * g.permille) / 1000);
      case 'periodFraction':
        return t + Math.floor((period * g.permille) / 1000);
      case 'toRunOut': {
        const running = state === 'removed' ? null : nextDebits(meter, t).running;
        return running ? running.at : t;
      }
      case 'toStorageBoundary':
        return storedAt + (Math.floor((t - storedAt) / period) + 1) * period;
    }
  };

  for (const step of ops) {
    t = resolve(step.gap);
    if (state === 'removed' && step.op !== 'pass') continue;
    switch (step.op) {
      case 'start':
        if (state !== 'stored' && state !== 'stopped') continue;
        state = 'running';
        events.push({ t, type: 'start' });
        meter = meterOnStart(meter, t).meter;
        break;
      case 'resume':
        if (state !== 'suspended') continue;
        state = 'running';
        events.push({ t, type: 'start' });
        meter = meterOnStart(meter, t).meter;
        break;
      case 'stop':
      case 'suspend':
        if (state !== 'running') continue;
        state = step.op === 'stop' ? 'stopped' : 'suspended';
        events.push({ t, type: 'stop' });
        meter = meterOnStop(meter, t).meter;
        break;
      case 'migrate':
        if (t === storedAt) continue; // an arrival needs a new millisecond
        current = step.terms;
        storedAt = t;
        events.push({ t, type: 'arrive', terms: step.terms });
        meter = meterOnArrived(meter, t, step.terms).meter;
        break;
      case 'remove':
        state = 'removed';
        events.push({ t, type: 'remove' });
        meter = meterOnRemoved(meter, t).meter;
        break;
      case 'pass':
        events.push({ t, type: 'pass', limit: step.limit });
        break;
    }
  }
  t = resolve(tail);
  return { events, end: t };
}

/** Feeds the events to the meter; passes only when asked. Every charge made, in order. */
function replay(events: readonly Event[], end: number, withPasses: boolean, seen: MachineMeter[] = []): { charges: Charge[]; meter: MachineMeter } {
  let meter: MachineMeter | undefined;
  const charges: Charge[] = [];
  const take = (step: MeterStep) => {
    charges.push(...step.charges);
    meter = step.meter;
    seen.push(step.meter);
  };
  for (const event of events) {
    switch (event.type) {
      case 'store':
        take(meterOnStored({ machineId: MACHINE, buyerId: BUYER, at: event.t, ...event.terms }));
        break;
      case 'arrive':
        take(meterOnArrived(meter!, event.t, event.terms));
        break;
      case 'start':
        take(meterOnStart(meter!, event.t));
        break;
      case 'stop':
        take(meterOnStop(meter!, event.t));
        break;
      case 'remove':
        take(meterOnRemoved(meter!, event.t));
        break;
      case 'pass': {
        if (!withPasses) break;
        const step = dueCharges(meter!, event.t, { limit: event.limit });
        // a pass charges nothing due after it; unlimited, it leaves nothing due at or before it
        for (const charge of step.charges) expect(charge.dueAt).toBeLessThanOrEqual(event.t);
        if (event.limit === undefined) expect(nextDueAt(step.meter) ?? Infinity).toBeGreaterThan(event.t);
        take(step);
        break;
      }
    }
  }
  take(dueCharges(meter!, end));
  return { charges, meter: meter! };
}

interface Expected {
  key: string;
  kind: 'storage' | 'running';
  payee: string;
  amount: string;
  dueAt: number;
}

/** The rules in closed form over the whole timeline (see the comment at the top). */
function oracle(events: readonly Event[], end: number): Expected[] {
  const stays: { from: number; terms: MeterTerms }[] = [];
  const runs: { from: number; to: number; terms: MeterTerms }[] = [];
  let terms: MeterTerms | undefined;
  let runFrom: number | null = null;
  let removedAt: number | null = null;
  const closeRun = (to: number) => {
    if (runFrom !== null) runs.push({ from: runFrom, to, terms: terms! });
    runFrom = null;
  };
  for (const event of events) {
    if (event.type === 'store' || event.type === 'arrive') {
      // a live migration splits the run: before the arrival at the old terms, after at the new
      const wasRunning = runFrom !== null;
      closeRun(event.t);
      terms = event.terms;
      stays.push({ from: event.t, terms });
      if (wasRunning) runFrom = event.t;
    } else if (event.type === 'start') {
      runFrom = event.t;
    } else if (event.type === 'stop') {
      closeRun(event.t);
    } else if (event.type === 'remove') {
      closeRun(event.t);
      removedAt = event.t;
    }
  }
  closeRun(end);
  const billedUntil = removedAt ?? end;

  const expected: Expected[] = [];
  stays.forEach((stay, i) => {
    const until = i + 1 < stays.length ? stays[i + 1].from : billedUntil;
    const period = stay.terms.storageAmountDays * MS_PER_DAY;
    for (let k = 0; stay.from + k * period <= until; k++) {
      const dueAt = stay.from + k * period;
      expected.push({ key: `storage:${MACHINE}:${stay.from}:${k}`, kind: 'storage', payee: stay.terms.providerId, amount: stay.terms.storagePrice, dueAt });
    }
  });

  let cumulative = 0; // running time before runs[j]
  let j = 0;
  let boundary = 0;
  for (let k = 0; j < runs.length;) {
    const run = runs[j];
    const length = run.to - run.from;
    if (boundary > cumulative + length) {
      cumulative += length;
      j++;
      continue;
    }
    const dueAt = run.from + (boundary - cumulative);
    expected.push({ key: `running:${MACHINE}:${k}`, kind: 'running', payee: run.terms.providerId, amount: run.terms.runningPrice, dueAt });
    boundary += run.terms.runningUnitSeconds * 1000;
    k++;
  }
  return expected;
}

const units = (amount: string): bigint => {
  const negative = amount.startsWith('-');
  const [whole, fraction = ''] = amount.replace(/^-/, '').split('.');
  const magnitude = BigInt(whole) * UNITS + BigInt(fraction.padEnd(12, '0'));
  return negative ? -magnitude : magnitude;
};
const byKey = <T extends { key: string }>(list: readonly T[]) => [...list].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

describe('billing against an independent oracle (fast-check)', () => {
  it('charges exactly the oracle’s charges, whatever the passes; keys unique; the ledger balances', () => {
    fc.assert(
      fc.property(scenario, ({ first, ops, tail }) => {
        const { events, end } = buildTimeline(first, ops, tail);
        const withPasses = replay(events, end, true);
        const onePass = replay(events, end, false);
        const expected = oracle(events, end);

        // passes at arbitrary instants (some split by a limit) make the very same charges, in order
        expect(withPasses.charges).toEqual(onePass.charges);
        expect(withPasses.meter).toEqual(onePass.meter);

        // no key twice
        const keys = withPasses.charges.map((charge) => charge.key);
        expect(new Set(keys).size).toBe(keys.length);

        // same set of keys, with the same kind, payee, amount and dueAt, as the oracle
        const made = withPasses.charges.map(({ key, kind, payee, amount, dueAt }) => ({ key, kind, payee, amount, dueAt }));
        expect(byKey(made)).toEqual(byKey(expected));
        for (const charge of withPasses.charges) {
          expect(charge.payer).toBe(BUYER);
          expect(charge.machineId).toBe(MACHINE);
        }
        // in dueAt order
        for (let i = 1; i < keys.length; i++) expect(withPasses.charges[i].dueAt).toBeGreaterThanOrEqual(withPasses.charges[i - 1].dueAt);

        // totals to the smallest unit (1e-12): the meter's sum against the oracle's, per payee too
        const expectedTotal = expected.reduce((sum, charge) => sum + units(charge.amount), 0n);
        expect(units(sumMoney(withPasses.charges.map((charge) => charge.amount)))).toBe(expectedTotal);

        // a repeated pass at the end charges nothing
        expect(dueCharges(withPasses.meter, end).charges).toEqual([]);

        // the ledger: top-up, fee and every charge; each movement and the whole sum to zero
        let balances: Record<string, string> = {};
        const entries: LedgerEntry[] = [];
        const topUp = postMovement(balances, topUpMovement({ key: 'topup:1', buyerId: BUYER, amount: '100', at: T0 - 1 }));
        balances = topUp.balances;
        entries.push(...topUp.entries);
        for (const charge of [registrationFeeCharge({ machineId: MACHINE, buyerId: BUYER, at: T0 - 1 }), ...withPasses.charges]) {
          const posted = postCharge(balances, charge);
          balances = posted.balances;
          entries.push(...posted.entries);
        }
        const ledger = ledgerBalances(entries);
        expect(ledger.unbalanced).toEqual([]);
        expect(ledger.malformed).toEqual([]);
        expect(ledger.total).toBe('0');
        expect(ledger.balances).toEqual(balances);
        // buyer: 100 − 0.05 − every charge; each provider: what the oracle says it was paid
        expect(units(balances[BUYER])).toBe(100n * UNITS - units('0.05') - expectedTotal);
        for (const provider of new Set(expected.map((charge) => charge.payee))) {
          const owed = expected.filter((charge) => charge.payee === provider).reduce((sum, charge) => sum + units(charge.amount), 0n);
          expect(units(balances[provider])).toBe(owed);
        }
      }),
      { numRuns: 300 },
    );
  }, 30_000); // ~1 s here; room for a slow CI machine

  it('chargedTo reckons any meter of a timeline at any later instant as dueCharges leaves it, without the charges', () => {
    fc.assert(
      fc.property(scenario, fc.array(fc.integer({ min: 0, max: 5 * MS_PER_DAY }), { minLength: 1, maxLength: 6 }), ({ first, ops, tail }, offsets) => {
        const { events, end } = buildTimeline(first, ops, tail);
        const meters: MachineMeter[] = [];
        replay(events, end, true, meters);
        const instants = [...events.map((event) => event.t), end, ...offsets.map((offset) => T0 + offset)];
        for (const meter of meters) {
          for (const t of instants) {
            const step = dueCharges(meter, t);
            const reckoned = chargedTo(meter, t);
            expect(reckoned).toEqual(step.meter);
            // nothing due: the very same object, as dueCharges gives back
            if (step.charges.length === 0) expect(reckoned).toBe(meter);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('a pass at any instant leaves the meter where one pass at that instant would (no drift)', () => {
    // Any sequence of passes at increasing instants, then a pass at `at`, equals one pass at `at`.
    fc.assert(
      fc.property(
        terms,
        fc.array(fc.integer({ min: 0, max: 3 * MS_PER_DAY }), { maxLength: 12 }),
        fc.integer({ min: 0, max: 3 * MS_PER_DAY }),
        (machineTerms, offsets, startOffset) => {
          const stored = meterOnStored({ machineId: MACHINE, buyerId: BUYER, at: T0, ...machineTerms });
          const started = meterOnStart(stored.meter, T0 + startOffset);
          const instants = [...offsets].sort((a, b) => a - b).map((offset) => T0 + startOffset + offset);
          const at = (instants[instants.length - 1] ?? T0 + startOffset) + 1;
          let meter = started.meter;
          const charges: Charge[] = [];
          for (const now of [...instants, at]) {
            const step = dueCharges(meter, now);
            charges.push(...step.charges);
            meter = step.meter;
          }
          const once = dueCharges(started.meter, at);
          expect(charges).toEqual(once.charges);
          expect(meter).toEqual(once.meter);
          expect(nextDebits(meter, at)).toEqual(nextDebits(started.meter, at));
        },
      ),
      { numRuns: 200 },
    );
  });
});
