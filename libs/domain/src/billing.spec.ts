import { describe, expect, it } from 'vitest';
import {
  type Charge,
  type LedgerEntry,
  MARKET_ACCOUNT,
  MS_PER_DAY,
  type MachineMeter,
  type MeterStep,
  type MeterTerms,
  OUTSIDE_ACCOUNT,
  currentCostRates,
  dueCharges,
  ledgerBalances,
  meterOnArrived,
  meterOnRemoved,
  meterOnStart,
  meterOnStop,
  meterOnStored,
  meterRates,
  nextDebits,
  nextDueAt,
  postCharge,
  postMovement,
  registrationFeeCharge,
  termsFromQuote,
  topUpMovement,
} from './billing';
import { roundMoney } from './money/money';
import { Ratio } from './money/ratio';
import { quote } from './pricing';

const S = 1000; // ms per second
const D = MS_PER_DAY;
const T0 = Date.UTC(2004, 4, 17, 12, 0, 0); // any instant will do

// Report figs. 22 and 23: the buyer's two machines.
const configuration1: MeterTerms = {
  providerId: 'virt17',
  storagePrice: '3',
  storageAmountDays: 30,
  runningPrice: '0.002016',
  runningUnitSeconds: 3600,
};
const fifty: MeterTerms = {
  providerId: 'virt8',
  storagePrice: '0.000000001',
  storageAmountDays: 10,
  runningPrice: '0.000000001',
  runningUnitSeconds: 3600,
};

/** Runs meter functions in order, collecting every charge: the way the API and daemon chain them. */
function chain(first: MeterStep, ...steps: ((meter: MachineMeter) => MeterStep)[]): MeterStep {
  return steps.reduce<MeterStep>((done, step) => {
    const next = step(done.meter);
    return { meter: next.meter, charges: [...done.charges, ...next.charges] };
  }, first);
}

const store = (machineId: string, terms: MeterTerms, at: number) => meterOnStored({ machineId, buyerId: 'ResourceBuyer', at, ...terms });
const keys = (charges: Charge[]) => charges.map((charge) => charge.key);
const inDays = (ms: number) => (ms / D).toPrecision(15);

describe('report figs. 22 and 23: the buyer account page', () => {
  // Configuration1 stored at T0; machine "50" stored 604 s later. Fig. 22 is seen at T0 + 683 s,
  // fig. 23 51 s later, "50" having been started 17 s after fig. 22 (so it has run 34 s).
  const config1 = store('configuration1', configuration1, T0);
  const machine50 = store('50', fifty, T0 + 604 * S);
  const fig22 = T0 + 683 * S;
  const started = meterOnStart(machine50.meter, fig22 + 17 * S);
  const fig23 = fig22 + 51 * S;

  it('charged storage period 0 of each machine the instant it was stored', () => {
    expect(config1.charges).toEqual([
      { key: `storage:configuration1:${T0}:0`, kind: 'storage', machineId: 'configuration1', payer: 'ResourceBuyer', payee: 'virt17', amount: '3', dueAt: T0 },
    ]);
    expect(keys(machine50.charges)).toEqual([`storage:50:${T0 + 604 * S}:0`]);
  });

  it('fig. 22: 29.9920949074074 and 9.99908564814815 days to the storage debits, nothing running', () => {
    // Configuration1: 30 days − 683 s = (2592000 − 683) / 86400 = 29.99209490740740… days
    // "50": 10 days − (683 − 604) s = (864000 − 79) / 86400 = 9.99908564814814… days
    const a = nextDebits(config1.meter, fig22);
    const b = nextDebits(machine50.meter, fig22);
    expect(inDays(a.storage!.inMs)).toBe('29.9920949074074');
    expect(inDays(b.storage!.inMs)).toBe('9.99908564814815');
    expect([a.running, b.running]).toEqual([null, null]); // "Not currently running"
    expect(a.storage!.amount).toBe('3');
  });

  it('fig. 22: total current cost 0.1000000001 per day and 0 per second', () => {
    // 3 / 30 + 0.000000001 / 10 = 0.1 + 0.0000000001 per day; neither machine runs
    const rates = currentCostRates([config1.meter, machine50.meter]);
    expect(roundMoney(rates.storagePerDay)).toBe('0.1000000001');
    expect(rates.runningPerSecond.isZero()).toBe(true);
  });

  it('fig. 23: starting "50" charges one 1e-9 slice at once: 996.97984 → 996.979839999', () => {
    expect(started.charges).toEqual([
      { key: 'running:50:0', kind: 'running', machineId: '50', payer: 'ResourceBuyer', payee: 'virt8', amount: '0.000000001', dueAt: fig22 + 17 * S },
    ]);
    const { balances } = postCharge({ ResourceBuyer: '996.97984' }, started.charges[0]);
    expect(balances).toEqual({ ResourceBuyer: '996.979839999', virt8: '0.000000001' });
  });

  it('fig. 23: 3566 seconds to the next running debit after 34 s of running; storage 51 s nearer', () => {
    // 3600 − 34 = 3566 s. Storage: 30 days − 734 s → 29.9915046296296; 10 days − 130 s → 9.99849537037037
    const b = nextDebits(started.meter, fig23);
    expect(b.running).toEqual({ at: fig22 + 17 * S + 3600 * S, inMs: 3566 * S, amount: '0.000000001' });
    expect(b.prepaidMsLeft).toBe(3566 * S);
    expect(inDays(b.storage!.inMs)).toBe('9.99849537037037');
    expect(inDays(nextDebits(config1.meter, fig23).storage!.inMs)).toBe('29.9915046296296');
  });

  it('fig. 23: 0.1000000001 per day and 2.7777777777778e-13 per second of running', () => {
    // 0.000000001 / 3600 = 1 / 3 600 000 000 000 $/s: below 12 digits, so the rate stays a Ratio
    const rates = currentCostRates([config1.meter, started.meter]);
    expect(roundMoney(rates.storagePerDay)).toBe('0.1000000001');
    expect(rates.runningPerSecond.eq(Ratio.of(1, 3_600_000_000_000n))).toBe(true);
    // shown as the report does (display only; Ratio.toNumber() keeps just 20 decimals, too few here)
    const shown = Number(rates.runningPerSecond.numerator) / Number(rates.runningPerSecond.denominator);
    expect(shown.toPrecision(14)).toBe('2.7777777777778e-13');
    expect(roundMoney(rates.runningPerSecond)).toBe('0');
  });
});

