import { type MarketHost, hasRoomFor } from './matching';
import { roundMoney } from './money/money';
import { Ratio } from './money/ratio';
import { DAYS_PER_MONTH, type HostPrices, type MachineSize, type Rate, SECONDS_PER_HOUR, exactSize, runningRate, storageRate } from './pricing';

export interface MarketAverage {
  storagePerMonth: string;
  runningPerHour: string;
  hostCount: number;
}

/**
 * An exact sum of many rates. Rates are kept unreduced, so hosts sharing units and price
 * denominators share a denominator: numerators are added per denominator and the few distinct
 * denominators are brought together once at the end.
 */
class RateSum {
  private readonly byDenominator = new Map<bigint, bigint>();

  add(rate: Rate): void {
    this.byDenominator.set(rate.den, (this.byDenominator.get(rate.den) ?? 0n) + rate.num);
  }

  value(): Ratio {
    let sum = Ratio.ZERO;
    for (const [den, num] of this.byDenominator) sum = sum.add(Ratio.of(num, den));
    return sum;
  }
}

/**
 * Mean per-month storage price and per-hour running price over every host whose free resources
 * hold the configuration (report §6.1.9). Means are taken of exact rates and rounded once.
 * null when no host fits: the caller keeps the last published price.
 */
export function marketAverage(hosts: readonly MarketHost[], size: MachineSize): MarketAverage | null {
  const exact = exactSize(size);
  const storage = new RateSum();
  const running = new RateSum();
  // Hosts sharing one price sheet object share its rates: worked out once.
  const sheets = new Map<HostPrices, { running: Rate; storage: Rate }>();
  let count = 0;
  for (const host of hosts) {
    if (!hasRoomFor(host, size)) continue;
    let sheet = sheets.get(host.prices);
    if (sheet === undefined) {
      sheet = { running: runningRate(host.prices, exact.speed, exact.memory), storage: storageRate(host.prices, exact.disk) };
      sheets.set(host.prices, sheet);
    }
    storage.add(sheet.storage);
    running.add(sheet.running);
    count += 1;
  }
  if (count === 0) return null;
  const hostCount = Ratio.of(count);
  return {
    storagePerMonth: roundMoney(storage.value().div(hostCount).mul(Ratio.of(DAYS_PER_MONTH))),
    runningPerHour: roundMoney(running.value().div(hostCount).mul(Ratio.of(SECONDS_PER_HOUR))),
    hostCount: count,
  };
}
