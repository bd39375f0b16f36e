import { type MarketHost, fits, freeResources } from './matching';
import { roundMoney } from './money/money';
import { Ratio } from './money/ratio';
import { DAYS_PER_MONTH, type MachineSize, SECONDS_PER_HOUR, runningRatePerSecond, storageRatePerDay } from './pricing';

export interface MarketAverage {
  storagePerMonth: string;
  runningPerHour: string;
  hostCount: number;
}

/**
 * Mean per-month storage price and per-hour running price over every host whose free resources
 * hold the configuration (report §6.1.9). Means are taken of exact rates and rounded once.
 * null when no host fits: the caller keeps the last published price.
 */
export function marketAverage(hosts: readonly MarketHost[], size: MachineSize): MarketAverage | null {
  const fitting = hosts.filter((host) => fits(freeResources(host.total, host.reserved), size));
  if (fitting.length === 0) return null;
  const count = Ratio.of(fitting.length);
  const sum = (rate: (host: MarketHost) => Ratio) => fitting.reduce((total, host) => total.add(rate(host)), Ratio.ZERO);
  const storagePerDay = sum((host) => storageRatePerDay(host.prices, size)).div(count);
  const runningPerSecond = sum((host) => runningRatePerSecond(host.prices, size)).div(count);
  return {
    storagePerMonth: roundMoney(storagePerDay.mul(Ratio.of(DAYS_PER_MONTH))),
    runningPerHour: roundMoney(runningPerSecond.mul(Ratio.of(SECONDS_PER_HOUR))),
    hostCount: fitting.length,
  };
}