describe('report fig. 32: the provider sees when its client is next billed', () => {
  it('9.97626157407407 days to storage and 1749 seconds to running; 1e-10 per day', () => {
    // "50" stored at S0 on virt8, started at S0 + 200 s; seen at S0 + 2051 s:
    // storage 10 days − 2051 s = 861949 / 86400 = 9.976261574074… days; running 3600 − 1851 = 1749 s
    const S0 = T0 + 5 * D;
    const { meter } = chain(store('50', fifty, S0), (m) => meterOnStart(m, S0 + 200 * S));
    const seen = nextDebits(meter, S0 + 2051 * S);
    expect(inDays(seen.storage!.inMs)).toBe('9.97626157407407');
    expect(seen.running!.inMs).toBe(1749 * S);
    // "currently making you $ 1e-10 per day of storing": 0.000000001 / 10
    expect(roundMoney(currentCostRates([meter]).storagePerDay)).toBe('0.0000000001');
  });
});

describe('running slices', () => {
  const t = T0;
  const stored = store('m', configuration1, t);

  it('stop mid-slice, start again: the rest is used first, with no new charge', () => {
    // start t: slice 0 charged, 3600 s prepaid. Stop at t + 1000 s: 2600 s left, paused.
    // Start at t + 5000 s: nothing charged. The 2600 s run out at t + 7600 s: slice 1 charged then.
    const { meter, charges } = chain(
      stored,
      (m) => meterOnStart(m, t),
      (m) => meterOnStop(m, t + 1000 * S),
    );
    expect(keys(charges)).toEqual([`storage:m:${t}:0`, 'running:m:0']);
    expect(meter.prepaidMsLeft).toBe(2600 * S);
    expect(nextDebits(meter, t + 4000 * S).running).toBeNull();

    const restarted = meterOnStart(meter, t + 5000 * S);
    expect(restarted.charges).toEqual([]);
    expect(nextDebits(restarted.meter, t + 5000 * S).running!.inMs).toBe(2600 * S);

    const pass = dueCharges(restarted.meter, t + 7600 * S);
    expect(pass.charges.map((c) => [c.key, c.dueAt, c.amount])).toEqual([['running:m:1', t + 7600 * S, '0.002016']]);
    expect(dueCharges(restarted.meter, t + 7600 * S - 1).charges).toEqual([]);
  });

  it('a suspend pauses exactly like a stop, and a repeated start report changes nothing', () => {
    // start t + 10 s, suspend t + 20 s (3590 s left), resume t + 1 day, report "running" again
    const { meter, charges } = chain(
      stored,
      (m) => meterOnStart(m, t + 10 * S),
      (m) => meterOnStop(m, t + 20 * S),
      (m) => meterOnStart(m, t + D),
      (m) => meterOnStart(m, t + D + 5 * S),
    );
    expect(keys(charges)).toEqual([`storage:m:${t}:0`, 'running:m:0']);
    expect(meter.runningSince).toBe(t + D);
    expect(nextDueAt(meter)).toBe(t + D + 3590 * S);
  });

  it('a run of several slices charges each at the instant the previous runs out', () => {
    // start at t; passes at t + 2.5 h find slices 1 and 2 due at t + 1 h and t + 2 h
    const { meter } = meterOnStart(stored.meter, t);
    expect(dueCharges(meter, t + 9000 * S).charges.map((c) => [c.key, c.dueAt - t])).toEqual([
      ['running:m:1', 3600 * S],
      ['running:m:2', 7200 * S],
    ]);
  });

  it('a stop at the exact instant a slice runs out prepays the next slice (kept for the next start)', () => {
    // slice 0 from t runs out at t + 3600 s; the charge due then is made before the stop applies
    const { meter, charges } = chain(
      stored,
      (m) => meterOnStart(m, t),
      (m) => meterOnStop(m, t + 3600 * S),
    );
    expect(keys(charges)).toEqual([`storage:m:${t}:0`, 'running:m:0', 'running:m:1']);
    expect(meter.prepaidMsLeft).toBe(3600 * S);
    expect(meterOnStart(meter, t + 4000 * S).charges).toEqual([]);
  });
});

