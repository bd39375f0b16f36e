import { formatRate } from './billing-format';
import { Ratio } from './money/ratio';
import { type HostPrices, parsePrice } from './pricing';

/**
 * The market's resource prices in one set of normalised units, so hosts that sell in different
 * chunks compare (report §5.2.5: providers watch "the market averages for physical resources"):
 *   speed:   $ per second for 1000 bogomips     = speedUnitPrice × 1000 / speedUnit
 *   memory:  $ per second for 1 MB              = memoryUnitPrice / memoryUnit
 *   storage: $ per day for 100 MB               = storageUnitPrice × 100 / storageUnit
 * virt8 (fig. 27: 1000 bogomips at 0.00001/s, 4 MB at 0.00001/s, 100 MB at 0.01/day) is
 * 0.00001, 0.0000025 and 0.01.
 */
export const SPEED_PRICE_BOGOMIPS = 1000;
export const STORAGE_PRICE_MB = 100;

export interface ResourcePrices {
  /** $ per second for 1000 bogomips. */
  speedPer1000BogomipsPerSecond: string;
  /** $ per second for 1 MB of memory. */
  memoryPerMbPerSecond: string;
  /** $ per day for 100 MB of storage. */
  storagePer100MbPerDay: string;
}

function normalised(prices: HostPrices): { speed: Ratio; memory: Ratio; storage: Ratio } {
  return {
    speed: parsePrice(prices.speedUnitPrice).mul(Ratio.of(SPEED_PRICE_BOGOMIPS, prices.speedUnit)),
    memory: parsePrice(prices.memoryUnitPrice).div(Ratio.of(prices.memoryUnit)),
    storage: parsePrice(prices.storageUnitPrice).mul(Ratio.of(STORAGE_PRICE_MB, prices.storageUnit)),
  };
}

/** One host's resource prices in the normalised units (exact text, formatRate). */
export function resourcePrices(prices: HostPrices): ResourcePrices {
  const { speed, memory, storage } = normalised(prices);
  return { speedPer1000BogomipsPerSecond: formatRate(speed), memoryPerMbPerSecond: formatRate(memory), storagePer100MbPerDay: formatRate(storage) };
}

/**
 * The mean of every host's normalised prices (each host counts once, whatever its size), exact
 * until shown; null for an empty market. Price sheets shared by many hosts are worked out once.
 */
export function meanResourcePrices(sheets: readonly HostPrices[]): (ResourcePrices & { hostCount: number }) | null {
  if (sheets.length === 0) return null;
  const seen = new Map<HostPrices, ReturnType<typeof normalised>>();
  let speed = Ratio.ZERO;
  let memory = Ratio.ZERO;
  let storage = Ratio.ZERO;
  for (const sheet of sheets) {
    let each = seen.get(sheet);
    if (each === undefined) {
      each = normalised(sheet);
      seen.set(sheet, each);
    }
    speed = speed.add(each.speed);
    memory = memory.add(each.memory);
    storage = storage.add(each.storage);
  }
  const count = Ratio.of(sheets.length);
  return {
    speedPer1000BogomipsPerSecond: formatRate(speed.div(count)),
    memoryPerMbPerSecond: formatRate(memory.div(count)),
    storagePer100MbPerDay: formatRate(storage.div(count)),
    hostCount: sheets.length,
  };
}

/**
 * Bucket boundaries for showing at most `points` points of a time series over [from, to]: the
 * series keeps the last point in each bucket (a price holds until the next one). Integer ms.
 */
export function historyBucketMs(from: number, to: number, points: number): number {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || to < from) throw new RangeError(`bad range ${from}..${to}`);
  if (!Number.isSafeInteger(points) || points < 1) throw new RangeError(`points must be at least 1, got ${points}`);
  return Math.max(1, Math.ceil((to - from + 1) / points));
}
