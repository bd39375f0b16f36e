import { describe, expect, it } from 'vitest';
import { Ratio } from './money/ratio';
import {
  type HostPrices,
  askedRatesAccept,
  compareRates,
  parsePrice,
  quote,
  quoteRates,
  runningRate,
  runningPricePerPeriod,
  runningRatePerSecond,
  storagePricePerPeriod,
  storageRate,
  storageRatePerDay,
} from './pricing';

// virt8 as the provider adds it in report figs. 27–28.
const virt8: HostPrices = {
  speedUnit: 1000,
  speedUnitPrice: '.00001',
  memoryUnit: 4,
  memoryUnitPrice: '.00001',
  runningUnitAmount: 3600,
  storageUnit: 100,
  storageUnitPrice: '.01',
  storageAmount: 30,
};
// Report fig. 33 lists virt17 at 1e-07 (speed), 1e-08 (memory), 0.1 (storage) and virt13 at
// 1e-05, 1e-06, 0.1. With virt8's units and periods these reproduce every price in figs. 11, 20, 31.
const virt17: HostPrices = { ...virt8, speedUnitPrice: '1e-07', memoryUnitPrice: '1e-08', storageUnitPrice: '0.1' };
const virt13: HostPrices = { ...virt8, speedUnitPrice: '1e-05', memoryUnitPrice: '1e-06', storageUnitPrice: '0.1' };

const win2000Pro = { speed: 4000, memory: 256, disk: 1000 };
const configuration1 = { speed: 4000, memory: 64, disk: 100 };
const configuration10 = { speed: 2000, memory: 32, disk: 50 };

describe('report fig. 31: win2000Pro (4000 bogomips, 256 MB, 1000 MB) on virt8', () => {
  it('runs for 2.448 per 3600 s', () => {
    // 4000/1000 = 4 speed units, 256/4 = 64 memory units: (4 + 64) × 0.00001 × 3600 = 2.448
    expect(runningRatePerSecond(virt8, win2000Pro).eq(Ratio.parse('0.00068'))).toBe(true);
    expect(runningPricePerPeriod(virt8, win2000Pro)).toBe('2.448');
  });

  it('stores for 3 per 30 days', () => {
    // 1000/100 = 10 storage units: 10 × 0.01 × 30 = 3
    expect(storageRatePerDay(virt8, win2000Pro).eq(Ratio.parse('0.1'))).toBe(true);
    expect(storagePricePerPeriod(virt8, win2000Pro)).toBe('3');
  });

  it('quotes the same figures per hour and per month, since its periods are an hour and 30 days', () => {
    expect(quote(virt8, win2000Pro)).toEqual({
      runningPrice: '2.448',
      runningUnitAmount: 3600,
      storagePrice: '3',
      storageAmount: 30,
      runningPerHour: '2.448',
      storagePerMonth: '3',
    });
  });

  it('is the cheap-to-store, dear-to-run choice against virt17 and virt13', () => {
    // virt17: (4 × 1e-07 + 64 × 1e-08) × 3600 = 1.04e-06 × 3600 = 0.003744; 10 × 0.1 × 30 = 30
    expect(quote(virt17, win2000Pro)).toMatchObject({ runningPrice: '0.003744', storagePrice: '30' });
    // virt13: (4 × 1e-05 + 64 × 1e-06) × 3600 = 1.04e-04 × 3600 = 0.3744; 10 × 0.1 × 30 = 30
    expect(quote(virt13, win2000Pro)).toMatchObject({ runningPrice: '0.3744', storagePrice: '30' });
  });
});

describe('report fig. 11: Configuration1 (4000 bogomips, 64 MB, 100 MB) asking 3 /month and 0.064386 /hour', () => {
  const asked = { storagePerMonth: '3', runningPerHour: '0.064386' };

  it('costs 0.002016 per 3600 s and 3 per 30 days on virt17', () => {
    // (4 × 1e-07 + 16 × 1e-08) × 3600 = 5.6e-07 × 3600 = 0.002016; 100/100 × 0.1 × 30 = 3
    expect(quote(virt17, configuration1)).toMatchObject({ runningPrice: '0.002016', storagePrice: '3' });
  });

  it('accepts virt17: storage exactly at the asked rate, running well under', () => {
    // storage 0.1 /day = 3/30 exactly; running 5.6e-07 /s ≤ 0.064386/3600 ≈ 1.79e-05 /s
    expect(askedRatesAccept(asked, virt17, configuration1)).toBe(true);
  });

  it('rejects virt13, which fig. 11 leaves out but fig. 20 (migration, no price filter) shows at 0.2016', () => {
    // (4 × 1e-05 + 16 × 1e-06) × 3600 = 5.6e-05 × 3600 = 0.2016 per hour > 0.064386
    expect(quote(virt13, configuration1).runningPrice).toBe('0.2016');
    expect(askedRatesAccept(asked, virt13, configuration1)).toBe(false);
  });
});

