import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { marketAverage } from './market';
import { type MarketHost, fits, freeResources } from './matching';
import { roundMoney } from './money/money';
import { Ratio } from './money/ratio';
import type { HostPrices, MachineSize } from './pricing';

// Report fig. 33's two price sheets (speed, memory, storage unit prices) with virt8's units.
const units = { speedUnit: 1000, memoryUnit: 4, runningUnitAmount: 3600, storageUnit: 100, storageAmount: 30 };
const cheap: HostPrices = { ...units, speedUnitPrice: '1e-07', memoryUnitPrice: '1e-08', storageUnitPrice: '0.1' };
const dear: HostPrices = { ...units, speedUnitPrice: '1e-05', memoryUnitPrice: '1e-06', storageUnitPrice: '0.1' };

const host = (name: string, prices: HostPrices, freeSpeed: number): MarketHost => ({
  id: name,
  name,
  prices,
  total: { speed: 10000, memory: 1024, storage: 10000 },
  reserved: { speed: 10000 - freeSpeed, memory: 0, storage: 0 },
});

describe('report fig. 10: market averages of the standard configurations', () => {
  // One market reproduces all three rows of fig. 10: 11 cheap hosts with ≥ 4000 bogomips free,
  // 2 cheap hosts with only 2000–3999 free, and 5 dear hosts with ≥ 4000 free.
  const market = [
    ...Array.from({ length: 11 }, (_, i) => host(`cheap${i}`, cheap, 6000)),
    host('cheap-small-a', cheap, 2000),
    host('cheap-small-b', cheap, 3000),
    ...Array.from({ length: 5 }, (_, i) => host(`dear${i}`, dear, 6000)),
  ];

  it('Configuration1 (4000 bogomips, 64 MB, 100 MB): 3 /month and 0.064386 /hour over 16 hosts', () => {
    // cheap: (4 × 1e-07 + 16 × 1e-08) × 3600 = 0.002016; dear: (4 × 1e-05 + 16 × 1e-06) × 3600 = 0.2016
    // (11 × 0.002016 + 5 × 0.2016) / 16 = (0.022176 + 1.008) / 16 = 1.030176 / 16 = 0.064386
    // storage: every host 100/100 × 0.1 × 30 = 3
    expect(marketAverage(market, { speed: 4000, memory: 64, disk: 100 })).toEqual({
      storagePerMonth: '3',
      runningPerHour: '0.064386',
      hostCount: 16,
    });
  });

  it('Configuration10 (2000 bogomips, 32 MB, 50 MB): 1.5 /month and 0.028728 /hour over 18 hosts', () => {
    // cheap: (2 × 1e-07 + 8 × 1e-08) × 3600 = 0.001008; dear: (2 × 1e-05 + 8 × 1e-06) × 3600 = 0.1008
    // (13 × 0.001008 + 5 × 0.1008) / 18 = (0.013104 + 0.504) / 18 = 0.517104 / 18 = 0.028728
    // storage: 50/100 × 0.1 × 30 = 1.5
    expect(marketAverage(market, { speed: 2000, memory: 32, disk: 50 })).toEqual({
      storagePerMonth: '1.5',
      runningPerHour: '0.028728',
      hostCount: 18,
    });
  });

  it('preconfigured win2000Pro (4000 bogomips, 256 MB, 1000 MB): 30 /month and 0.119574 /hour', () => {
    // cheap 0.003744, dear 0.3744: (11 × 0.003744 + 5 × 0.3744) / 16 = (0.041184 + 1.872) / 16 = 0.119574
    // storage: 1000/100 × 0.1 × 30 = 30
    expect(marketAverage(market, { speed: 4000, memory: 256, disk: 1000 })).toEqual({
      storagePerMonth: '30',
      runningPerHour: '0.119574',
      hostCount: 16,
    });
  });
});