describe('storage periods and the daemon', () => {
  const t = T0;

  it('a long downtime of the daemon, then one pass: every missed period, each at its own dueAt', () => {
    // 10-day periods from t; the last pass ran at t; the next runs 95 days later.
    // Due: periods 1..9 at t + 10, 20, …, 90 days (period 10 at t + 100 days is not yet due).
    const stored = store('fifty', fifty, t);
    const pass = dueCharges(stored.meter, t + 95 * D);
    expect(pass.charges.map((c) => [c.key, (c.dueAt - t) / D, c.amount])).toEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => [`storage:fifty:${t}:${k}`, 10 * k, '0.000000001']),
    );
    expect(pass.meter.storagePeriodsCharged).toBe(10);
    expect(nextDueAt(pass.meter)).toBe(t + 100 * D);
  });

  it('a running machine through a downtime: storage and slices interleaved in dueAt order', () => {
    // 1-day storage and 12-hour slices, running from t; a pass at t + 1 day + 1 ms finds
    // slice 1 (t + 12 h), then at t + 1 day storage period 1 before slice 2 (storage first on a tie)
    const terms = { ...configuration1, storageAmountDays: 1, runningUnitSeconds: 43_200 };
    const { meter } = chain(store('m', terms, t), (m) => meterOnStart(m, t));
    const pass = dueCharges(meter, t + D + 1);
    expect(pass.charges.map((c) => [c.key, c.dueAt - t])).toEqual([
      ['running:m:1', 43_200 * S],
      [`storage:m:${t}:1`, D],
      ['running:m:2', D],
    ]);
  });

  it('repeating a pass with the same now charges nothing and returns the very same meter', () => {
    const { meter } = chain(store('m', configuration1, t), (m) => meterOnStart(m, t));
    const first = dueCharges(meter, t + 31 * D);
    expect(first.charges.length).toBe(1 + 31 * 24); // storage period 1, slices 1..744
    const again = dueCharges(first.meter, t + 31 * D);
    expect(again.charges).toEqual([]);
    expect(again.meter).toBe(first.meter);
    // a pass with an earlier clock (a restart with a clock set back) charges nothing either
    expect(dueCharges(first.meter, t + D).charges).toEqual([]);
  });

  it('passes split by a limit give the same charges as one pass', () => {
    const { meter } = chain(store('m', { ...configuration1, storageAmountDays: 1 }, t), (m) => meterOnStart(m, t));
    const whole = dueCharges(meter, t + 3 * D).charges;
    const parts: Charge[] = [];
    let current = meter;
    for (;;) {
      const step = dueCharges(current, t + 3 * D, { limit: 7 });
      if (step.charges.length === 0) break;
      expect(step.charges.length).toBeLessThanOrEqual(7);
      parts.push(...step.charges);
      current = step.meter;
    }
    expect(parts).toEqual(whole);
    expect(whole.length).toBe(3 + 72); // storage periods 1..3, slices 1..72
  });

  it('removal stops all charges; a removal at the exact start of a period pays that period', () => {
    // 10-day periods from t; removed at t + 20 days exactly: period 2 (due t + 20 days) is charged first
    const { meter, charges } = chain(
      store('fifty', fifty, t),
      (m) => meterOnStart(m, t + D),
      (m) => meterOnRemoved(m, t + 20 * D),
    );
    expect(keys(charges.filter((c) => c.kind === 'storage'))).toEqual([0, 1, 2].map((k) => `storage:fifty:${t}:${k}`));
    expect(charges.filter((c) => c.kind === 'running').length).toBe(19 * 24 + 1); // slices 0..456 over 19 days
    expect(meter.removedAt).toBe(t + 20 * D);
    expect(meter.runningSince).toBeNull();
    expect(dueCharges(meter, t + 400 * D).charges).toEqual([]);
    expect(nextDueAt(meter)).toBeNull();
    expect(nextDebits(meter, t + 21 * D)).toMatchObject({ storage: null, running: null });
    expect(currentCostRates([meter]).storagePerDay.isZero()).toBe(true);
    expect(() => meterOnStart(meter, t + 21 * D)).toThrow(/no longer billed/);
  });

  it('an event dated before charges already made is applied at the meter clock, never rewriting them', () => {
    // running from t with 1-hour slices; a pass at t + 2 h charged slice 2 (due t + 2 h); a stop
    // reported as of t + 90 min is applied at t + 2 h: 3600 s of slice 2 remain, nothing refunded
    const { meter } = chain(store('m', configuration1, t), (m) => meterOnStart(m, t));
    const pass = dueCharges(meter, t + 7200 * S);
    expect(pass.meter.asOf).toBe(t + 7200 * S);
    const stopped = meterOnStop(pass.meter, t + 5400 * S);
    expect(stopped.charges).toEqual([]);
    expect(stopped.meter.prepaidMsLeft).toBe(3600 * S);
  });
});

