import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type MarketHost, fits, freeResources, hasRoomFor, migrateSearch, release, reserve, storeSearch } from './matching';
import { roundMoney } from './money/money';
import { Ratio } from './money/ratio';
import type { AskedPrices, HostPrices, MachineSize } from './pricing';

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
    const { offers, total } = storeSearch(hosts, win2000Pro, { storagePerMonth: '60', runningPerHour: '10.11' });
    expect(offers.map((offer) => [offer.host.name, offer.quote.runningPrice, offer.quote.storagePrice])).toEqual([
      ['virt17', '0.003744', '30'],
      ['virt5', '0.003744', '30'],
      ['virt13', '0.3744', '30'],
      ['virt8', '2.448', '3'],
    ]);
    expect(total).toBe(4);
  });

  it('orders equal running rates by storage rate before name', () => {
    // same running rate as virt17, storage 0.05 instead of 0.1 per unit → first
    const cheaperStorage = host('zz', { ...cheap, storageUnitPrice: '0.05' });
    const { offers } = storeSearch([host('virt17', cheap), cheaperStorage], win2000Pro, { storagePerMonth: '60', runningPerHour: '1' });
    expect(offers.map((offer) => offer.host.name)).toEqual(['zz', 'virt17']);
  });

  it('fig. 11: asking 3 /month and 0.064386 /hour for Configuration1 leaves out the dear hosts', () => {
    // virt17/virt5 at 0.002016 /hour pass; virt13 at 0.2016 and virt8 at 0.72 /hour do not
    // (virt8: (4 × 0.00001 + 16 × 0.00001) × 3600 = 0.72)
    const { offers } = storeSearch(hosts, { speed: 4000, memory: 64, disk: 100 }, { storagePerMonth: '3', runningPerHour: '0.064386' });
    expect(offers.map((offer) => offer.host.name)).toEqual(['virt17', 'virt5']);
  });

  it('fig. 14: an ask too low for anyone finds nothing', () => {
    expect(storeSearch(hosts, win2000Pro, { storagePerMonth: '1', runningPerHour: '0.001' })).toEqual({ offers: [], total: 0 });
  });
});

describe('migrate search (report fig. 20)', () => {
  it('lists every other fitting host with its quote, whatever the price', () => {
    // Configuration1 on virt17: virt5 0.002016, virt13 0.2016, virt8 0.72 per hour; virt10 lacks speed
    const hosts = [host('virt17', cheap), host('virt13', dear), host('virt8', virt8Prices), host('virt5', cheap), host('virt10', cheap, 0)];
    const { offers, total } = migrateSearch(hosts, { speed: 4000, memory: 64, disk: 100 }, 'id-virt17');
    expect(offers.map((offer) => [offer.host.name, offer.quote.runningPerHour])).toEqual([
      ['virt5', '0.002016'],
      ['virt13', '0.2016'],
      ['virt8', '0.72'],
    ]);
    expect(total).toBe(3);
  });
});

