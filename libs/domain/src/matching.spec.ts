import { describe, expect, it } from 'vitest';
import { type MarketHost, fits, freeResources, migrateSearch, release, reserve, storeSearch } from './matching';
import type { HostPrices } from './pricing';

// Price sheets of report figs. 27 and 33 (see pricing.spec.ts for how they reproduce the figures).
const virt8Prices: HostPrices = {
  speedUnit: 1000,
  speedUnitPrice: '0.00001',
  memoryUnit: 4,
  memoryUnitPrice: '0.00001',
  runningUnitAmount: 3600,
  storageUnit: 100,
  storageUnitPrice: '0.01',
  storageAmount: 30,
};
const cheap: HostPrices = { ...virt8Prices, speedUnitPrice: '1e-07', memoryUnitPrice: '1e-08', storageUnitPrice: '0.1' };
const dear: HostPrices = { ...virt8Prices, speedUnitPrice: '1e-05', memoryUnitPrice: '1e-06', storageUnitPrice: '0.1' };

const host = (name: string, prices: HostPrices, freeSpeed = 10000): MarketHost => ({
  id: `id-${name}`,
  name,
  prices,
  total: { speed: 10000, memory: 1024, storage: 10000 },
  reserved: { speed: 10000 - freeSpeed, memory: 0, storage: 0 },
});

const win2000Pro = { speed: 4000, memory: 256, disk: 1000 };

describe('free resources and fitting', () => {
  const total = { speed: 10000, memory: 512, storage: 100000 };

  it('fits exactly at the boundary and not one over', () => {
    // 10000 − 6000 = 4000 bogomips free, 512 − 256 = 256 MB, 100000 − 99000 = 1000 MB: exactly win2000Pro
    const free = freeResources(total, { speed: 6000, memory: 256, storage: 99000 });
    expect(free).toEqual({ speed: 4000, memory: 256, storage: 1000 });
    expect(fits(free, win2000Pro)).toBe(true);
    expect(fits(free, { ...win2000Pro, speed: 4001 })).toBe(false);
    expect(fits(free, { ...win2000Pro, memory: 257 })).toBe(false);
    expect(fits(free, { ...win2000Pro, disk: 1001 })).toBe(false);
  });

  it('reserves and releases without touching its inputs', () => {
    const none = { speed: 0, memory: 0, storage: 0 };
    // two win2000Pro: 8000 bogomips, 512 MB, 2000 MB; a third needs 12000 > 10000
    const once = reserve(none, win2000Pro, total);
    const twice = reserve(once, win2000Pro, total);
    expect(twice).toEqual({ speed: 8000, memory: 512, storage: 2000 });
    expect(once).toEqual({ speed: 4000, memory: 256, storage: 1000 });
    expect(() => reserve(twice, win2000Pro, total)).toThrow(RangeError);
    expect(release(twice, win2000Pro)).toEqual(once);
    expect(() => release(once, { ...win2000Pro, disk: 1001 })).toThrow(/Cannot release/);
  });
});

describe('store search (report figs. 11 and 31)', () => {
  const hosts = [
    host('virt13', dear),
    host('virt8', virt8Prices),
    host('virt5', cheap),
    host('virt17', cheap),
    host('virt10', cheap, 0), // fig. 33: no speed left
  ];

  it('fig. 31: asking 60 /month and 10.11 /hour lists every fitting host, cheapest to run first', () => {
    // running per hour: virt5 = virt17 = 0.003744 (tie → by name), virt13 0.3744, virt8 2.448; virt10 has no speed
    const offers = storeSearch(hosts, win2000Pro, { storagePerMonth: '60', runningPerHour: '10.11' });
    expect(offers.map((offer) => [offer.host.name, offer.quote.runningPrice, offer.quote.storagePrice])).toEqual([
      ['virt17', '0.003744', '30'],
      ['virt5', '0.003744', '30'],
      ['virt13', '0.3744', '30'],
      ['virt8', '2.448', '3'],
    ]);
  });

  it('orders equal running rates by storage rate before name', () => {
    // same running rate as virt17, storage 0.05 instead of 0.1 per unit → first
    const cheaperStorage = host('zz', { ...cheap, storageUnitPrice: '0.05' });
    const offers = storeSearch([host('virt17', cheap), cheaperStorage], win2000Pro, { storagePerMonth: '60', runningPerHour: '1' });
    expect(offers.map((offer) => offer.host.name)).toEqual(['zz', 'virt17']);
  });

  it('fig. 11: asking 3 /month and 0.064386 /hour for Configuration1 leaves out the dear hosts', () => {
    // virt17/virt5 at 0.002016 /hour pass; virt13 at 0.2016 and virt8 at 0.72 /hour do not
    // (virt8: (4 × 0.00001 + 16 × 0.00001) × 3600 = 0.72)
    const offers = storeSearch(hosts, { speed: 4000, memory: 64, disk: 100 }, { storagePerMonth: '3', runningPerHour: '0.064386' });
    expect(offers.map((offer) => offer.host.name)).toEqual(['virt17', 'virt5']);
  });

  it('fig. 14: an ask too low for anyone finds nothing', () => {
    expect(storeSearch(hosts, win2000Pro, { storagePerMonth: '1', runningPerHour: '0.001' })).toEqual([]);
  });
});

describe('migrate search (report fig. 20)', () => {
  it('lists every other fitting host with its quote, whatever the price', () => {
    // Configuration1 on virt17: virt5 0.002016, virt13 0.2016, virt8 0.72 per hour; virt10 lacks speed
    const hosts = [host('virt17', cheap), host('virt13', dear), host('virt8', virt8Prices), host('virt5', cheap), host('virt10', cheap, 0)];
    const offers = migrateSearch(hosts, { speed: 4000, memory: 64, disk: 100 }, 'id-virt17');
    expect(offers.map((offer) => [offer.host.name, offer.quote.runningPerHour])).toEqual([
      ['virt5', '0.002016'],
      ['virt13', '0.2016'],
      ['virt8', '0.72'],
    ]);
  });
});
