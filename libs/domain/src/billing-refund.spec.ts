import { describe, expect, it } from 'vitest';
import { type MachineMeter, MS_PER_DAY, dueCharges, meterOnRemoved, meterOnStart, meterOnStop, meterOnStored } from './billing';
import { describeDuration, refundsOnHostRemoval } from './billing-refund';
import { Ratio } from './money/ratio';

const T0 = Date.UTC(2026, 10, 25, 10, 0, 0);
const S = 1000;
/** Report fig. 31 on virt8: storage 3 per 30 days, running 2.448 per 3600 s. */
const virt8 = { providerId: 'provider', storagePrice: '3', storageAmountDays: 30, runningPrice: '2.448', runningUnitSeconds: 3600 };
const stored = (terms = virt8): MachineMeter => meterOnStored({ machineId: 'm', buyerId: 'buyer', at: T0, ...terms }).meter;
/** What the ledger recorded for the current period and the last slice (the charges' own amounts here). */
const paid = (meter: MachineMeter, running = true) => ({
  storage: { amount: meter.storagePrice, payee: 'provider' },
  running: running && meter.slicesCharged > 0 ? { amount: meter.runningPrice, payee: 'provider' } : null,
});

describe('refundsOnHostRemoval', () => {
  it('gives back the rest of the storage period and the prepaid running time left, exactly', () => {
    // Stored T0 (period 0 paid: 3), started T0 (slice 0 paid: 2.448), stopped after 1000 s: 2600 s prepaid left.
    // Removed at T0 + 10 days: 20 of the 30 days unused → 3 × 20/30 = 2; 2.448 × 2600/3600 = 1.768.
    let meter = meterOnStart(stored(), T0).meter;
    meter = meterOnStop(meter, T0 + 1000 * S).meter;
    meter = meterOnRemoved(meter, T0 + 10 * MS_PER_DAY).meter;
    const { refunds, meter: after } = refundsOnHostRemoval(meter, paid(meter));
    expect(refunds).toEqual([
      {
        key: `refund:storage:m:${T0}:0`,
        kind: 'refund',
        payer: 'provider',
        payee: 'buyer',
        amount: '2',
        at: T0 + 10 * MS_PER_DAY,
        machineId: 'm',
        covers: 'storage',
        refunds: `storage:m:${T0}:0`,
        unusedMs: 20 * MS_PER_DAY,
        paidMs: 30 * MS_PER_DAY,
      },
      {
        key: 'refund:running:m:0',
        kind: 'refund',
        payer: 'provider',
        payee: 'buyer',
        amount: '1.768',
        at: T0 + 10 * MS_PER_DAY,
        machineId: 'm',
        covers: 'running',
        refunds: 'running:m:0',
        unusedMs: 2600 * S,
        paidMs: 3600 * S,
      },
    ]);
    // The refunded running time is no longer the buyer's to use on a later store.
    expect(after).toEqual({ ...meter, prepaidMsLeft: 0 });
  });

  it('removed while running: the run ends at the removal, in the second slice and the second period', () => {
    // Started T0; at T0 + 3600 s slice 1 is charged; removed at T0 + 31 days + 5400 s:
    // storage period 1 (T0 + 30 d … T0 + 60 d) paid at T0 + 30 d; 29 days − 5400 s unused of 30 days:
    //   3 × (29 × 86400 − 5400) / (30 × 86400) = 3 × 2500200 / 2592000 = 2.89375;
    // running never stopped: slices are charged each hour of the 31 days + 1.5 h run, so at the removal
    //   slice 745 (31 × 24 + 1 = 745 full hours before it) is 1800 s in: 1800 s left →
    //   2.448 × 1800 / 3600 = 1.224.
    const removedAt = T0 + 31 * MS_PER_DAY + 5400 * S;
    let meter = meterOnStart(stored(), T0).meter;
    meter = meterOnRemoved(meter, removedAt).meter;
    expect(meter).toMatchObject({ storagePeriodsCharged: 2, slicesCharged: 746, prepaidMsLeft: 1800 * S, runningSince: null });
    const { refunds } = refundsOnHostRemoval(meter, paid(meter));
    expect(refunds.map((r) => [r.key, r.amount])).toEqual([
      [`refund:storage:m:${T0}:1`, '2.89375'],
      ['refund:running:m:745', '1.224'],
    ]);
  });

  it('rounds each refund down to 12 decimals: never more than was paid; the provider keeps the rest', () => {
    // Storage 1 per 3 days, removed after 1 day: 1 × 2/3 = 0.666… → 0.666666666666 (the buyer paid 1 for
    // 1 day, net 0.333333333334; the provider keeps 2/3 × 10^-12 more than the exact share).
    const meter = meterOnRemoved(stored({ ...virt8, storagePrice: '1', storageAmountDays: 3 }), T0 + MS_PER_DAY).meter;
    const [storage] = refundsOnHostRemoval(meter, paid(meter, false)).refunds;
    expect(storage.amount).toBe('0.666666666666');
    const exact = Ratio.of(2n, 3n);
    expect(Ratio.parse(storage.amount).lte(exact)).toBe(true);
    expect(exact.sub(Ratio.parse(storage.amount)).lt(Ratio.parse('0.000000000001'))).toBe(true);
  });

  it('a removal at the exact start of a period has just paid it: all of it comes back', () => {
    // Billing's tie rule: period 1, due at T0 + 30 days, is charged before the removal at that instant.
    const meter = meterOnRemoved(stored(), T0 + 30 * MS_PER_DAY).meter;
    expect(meter.storagePeriodsCharged).toBe(2);
    expect(refundsOnHostRemoval(meter, paid(meter, false)).refunds.map((r) => [r.key, r.amount, r.unusedMs])).toEqual([
      [`refund:storage:m:${T0}:1`, '3', 30 * MS_PER_DAY],
    ]);
  });

  it('refunds what the ledger says was paid, to whom: a slice paid at another price to another provider', () => {
    // 2600 s left of a slice the ledger records as 7.2 paid to "earlier": 7.2 × 2600/3600 = 5.2 from "earlier".
    let meter = meterOnStart(stored(), T0).meter;
    meter = meterOnRemoved(meterOnStop(meter, T0 + 1000 * S).meter, T0 + 2000 * S).meter;
    const { refunds } = refundsOnHostRemoval(meter, { storage: null, running: { amount: '7.2', payee: 'earlier' } });
    expect(refunds.map((r) => [r.key, r.payer, r.amount])).toEqual([['refund:running:m:0', 'earlier', '5.2']]);
  });

  it('nothing to refund: never ran, free prices, or no charge found', () => {
    const never = meterOnRemoved(stored(), T0 + 30 * MS_PER_DAY - 1).meter;
    // 1 ms of 30 days unused: 3 × 1 / 2592000000 = 0.000000001157… → 0.000000001157
    expect(refundsOnHostRemoval(never, paid(never)).refunds.map((r) => r.amount)).toEqual(['0.000000001157']);
    const free = meterOnRemoved(stored({ ...virt8, storagePrice: '0' }), T0 + MS_PER_DAY).meter;
    expect(refundsOnHostRemoval(free, paid(free)).refunds).toEqual([]);
    expect(refundsOnHostRemoval(never, { storage: null, running: null })).toEqual({ refunds: [], meter: never });
    expect(() => refundsOnHostRemoval(stored(), paid(stored()))).toThrow(/still billed/);
  });

  it('keeps the ledger whole: charges less refunds is what the time had cost', () => {
    // 10 days of 30 stored at 3 → 1 kept; 1000 s of 3600 run at 2.448 → 0.68 kept.
    let meter = meterOnStart(stored(), T0).meter;
    meter = meterOnStop(meter, T0 + 1000 * S).meter;
    const charged = ['3', '2.448'];
    meter = meterOnRemoved(meter, T0 + 10 * MS_PER_DAY).meter;
    expect(dueCharges(meter, T0 + 100 * MS_PER_DAY).charges).toEqual([]);
    const back = refundsOnHostRemoval(meter, paid(meter)).refunds.map((r) => Ratio.parse(r.amount));
    const kept = charged.map((amount, i) => Ratio.parse(amount).sub(back[i]).toDecimal(12));
    expect(kept).toEqual(['1', '0.68']);
  });
});

describe('describeDuration', () => {
  it('says days and hours, or hours and minutes', () => {
    expect(describeDuration(20 * MS_PER_DAY)).toBe('20 days');
    expect(describeDuration(2 * MS_PER_DAY + 3 * 3600 * S + 59 * S)).toBe('2 days 3 hours');
    expect(describeDuration(2600 * S)).toBe('43 minutes');
    expect(describeDuration(3 * 3600 * S + 60 * S)).toBe('3 hours 1 minute');
    expect(describeDuration(59 * S)).toBe('under a minute');
    expect(describeDuration(0)).toBe('no time');
  });
});