describe('migration', () => {
  const t = T0;
  const dest: MeterTerms = { providerId: 'virt5', storagePrice: '30', storageAmountDays: 30, runningPrice: '0.003744', runningUnitSeconds: 1800 };

  it('charges what was due at the origin, then storage period 0 at the destination on arrival', () => {
    // stored t on virt17 (30-day periods); ran 1000 s then stopped (2600 s prepaid); arrives on
    // virt5 at t + 40 days: period 1 of virt17 (t + 30 days) is charged first, then period 0 of
    // virt5 at its price, a new storedAt; the 2600 s prepaid carry over and are used before slice 1
    const arrival = t + 40 * D;
    const { meter, charges } = chain(
      store('m', configuration1, t),
      (m) => meterOnStart(m, t),
      (m) => meterOnStop(m, t + 1000 * S),
      (m) => meterOnArrived(m, arrival, dest),
    );
    expect(charges.map((c) => [c.key, c.payee, c.amount, c.dueAt])).toEqual([
      [`storage:m:${t}:0`, 'virt17', '3', t],
      ['running:m:0', 'virt17', '0.002016', t],
      [`storage:m:${t}:1`, 'virt17', '3', t + 30 * D],
      [`storage:m:${arrival}:0`, 'virt5', '30', arrival],
    ]);
    expect(meter).toMatchObject({ storedAt: arrival, providerId: 'virt5', prepaidMsLeft: 2600 * S, slicesCharged: 1 });

    // start at arrival + 1 s: no charge; slice 1 (1800 s at virt5's price) due 2600 s later
    const started = meterOnStart(meter, arrival + S);
    expect(started.charges).toEqual([]);
    expect(dueCharges(started.meter, arrival + 2601 * S).charges.map((c) => [c.key, c.payee, c.amount, c.dueAt])).toEqual([
      ['running:m:1', 'virt5', '0.003744', arrival + 2601 * S],
    ]);
    // the next storage debit is 30 days after arrival, not after the original store
    expect(nextDebits(started.meter, arrival + S).storage!.at).toBe(arrival + 30 * D);
  });

  it('a live migration keeps the machine running across the arrival', () => {
    // running from t (slice 0, 3600 s); live-migrated at t + 600 s: 3000 s left carry over;
    // slice 1 is due at t + 3600 s and is virt5's
    const { meter } = chain(
      store('m', configuration1, t),
      (m) => meterOnStart(m, t),
      (m) => meterOnArrived(m, t + 600 * S, dest),
    );
    expect(meter.runningSince).toBe(t);
    expect(nextDebits(meter, t + 600 * S).running).toEqual({ at: t + 3600 * S, inMs: 3000 * S, amount: '0.003744' });
  });

  it('refuses an arrival in the millisecond the machine was stored (the keys would collide)', () => {
    expect(() => meterOnArrived(store('m', configuration1, t).meter, t, dest)).toThrow(RangeError);
  });
});

