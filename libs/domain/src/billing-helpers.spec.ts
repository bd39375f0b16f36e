import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MS_PER_DAY, type MeterTerms, dueCharges, meterOnRemoved, meterOnStart, meterOnStop, meterOnStored, nextDueAt } from './billing';
import { formatRate, moneyRatio, moneyToUnits, unitsToMoney } from './billing-format';
import { meterOnRestored, nextDebitsAmount } from './billing-next';
import { historyBucketMs, meanResourcePrices, resourcePrices } from './market-history';
import { money, sumMoney } from './money/money';
import { Ratio } from './money/ratio';

const S = 1000;
const T0 = Date.UTC(2004, 4, 17, 12);
const fifty: MeterTerms = { providerId: 'virt8', storagePrice: '0.000000001', storageAmountDays: 10, runningPrice: '0.000000001', runningUnitSeconds: 3600 };
const config1: MeterTerms = { providerId: 'virt17', storagePrice: '3', storageAmountDays: 30, runningPrice: '0.002016', runningUnitSeconds: 3600 };

describe('formatRate: exact rates as plain decimals', () => {
  it("fig. 23: 0.000000001 per 3600 s is 0.00000000000027777777777778 per second (the report's 2.7777777777778e-13)", () => {
    // 1e-9 / 3600 = 1/3.6e12 = 2.77…e-13: 14 significant digits, half-up, from the 13th decimal
    expect(formatRate(Ratio.parse('0.000000001').div(Ratio.of(3600)))).toBe('0.00000000000027777777777778');
  });

  it('fig. 22: terminating rates are exact, whatever their length: 3/30 + 1e-9/10 = 0.1000000001', () => {
    expect(
      formatRate(
        Ratio.parse('3')
          .div(Ratio.of(30))
          .add(Ratio.parse('0.000000001').div(Ratio.of(10))),
      ),
    ).toBe('0.1000000001');
    expect(formatRate(Ratio.of(1, 2n ** 20n))).toBe('0.00000095367431640625'); // 2^-20 terminates in 20 digits
    expect(formatRate(Ratio.ZERO)).toBe('0');
    expect(formatRate(Ratio.of(-1, 3))).toBe('-0.33333333333333');
    expect(formatRate(Ratio.of(200, 3))).toBe('66.666666666667'); // 14 significant digits
    expect(formatRate(Ratio.of(2, 3), 3)).toBe('0.667');
  });

  it('never writes an exponent, and parses back to within half a unit of the last digit', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.bigInt({ min: 1n, max: 10n ** 18n }), (num, den) => {
        const value = Ratio.of(num, den);
        const text = formatRate(value);
        expect(text).toMatch(/^-?\d+(\.\d+)?$/);
        if (value.isZero()) return;
        const digits = text
          .replace(/^-?0\.?0*/, '')
          .replace('.', '')
          .replace(/^-/, '');
        expect(digits.length).toBeLessThanOrEqual(30);
        // |shown − exact| ≤ half a unit of the last digit shown
        const error = Ratio.parse(text).sub(value);
        const scale = (text.split('.')[1] ?? '').length;
        const halfUnits = error.mul(Ratio.of(2n * 10n ** BigInt(scale)));
        expect(halfUnits.lte(Ratio.ONE) && halfUnits.gte(Ratio.ONE.neg())).toBe(true);
      }),
    );
  });
});

describe('money as integer units', () => {
  it('converts both ways exactly', () => {
    expect(moneyToUnits('0.05')).toBe(50_000_000_000n);
    expect(moneyToUnits('1e-12')).toBe(1n);
    expect(moneyToUnits('-3')).toBe(-3_000_000_000_000n);
    expect(unitsToMoney(50_000_000_000n)).toBe('0.05');
    expect(unitsToMoney(-1n)).toBe('-0.000000000001');
    expect(unitsToMoney(0n)).toBe('0');
    expect(() => moneyToUnits('0.0000000000001')).toThrow(/12 fraction digits/);
    expect(moneyRatio('0.5').eq(Ratio.of(1, 2))).toBe(true);
  });

  it('sums like sumMoney', () => {
    const amount = fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }).map((units) => unitsToMoney(units));
    fc.assert(
      fc.property(fc.array(amount, { maxLength: 20 }), (amounts) => {
        const units = amounts.reduce((sum, text) => sum + moneyToUnits(text), 0n);
        expect(unitsToMoney(units)).toBe(sumMoney(amounts));
        for (const text of amounts) expect(money(text)).toBe(text);
      }),
    );
  });
});