describe('limit and total', () => {
  // win2000Pro asking 60 /month and 10.11 /hour; running per hour (see fig. 31 above):
  // virt17 = virt5 = 0.003744, virt13 0.3744, virt8 2.448; virt10 has no speed free, virt99 is too dear.
  const hosts = [
    host('virt13', dear),
    host('virt8', virt8Prices),
    host('virt99', { ...virt8Prices, speedUnitPrice: '1' }),
    host('virt5', cheap),
    host('virt17', cheap),
    host('virt10', cheap, 0),
  ];
  const asked = { storagePerMonth: '60', runningPerHour: '10.11' };
  const names = (result: { offers: Array<{ host: MarketHost }> }) => result.offers.map((offer) => offer.host.name);

  it('returns the cheapest `limit` offers in order and counts every qualifying host', () => {
    // 4 hosts qualify (virt10 lacks speed; virt99 runs at (4 × 1 + 64 × 0.00001) × 3600 > 10.11)
    expect(storeSearch(hosts, win2000Pro, asked, { limit: 2 })).toMatchObject({ total: 4 });
    expect(names(storeSearch(hosts, win2000Pro, asked, { limit: 2 }))).toEqual(['virt17', 'virt5']);
    expect(names(storeSearch(hosts, win2000Pro, asked, { limit: 3 }))).toEqual(['virt17', 'virt5', 'virt13']);
  });

  it('quotes the limited offers exactly as the unlimited search does', () => {
    const all = storeSearch(hosts, win2000Pro, asked);
    expect(storeSearch(hosts, win2000Pro, asked, { limit: 3 }).offers).toEqual(all.offers.slice(0, 3));
    expect(all.offers[2].quote).toEqual({
      runningPrice: '0.3744',
      runningUnitAmount: 3600,
      storagePrice: '30',
      storageAmount: 30,
      runningPerHour: '0.3744',
      storagePerMonth: '30',
    });
  });

  it('a limit at or above the total returns every offer; limit 0 only counts', () => {
    expect(names(storeSearch(hosts, win2000Pro, asked, { limit: 4 }))).toEqual(['virt17', 'virt5', 'virt13', 'virt8']);
    expect(names(storeSearch(hosts, win2000Pro, asked, { limit: 500 }))).toEqual(['virt17', 'virt5', 'virt13', 'virt8']);
    expect(storeSearch(hosts, win2000Pro, asked, { limit: 0 })).toEqual({ offers: [], total: 4 });
  });

  it('migrate search takes the same options: other fitting hosts, whatever the price', () => {
    // From virt17: virt5, virt13, virt8 and virt99 fit (no price filter); virt10 lacks speed
    const result = migrateSearch(hosts, win2000Pro, 'id-virt17', { limit: 2 });
    expect(result.total).toBe(4);
    expect(names(result)).toEqual(['virt5', 'virt13']);
  });

  it('refuses a limit that is not a whole number of at least 0', () => {
    for (const limit of [-1, 1.5, Number.NaN, Infinity]) {
      expect(() => storeSearch(hosts, win2000Pro, asked, { limit })).toThrow(/limit/);
    }
  });
});

describe('tie ordering', () => {
  const asked = { storagePerMonth: '1000', runningPerHour: '1000' };
  const names = (result: { offers: Array<{ host: MarketHost }> }) => result.offers.map((offer) => offer.host.name);

  it('equal rates written differently tie exactly and fall back to the name', () => {
    // Per second for win2000Pro: 4000/1000 × 0.00001 + 256/4 × 0.00001 = 0.00068 on each of:
    //   'b' writes the same prices as 1e-5; 'c' sells 2000-bogomip units at 0.00002 and 8 MB at
    //   0.00002 (the same per bogomip and per MB); 'a' bills every 60 s instead of every hour
    //   (a period, not a rate). Storage 10 × 0.01 = 0.1 /day on all three, 20 × 0.005 on 'c'.
    const a = host('a', { ...virt8Prices, runningUnitAmount: 60 });
    const b = host('b', { ...virt8Prices, speedUnitPrice: '1e-5', memoryUnitPrice: '1e-5' });
    const c = host('c', {
      ...virt8Prices,
      speedUnit: 2000,
      speedUnitPrice: '0.00002',
      memoryUnit: 8,
      memoryUnitPrice: '0.00002',
      storageUnit: 50,
      storageUnitPrice: '0.005',
    });
    expect(names(storeSearch([c, b, a], win2000Pro, asked))).toEqual(['a', 'b', 'c']);
    expect(names(storeSearch([c, b, a], win2000Pro, asked, { limit: 2 }))).toEqual(['a', 'b']);
    // 'a' quotes its own period: 0.00068 × 60 = 0.0408 per 60 s, the same 2.448 per hour
    expect(storeSearch([c, b, a], win2000Pro, asked).offers[0].quote).toMatchObject({ runningPrice: '0.0408', runningUnitAmount: 60, runningPerHour: '2.448' });
  });

  it('names compare by code unit, as before: upper case before lower, "virt17" before "virt5"', () => {
    const hosts = [host('virt5', cheap), host('alpha', cheap), host('Zulu', cheap), host('virt17', cheap)];
    expect(names(storeSearch(hosts, win2000Pro, asked))).toEqual(['Zulu', 'alpha', 'virt17', 'virt5']);
    expect(names(storeSearch(hosts, win2000Pro, asked, { limit: 3 }))).toEqual(['Zulu', 'alpha', 'virt17']);
  });

  it('hosts equal on rates and name (two providers) keep the order they were given in, with or without a limit', () => {
    const first = { ...host('same', cheap), id: 'first' };
    const second = { ...host('same', cheap), id: 'second' };
    const third = { ...host('same', cheap), id: 'third' };
    const ids = (result: { offers: Array<{ host: MarketHost }> }) => result.offers.map((offer) => offer.host.id);
    expect(ids(storeSearch([first, second, third], win2000Pro, asked))).toEqual(['first', 'second', 'third']);
    expect(ids(storeSearch([third, first, second], win2000Pro, asked))).toEqual(['third', 'first', 'second']);
    expect(ids(storeSearch([first, second, third], win2000Pro, asked, { limit: 2 }))).toEqual(['first', 'second']);
    expect(ids(storeSearch([third, first, second], win2000Pro, asked, { limit: 1 }))).toEqual(['third']);
  });

  it('storage decides between equal running rates even when a limit cuts the list', () => {
    // running equal (cheap); storage per day 10 × 0.1 = 1 for 'a', 10 × 0.05 = 0.5 for 'z', 10 × 0.01 = 0.1 for 'm'
    const hosts = [host('a', cheap), host('z', { ...cheap, storageUnitPrice: '0.05' }), host('m', { ...cheap, storageUnitPrice: '0.01' })];
    expect(names(storeSearch(hosts, win2000Pro, asked, { limit: 2 }))).toEqual(['m', 'z']);
  });
});