describe('fractional units', () => {
  it('charges a 50 MB disk on 100 MB units half a unit', () => {
    // 50/100 × 0.01 × 30 = 0.15
    expect(storagePricePerPeriod(virt8, { speed: 0, memory: 0, disk: 50 })).toBe('0.15');
    // Report fig. 10, Configuration10 (50 MB) on virt17: 50/100 × 0.1 × 30 = 1.5 per month
    expect(quote(virt17, configuration10).storagePerMonth).toBe('1.5');
  });

  it('rounds a non-terminating rate only at the end', () => {
    const threeMbUnits: HostPrices = { ...virt8, memoryUnit: 3 };
    const size = { speed: 0, memory: 100, disk: 0 };
    // 100/3 units × 0.00001 = 1/3000 $/s exactly; × 3600 s = 1.2 exactly. Rounding the rate
    // first (0.000333333333 × 3600 = 1.1999999999988) or the units up (34 × 0.036 = 1.224) is wrong.
    expect(runningRatePerSecond(threeMbUnits, size).eq(Ratio.of(1, 3000))).toBe(true);
    expect(runningPricePerPeriod(threeMbUnits, size)).toBe('1.2');
    // Over 7 s: 7/3000 = 0.0023333… → 0.002333333333; over 2 s: 2/3000 = 0.000666… → half-up 0.000666666667
    expect(runningPricePerPeriod({ ...threeMbUnits, runningUnitAmount: 7 }, size)).toBe('0.002333333333');
    expect(runningPricePerPeriod({ ...threeMbUnits, runningUnitAmount: 2 }, size)).toBe('0.000666666667');
  });

  it('refuses a zero unit or a fractional size, naming the field', () => {
    expect(() => runningRatePerSecond({ ...virt8, memoryUnit: 0 }, win2000Pro)).toThrow(/memoryUnit/);
    expect(() => storageRatePerDay(virt8, { ...win2000Pro, disk: 1.5 })).toThrow(/disk/);
  });
});

describe('asked rates at the boundary (virt8, win2000Pro)', () => {
  it('accepts asked prices exactly equal to the host rates', () => {
    // running 0.00068 /s × 3600 = 2.448 /hour; storage 0.1 /day × 30 = 3 /month
    expect(askedRatesAccept({ runningPerHour: '2.448', storagePerMonth: '3' }, virt8, win2000Pro)).toBe(true);
  });

  it('rejects when either asked price is one smallest money unit (1e-12) below', () => {
    expect(askedRatesAccept({ runningPerHour: '2.447999999999', storagePerMonth: '3' }, virt8, win2000Pro)).toBe(false);
    expect(askedRatesAccept({ runningPerHour: '2.448', storagePerMonth: '2.999999999999' }, virt8, win2000Pro)).toBe(false);
  });

  it('compares rates, not period prices: a 10-day host against a monthly ask', () => {
    // 0.1 /day billed every 10 days = 1 per period; the ask of 3 /month is 0.1 /day → accept
    expect(askedRatesAccept({ runningPerHour: '2.448', storagePerMonth: '3' }, { ...virt8, storageAmount: 10 }, win2000Pro)).toBe(true);
  });
});

describe('rates as unreduced fractions (the search fast path)', () => {
  it('compares equal rates written differently as equal, without reducing', () => {
    // 4000 bogomips on 1000-unit chunks at 0.00001 and on 2000-unit chunks at 0.00002: 0.00004 /s both,
    // kept as 4000 × 1 / (1000 × 100000) and 4000 × 1 / (2000 × 50000) and never reduced
    const a = runningRate(virt8, 4000n, 0n);
    const b = runningRate({ ...virt8, speedUnit: 2000, speedUnitPrice: '0.00002' }, 4000n, 0n);
    expect(compareRates(a, b)).toBe(0);
    // one smallest money unit more per unit and it is dearer
    expect(compareRates(a, runningRate({ ...virt8, speedUnitPrice: '0.000010000001' }, 4000n, 0n))).toBe(-1);
    expect(compareRates(storageRate(virt8, 1000n), storageRate(virt8, 999n))).toBe(1);
  });

  it('agrees with the Ratio functions and quote', () => {
    const running = runningRate(virt8, 4000n, 256n);
    const storage = storageRate(virt8, 1000n);
    expect(Ratio.of(running.num, running.den).eq(runningRatePerSecond(virt8, win2000Pro))).toBe(true);
    expect(Ratio.of(storage.num, storage.den).eq(storageRatePerDay(virt8, win2000Pro))).toBe(true);
    expect(quoteRates(virt8, running, storage)).toEqual(quote(virt8, win2000Pro));
  });

  it('parses each price string once and refuses a bad one every time', () => {
    expect(parsePrice('0.00001')).toBe(parsePrice('0.00001'));
    expect(parsePrice('1e-5').eq(parsePrice('0.00001'))).toBe(true);
    expect(() => parsePrice('cheap')).toThrow(/not a number/);
    expect(() => parsePrice('cheap')).toThrow(/not a number/);
  });
});