describe('market average edge cases', () => {
  it('rounds the mean once, at the end', () => {
    // storage per month 3, 3 and 6 (storage unit price 0.1, 0.1, 0.2): (3 + 3 + 6) / 3 = 4;
    // running 0.002016 × 2 + 0.2016 = 0.205632 / 3 = 0.068544 exactly
    const hosts = [host('a', cheap, 6000), host('b', cheap, 6000), host('c', { ...dear, storageUnitPrice: '0.2' }, 6000)];
    expect(marketAverage(hosts, { speed: 4000, memory: 64, disk: 100 })).toEqual({
      storagePerMonth: '4',
      runningPerHour: '0.068544',
      hostCount: 3,
    });
    // A non-terminating mean: a 1 MB disk on 300 MB units at 0.1, 0.1, 0.2 per day per unit →
    // per month 1/300 × 30 × (0.1 + 0.1 + 0.2) / 3 = 0.04 / 3 = 0.013333… → 0.013333333333
    const thirds = hosts.map((h) => ({ ...h, prices: { ...h.prices, storageUnit: 300 } }));
    expect(marketAverage(thirds, { speed: 0, memory: 0, disk: 1 })?.storagePerMonth).toBe('0.013333333333');
  });

  it('counts only hosts whose free resources fit, and gives null when none does', () => {
    // 'b' has only 3999 bogomips free: the mean is 'a' alone
    const hosts = [host('a', cheap, 4000), host('b', dear, 3999)];
    expect(marketAverage(hosts, { speed: 4000, memory: 64, disk: 100 })).toMatchObject({ runningPerHour: '0.002016', hostCount: 1 });
    expect(marketAverage(hosts, { speed: 4001, memory: 64, disk: 100 })).toBeNull();
    expect(marketAverage([], { speed: 1, memory: 1, disk: 1 })).toBeNull();
  });
});

describe('market average against a plain reference', () => {
  // The mean the obvious way: one exact Ratio sum over the fitting hosts, divided, rounded once.
  const reference = (hosts: MarketHost[], size: MachineSize) => {
    const fitting = hosts.filter((h) => fits(freeResources(h.total, h.reserved), size));
    if (fitting.length === 0) return null;
    const mean = (rate: (p: HostPrices) => Ratio) => fitting.reduce((sum, h) => sum.add(rate(h.prices)), Ratio.ZERO).div(Ratio.of(fitting.length));
    return {
      storagePerMonth: roundMoney(mean((p) => Ratio.of(size.disk, p.storageUnit).mul(Ratio.parse(p.storageUnitPrice))).mul(Ratio.of(30))),
      runningPerHour: roundMoney(
        mean((p) =>
          Ratio.of(size.speed, p.speedUnit)
            .mul(Ratio.parse(p.speedUnitPrice))
            .add(Ratio.of(size.memory, p.memoryUnit).mul(Ratio.parse(p.memoryUnitPrice))),
        ).mul(Ratio.of(3600)),
      ),
      hostCount: fitting.length,
    };
  };
  const price = fc.constantFrom('0.00001', '1e-5', '0.00002', '0.000015', '3e-7', '0.1', '0.07', '0.003', '0');
  const arbHost = fc
    .record({
      speedUnit: fc.constantFrom(1, 3, 1000, 2000),
      speedUnitPrice: price,
      memoryUnit: fc.constantFrom(1, 3, 4, 7),
      memoryUnitPrice: price,
      storageUnit: fc.constantFrom(7, 50, 100, 300),
      storageUnitPrice: price,
      freeSpeed: fc.integer({ min: 0, max: 10000 }),
    })
    .map(({ freeSpeed, ...prices }) => host('h', { ...units, ...prices }, freeSpeed));
  const arbSize = fc.record({ speed: fc.integer({ min: 0, max: 8000 }), memory: fc.integer({ min: 0, max: 1024 }), disk: fc.integer({ min: 0, max: 10000 }) });

  it('gives the same means and count over many distinct units and prices', () => {
    fc.assert(
      fc.property(fc.array(arbHost, { maxLength: 60 }), arbSize, (hosts, size) => {
        expect(marketAverage(hosts, size)).toEqual(reference(hosts, size));
      }),
      { numRuns: 300 },
    );
  });
});