describe('search against a plain reference (filter, stable sort of exact Ratios, slice)', () => {
  // The rules written the slow, obvious way, independently of pricing.ts's fast path.
  const rateRunning = (p: HostPrices, s: MachineSize) =>
    Ratio.of(s.speed, p.speedUnit)
      .mul(Ratio.parse(p.speedUnitPrice))
      .add(Ratio.of(s.memory, p.memoryUnit).mul(Ratio.parse(p.memoryUnitPrice)));
  const rateStorage = (p: HostPrices, s: MachineSize) => Ratio.of(s.disk, p.storageUnit).mul(Ratio.parse(p.storageUnitPrice));
  const reference = (hosts: MarketHost[], size: MachineSize, asked: AskedPrices | null, skip: string | null, limit?: number) => {
    const qualifying = hosts
      .filter((h) => fits(freeResources(h.total, h.reserved), size) && h.id !== skip)
      .filter(
        (h) =>
          !asked ||
          (rateStorage(h.prices, size).lte(Ratio.parse(asked.storagePerMonth).div(Ratio.of(30))) &&
            rateRunning(h.prices, size).lte(Ratio.parse(asked.runningPerHour).div(Ratio.of(3600)))),
      )
      .sort(
        (a, b) =>
          rateRunning(a.prices, size).compare(rateRunning(b.prices, size)) ||
          rateStorage(a.prices, size).compare(rateStorage(b.prices, size)) ||
          (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
      );
    const offers = qualifying.slice(0, limit ?? qualifying.length).map((h) => ({
      id: h.id,
      runningPrice: roundMoney(rateRunning(h.prices, size).mul(Ratio.of(h.prices.runningUnitAmount))),
      storagePrice: roundMoney(rateStorage(h.prices, size).mul(Ratio.of(h.prices.storageAmount))),
      runningPerHour: roundMoney(rateRunning(h.prices, size).mul(Ratio.of(3600))),
      storagePerMonth: roundMoney(rateStorage(h.prices, size).mul(Ratio.of(30))),
    }));
    return { offers, total: qualifying.length };
  };
  const shape = (result: {
    offers: Array<{ host: MarketHost; quote: { runningPrice: string; storagePrice: string; runningPerHour: string; storagePerMonth: string } }>;
    total: number;
  }) => ({
    offers: result.offers.map(({ host: h, quote: q }) => ({
      id: h.id,
      runningPrice: q.runningPrice,
      storagePrice: q.storagePrice,
      runningPerHour: q.runningPerHour,
      storagePerMonth: q.storagePerMonth,
    })),
    total: result.total,
  });

  // Few distinct values, so that ties on every key are common: either a sheet from a small pool
  // (some writing the same rates differently) or one drawn field by field.
  const price = fc.constantFrom('0.00001', '1e-5', '0.00002', '0.000015', '0.00003', '1e-07', '0.1', '0.01', '0.05', '0.003', '0');
  const drawnSheet: fc.Arbitrary<HostPrices> = fc.record({
    speedUnit: fc.constantFrom(1, 3, 1000, 2000),
    speedUnitPrice: price,
    memoryUnit: fc.constantFrom(1, 3, 4, 8),
    memoryUnitPrice: price,
    runningUnitAmount: fc.constantFrom(1, 60, 3600),
    storageUnit: fc.constantFrom(7, 50, 100),
    storageUnitPrice: price,
    storageAmount: fc.constantFrom(1, 10, 30),
  });
  const pooledSheet = fc.constantFrom<HostPrices>(
    virt8Prices,
    { ...virt8Prices, speedUnitPrice: '1e-5', memoryUnitPrice: '1e-5', runningUnitAmount: 60 },
    { ...virt8Prices, speedUnit: 2000, speedUnitPrice: '0.00002', memoryUnit: 8, memoryUnitPrice: '0.00002', storageUnit: 50, storageUnitPrice: '0.005' },
    cheap,
    dear,
    { ...cheap, storageUnitPrice: '0.05' },
  );
  const arbHost = (index: number) =>
    fc
      .record({
        name: fc.constantFrom('a', 'B', 'virt5', 'virt17'),
        prices: fc.oneof(pooledSheet, drawnSheet),
        freeSpeed: fc.integer({ min: 0, max: 8000 }),
        freeMemory: fc.integer({ min: 0, max: 512 }),
      })
      .map(({ name, prices, freeSpeed, freeMemory }): MarketHost => ({
        id: `h${index}`,
        name,
        prices,
        total: { speed: 8000, memory: 512, storage: 5000 },
        reserved: { speed: 8000 - freeSpeed, memory: 512 - freeMemory, storage: 0 },
      }));
  const arbHosts = fc.integer({ min: 0, max: 40 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => arbHost(i))));
  const arbSize = fc.record({ speed: fc.integer({ min: 0, max: 6000 }), memory: fc.integer({ min: 0, max: 400 }), disk: fc.integer({ min: 0, max: 3000 }) });
  const arbAsked = fc.record({ storagePerMonth: fc.constantFrom('0', '3', '30', '1000'), runningPerHour: fc.constantFrom('0', '0.72', '2.448', '10', '1000') });
  const arbLimit = fc.option(fc.integer({ min: 0, max: 45 }), { nil: undefined });

  it('store search gives the same offers, order, quotes and total', () => {
    fc.assert(
      fc.property(arbHosts, arbSize, arbAsked, arbLimit, (hosts, size, asked, limit) => {
        expect(shape(storeSearch(hosts, size, asked, { limit }))).toEqual(reference(hosts, size, asked, null, limit));
      }),
      { numRuns: 300 },
    );
  });

  it('migrate search gives the same offers, order, quotes and total', () => {
    fc.assert(
      fc.property(arbHosts, arbSize, arbLimit, (hosts, size, limit) => {
        expect(shape(migrateSearch(hosts, size, 'h0', { limit }))).toEqual(reference(hosts, size, null, 'h0', limit));
      }),
      { numRuns: 300 },
    );
  });

  it('hasRoomFor agrees with fits(freeResources(...))', () => {
    fc.assert(
      fc.property(arbHosts, arbSize, (hosts, size) => {
        for (const h of hosts) expect(hasRoomFor(h, size)).toBe(fits(freeResources(h.total, h.reserved), size));
      }),
    );
  });
});
