import { describe, expect, it } from 'vitest';
import { type HostForExplanation, explainNoOffer } from './no-offer';
import type { HostPrices } from './pricing';

/**
 * win2000Pro (4000 bogomips, 256 MB, 1000 MB) on hosts with virt8's units (1000 bogomips, 4 MB,
 * 100 MB; running period 3600 s, storage period 30 days):
 *
 *   host   speed/s  memory/s  storage/day  per hour                              per month
 *   a      0.00001  0.00001   0.01         (4 + 64) × 0.00001 × 3600 = 2.448     10 × 0.01 × 30 = 3
 *   b      0.00002  0.00001   0.005        (8 + 64) × 0.00001 × 3600 = 2.592     10 × 0.005 × 30 = 1.5
 *
 * So the cheapest to run is a at 2.448 per hour, the cheapest to store b at 1.5 per month.
 */
const virt8: HostPrices = {
  speedUnit: 1000,
  speedUnitPrice: '0.00001',
  memoryUnit: 4,
  memoryUnitPrice: '0.00001',
  runningUnitAmount: 3600,
  storageUnit: 100,
  storageUnitPrice: '0.01',
  storageAmount: 30,
};
const bPrices: HostPrices = { ...virt8, speedUnitPrice: '0.00002', storageUnitPrice: '0.005' };
const host = (name: string, prices: HostPrices, free: { speed?: number; memory?: number; storage?: number } = {}, online = true): HostForExplanation => ({
  id: `id-${name}`,
  name,
  prices,
  online,
  total: { speed: 10000, memory: 1024, storage: 10000 },
  reserved: { speed: 10000 - (free.speed ?? 10000), memory: 1024 - (free.memory ?? 1024), storage: 10000 - (free.storage ?? 10000) },
});
const win2000Pro = { speed: 4000, memory: 256, disk: 1000 };
const a = host('a', virt8);
const b = host('b', bPrices);

describe('explainNoOffer', () => {
  it('price: the running ask is below the cheapest to run (2.448 per hour on a); storage is met by b (1.5 ≤ 60)', () => {
    expect(explainNoOffer([a, b], win2000Pro, { runningPerHour: '2.4', storagePerMonth: '60' })).toEqual({
      reason: 'price',
      message: '2 hosts can hold it, the cheapest at 1.5 per month and 2.448 per hour: raise your asked running price to at least 2.448 per hour.',
      hostsThatFitSize: 2,
      cheapestStoragePerMonth: '1.5',
      cheapestRunningPerHour: '2.448',
    });
  });

  it('price: both asks below the cheapest (2 < 2.448 per hour, 1 < 1.5 per month)', () => {
    const explained = explainNoOffer([a, b], win2000Pro, { runningPerHour: '2', storagePerMonth: '1' });
    expect(explained.reason).toBe('price');
    expect(explained.message).toBe(
      '2 hosts can hold it, the cheapest at 1.5 per month and 2.448 per hour: raise your asked running price to at least 2.448 per hour and your asked storage price to at least 1.5 per month.',
    );
  });

  it('price: each ask is met by one host, never both by the same (a: 2.448 ≤ 2.5 but 3 > 2; b: 1.5 ≤ 2 but 2.592 > 2.5)', () => {
    expect(explainNoOffer([a, b], win2000Pro, { runningPerHour: '2.5', storagePerMonth: '2' }).message).toBe(
      '2 hosts can hold it, the cheapest at 1.5 per month and 2.448 per hour, but no one host is within both asked prices: a runs it at 2.448 per hour but stores it at 3 per month; raise your asked storage price to at least 3 per month, or your running price.',
    );
  });

  it("none: asks equal to a host's exact rates are accepted (2.448 and 3 on a), so nothing stands in the way", () => {
    expect(explainNoOffer([a, b], win2000Pro, { runningPerHour: '2.448', storagePerMonth: '3' })).toEqual({
      reason: 'none',
      message: '1 host can hold it at your asked prices: search again.',
      hostsThatFitSize: 2,
      cheapestStoragePerMonth: '1.5',
      cheapestRunningPerHour: '2.448',
    });
  });

  it('size: one resource no online host has enough of, with the largest free (2000 of the 4000 bogomips asked)', () => {
    const small = [host('s1', virt8, { speed: 2000 }), host('s2', virt8, { speed: 1500 })];
    expect(explainNoOffer(small, win2000Pro, { runningPerHour: '100', storagePerMonth: '100' })).toEqual({
      reason: 'size',
      message: 'No online host has 4000 bogomips free; the largest free is 2000 bogomips: choose a smaller size.',
      hostsThatFitSize: 0,
      cheapestStoragePerMonth: null,
      cheapestRunningPerHour: null,
    });
    const tight = [host('s1', virt8, { speed: 2000, memory: 128 })];
    expect(explainNoOffer(tight, win2000Pro, { runningPerHour: '100', storagePerMonth: '100' }).message).toBe(
      'No online host has 4000 bogomips and 256 MB memory free; the largest free is 2000 bogomips and 128 MB memory: choose a smaller size.',
    );
  });

  it('size: every resource is free somewhere but never all on one host; the closest host (x: 192/256 of the memory) shows what fits', () => {
    // x: min(4000/4000, 192/256, 10000/1000) = 0.75; y: min(2000/4000, 1024/256, 10) = 0.5.
    const hosts = [host('y', virt8, { speed: 2000 }), host('x', virt8, { speed: 4000, memory: 192 })];
    expect(explainNoOffer(hosts, win2000Pro, { runningPerHour: '100', storagePerMonth: '100' }).message).toBe(
      'No online host has 4000 bogomips, 256 MB memory and 1000 MB disk free at once; x has 4000 bogomips, 192 MB memory and 10000 MB disk free: choose a size within that.',
    );
  });

  it('offline: the only host with room is offline (the online one is too small); no host online at all', () => {
    const hosts = [host('big-offline', virt8, {}, false), host('small-online', virt8, { speed: 1000 })];
    expect(explainNoOffer(hosts, win2000Pro, { runningPerHour: '100', storagePerMonth: '100' })).toEqual({
      reason: 'offline',
      message: '1 host could hold it, but its agent is offline: try again later or choose a smaller size.',
      hostsThatFitSize: 0,
      cheapestStoragePerMonth: null,
      cheapestRunningPerHour: null,
    });
    const allOffline = [host('o1', virt8, { speed: 1000 }, false)];
    expect(explainNoOffer(allOffline, win2000Pro, { runningPerHour: '100', storagePerMonth: '100' })).toMatchObject({
      reason: 'offline',
      message: 'No host is online right now: try again later.',
    });
    const twoOffline = [host('o1', virt8, {}, false), host('o2', virt8, {}, false)];
    expect(explainNoOffer(twoOffline, win2000Pro, { runningPerHour: '1', storagePerMonth: '1' }).message).toBe(
      '2 hosts could hold it, but their agents are offline: try again later.',
    );
  });

  it('none: an empty market', () => {
    expect(explainNoOffer([], win2000Pro, { runningPerHour: '1', storagePerMonth: '1' })).toEqual({
      reason: 'none',
      message: 'No host is in the market yet.',
      hostsThatFitSize: 0,
      cheapestStoragePerMonth: null,
      cheapestRunningPerHour: null,
    });
  });
});