describe("nextDebitsAmount: what a buyer must hold for a machine's next debits", () => {
  it('a stored machine owes its next storage period; a running one that and its next slice', () => {
    // Configuration1 (fig. 22): 3 per 30 days; running, 3 + 0.002016
    const stored = meterOnStored({ machineId: 'm', buyerId: 'b', at: T0, ...config1 }).meter;
    expect(nextDebitsAmount(stored)).toBe('3');
    const running = meterOnStart(stored, T0 + S).meter;
    expect(nextDebitsAmount(running)).toBe('3.002016');
    expect(nextDebitsAmount(meterOnStop(running, T0 + 2 * S).meter)).toBe('3');
  });

  it('is 0 once billing has stopped', () => {
    const removed = meterOnRemoved(meterOnStored({ machineId: 'm', buyerId: 'b', at: T0, ...fifty }).meter, T0 + S).meter;
    expect(nextDebitsAmount(removed)).toBe('0');
  });
});

describe('meterOnRestored: stored again after its host was removed', () => {
  it('starts a new storage timeline at the new prices and keeps the slices it paid for', () => {
    // stored T0 on virt17, ran 1000 s of slice 0 (2600 s left), host removed at T0 + 2 days;
    // stored again on virt8 at T0 + 3 days: storage period 0 of virt8 at once; the 2600 s are used
    // first, then slice 1 (not 0 again) at virt8's price
    let meter = meterOnStored({ machineId: 'm', buyerId: 'b', at: T0, ...config1 }).meter;
    meter = meterOnStart(meter, T0).meter;
    meter = meterOnStop(meter, T0 + 1000 * S).meter;
    meter = meterOnRemoved(meter, T0 + 2 * MS_PER_DAY).meter;
    const again = meterOnRestored(meter, { at: T0 + 3 * MS_PER_DAY, ...fifty });
    expect(again.charges.map((c) => [c.key, c.payee, c.amount])).toEqual([[`storage:m:${T0 + 3 * MS_PER_DAY}:0`, 'virt8', '0.000000001']]);
    expect(again.meter).toMatchObject({ slicesCharged: 1, prepaidMsLeft: 2600 * S, removedAt: null, providerId: 'virt8' });
    const started = meterOnStart(again.meter, T0 + 4 * MS_PER_DAY);
    expect(started.charges).toEqual([]);
    expect(dueCharges(started.meter, T0 + 4 * MS_PER_DAY + 2600 * S).charges.map((c) => c.key)).toEqual(['running:m:1']);
    expect(nextDueAt(again.meter)).toBe(T0 + 13 * MS_PER_DAY);
  });

  it('refuses a machine still billed, or an instant before its billing stopped', () => {
    const stored = meterOnStored({ machineId: 'm', buyerId: 'b', at: T0, ...fifty }).meter;
    expect(() => meterOnRestored(stored, { at: T0 + S, ...fifty })).toThrow(/still billed/);
    const removed = meterOnRemoved(stored, T0 + 10 * S).meter;
    expect(() => meterOnRestored(removed, { at: T0 + 5 * S, ...fifty })).toThrow(/cannot be stored again/);
  });
});

describe('market resource prices in normalised units', () => {
  const virt8 = {
    speedUnit: 1000,
    speedUnitPrice: '.00001',
    memoryUnit: 4,
    memoryUnitPrice: '.00001',
    runningUnitAmount: 3600,
    storageUnit: 100,
    storageUnitPrice: '.01',
    storageAmount: 30,
  };

  it('virt8: 0.00001 per 1000 bogomips per second, 0.0000025 per MB per second, 0.01 per 100 MB per day', () => {
    expect(resourcePrices(virt8)).toEqual({ speedPer1000BogomipsPerSecond: '0.00001', memoryPerMbPerSecond: '0.0000025', storagePer100MbPerDay: '0.01' });
  });

  it('means over hosts, each counted once, exact until shown', () => {
    // a second host selling 500-bogomip units at 0.00001 (0.00002 per 1000), 3 MB at 0.00001
    // (0.00000333…), 300 MB at 0.01 per day (0.00333… per 100 MB):
    // speed (0.00001 + 0.00002) / 2 = 0.000015; memory (0.0000025 + 0.0000033333…) / 2 = 0.0000029166666666667;
    // storage (0.01 + 0.0033333…) / 2 = 0.0066666666666667
    const other = { ...virt8, speedUnit: 500, memoryUnit: 3, storageUnit: 300 };
    expect(meanResourcePrices([virt8, other, virt8, other])).toEqual({
      speedPer1000BogomipsPerSecond: '0.000015',
      memoryPerMbPerSecond: '0.0000029166666666667',
      storagePer100MbPerDay: '0.0066666666666667',
      hostCount: 4,
    });
    expect(meanResourcePrices([])).toBeNull();
  });

  it('buckets a range into at most n points', () => {
    expect(historyBucketMs(0, 199, 200)).toBe(1);
    expect(historyBucketMs(0, 200, 200)).toBe(2);
    expect(historyBucketMs(0, 86_400_000 - 1, 200)).toBe(432_000);
    expect(() => historyBucketMs(5, 4, 200)).toThrow(/range/);
  });
});