describe('fees, terms and validation', () => {
  it('charges the registration fee once, to the market, under fee:<machineId>', () => {
    expect(registrationFeeCharge({ machineId: 'm', buyerId: 'b', at: T0 })).toEqual({
      key: 'fee:m',
      kind: 'fee',
      machineId: 'm',
      payer: 'b',
      payee: MARKET_ACCOUNT,
      amount: '0.05',
      dueAt: T0,
    });
  });

  it('takes a quote as terms: virt8 win2000Pro 30 per 30 days, 2.448 per 3600 s', () => {
    const prices = {
      speedUnit: 1000,
      speedUnitPrice: '0.00001',
      memoryUnit: 4,
      memoryUnitPrice: '0.00001',
      runningUnitAmount: 3600,
      storageUnit: 100,
      storageUnitPrice: '0.01',
      storageAmount: 30,
    };
    // (4 + 64) × 0.00001 × 3600 = 2.448; 1000/100 × 0.01 × 30 = 3
    const terms = termsFromQuote('virt8', quote(prices, { speed: 4000, memory: 256, disk: 1000 }));
    expect(terms).toEqual({ providerId: 'virt8', storagePrice: '3', storageAmountDays: 30, runningPrice: '2.448', runningUnitSeconds: 3600 });
    // 2.448 / 3600 = 0.00068 $/s; 3 / 30 = 0.1 $/day
    expect(meterRates(terms).runningPerSecond.toDecimal(12)).toBe('0.00068');
    expect(meterRates(terms).storagePerDay.toDecimal(12)).toBe('0.1');
  });

  it('refuses bad terms and instants, naming the field', () => {
    expect(() => store('m', { ...fifty, storagePrice: '-1' }, T0)).toThrow(/storagePrice must not be negative/);
    expect(() => store('m', { ...fifty, runningPrice: '1e-13' }, T0)).toThrow(/runningPrice/);
    expect(() => store('m', { ...fifty, storageAmountDays: 0 }, T0)).toThrow(/storageAmountDays/);
    expect(() => store('m', { ...fifty, runningUnitSeconds: 1.5 }, T0)).toThrow(/runningUnitSeconds/);
    expect(() => store('m', fifty, 1.5)).toThrow(/at must be an integer/);
    expect(() => dueCharges(store('m', fifty, T0).meter, T0, { limit: 0 })).toThrow(/limit/);
  });
});

describe('the ledger', () => {
  it('posts each charge as two entries summing to zero; balances derive from the entries', () => {
    // top-up 10; fee 0.05; storage 3; slice 0.002016 → buyer 10 − 3.052016 = 6.947984,
    // virt17 3.002016, market 0.05, outside −10; every movement and the whole ledger sum to 0
    const { meter, charges } = chain(store('m', configuration1, T0), (m) => meterOnStart(m, T0));
    let balances: Record<string, string> = {};
    const entries: LedgerEntry[] = [];
    const movements = [topUpMovement({ key: 'topup:1', buyerId: 'ResourceBuyer', amount: '10', at: T0 - 2 })];
    for (const movement of movements) {
      const posted = postMovement(balances, movement);
      balances = posted.balances;
      entries.push(...posted.entries);
    }
    for (const charge of [registrationFeeCharge({ machineId: 'm', buyerId: 'ResourceBuyer', at: T0 - 1 }), ...charges]) {
      const posted = postCharge(balances, charge);
      expect(posted.entries[0].amount).toBe(`-${charge.amount}`);
      balances = posted.balances;
      entries.push(...posted.entries);
    }
    expect(meter.slicesCharged).toBe(1);
    expect(balances).toEqual({ [OUTSIDE_ACCOUNT]: '-10', ResourceBuyer: '6.947984', market: '0.05', virt17: '3.002016' });
    expect(ledgerBalances(entries)).toEqual({ balances, unbalanced: [], malformed: [], total: '0' });
  });

  it('shows a charge applied twice, and a one-sided entry', () => {
    const charge = store('m', fifty, T0).charges[0];
    const twice = [...postCharge({}, charge).entries, ...postCharge({}, charge).entries];
    expect(ledgerBalances(twice)).toMatchObject({ malformed: [charge.key], unbalanced: [] });
    const oneSided = postCharge({}, charge).entries.slice(0, 1);
    expect(ledgerBalances(oneSided)).toMatchObject({ malformed: [charge.key], unbalanced: [charge.key], total: '-0.000000001' });
  });
});
