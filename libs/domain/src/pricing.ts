import { roundMoney } from './money/money';
import { Ratio } from './money/ratio';

/**
 * A host's price sheet (report §5.2.2, table pmseller). Resources are sold in unit chunks:
 * speedUnitPrice and memoryUnitPrice are $ per second per unit, storageUnitPrice $ per day per
 * unit. Units and amounts are positive integers; prices are decimal strings ('0.00001', '1e-07').
 */
export interface HostPrices {
  speedUnit: number; // bogomips per unit
  speedUnitPrice: string;
  memoryUnit: number; // MB per unit
  memoryUnitPrice: string;
  runningUnitAmount: number; // seconds per running charge
  storageUnit: number; // MB per unit
  storageUnitPrice: string;
  storageAmount: number; // days per storage charge
}

/** What a buyer registers: speed in bogomips, memory and disk in MB. */
export interface MachineSize {
  speed: number;
  memory: number;
  disk: number;
}

/** The prices shown in a search result and fixed on a machine when it is stored. */
export interface Quote {
  runningPrice: string; // $ per runningUnitAmount seconds
  runningUnitAmount: number;
  storagePrice: string; // $ per storageAmount days
  storageAmount: number;
  runningPerHour: string;
  storagePerMonth: string; // a month is 30 days, as in the buyer's asked price
}

export const SECONDS_PER_HOUR = 3600;
export const DAYS_PER_MONTH = 30;

function wholeNumber(value: number, field: string, min: number): Ratio {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${field} must be an integer of at least ${min}, got ${value}`);
  }
  return Ratio.of(value);
}
const unit = (value: number, field: string) => wholeNumber(value, field, 1);
const amount = (value: number, field: string) => wholeNumber(value, field, 0);

/** Units are fractional: a 50 MB disk on 100 MB units is half a unit, never rounded up. */
function unitsOf(size: number, sizeField: string, unitSize: number, unitField: string): Ratio {
  return amount(size, sizeField).div(unit(unitSize, unitField));
}

/** $ per second while running = speed/speedUnit × speedUnitPrice + memory/memoryUnit × memoryUnitPrice. */
export function runningRatePerSecond(prices: HostPrices, size: MachineSize): Ratio {
  const speed = unitsOf(size.speed, 'speed', prices.speedUnit, 'speedUnit').mul(Ratio.parse(prices.speedUnitPrice));
  const memory = unitsOf(size.memory, 'memory', prices.memoryUnit, 'memoryUnit').mul(Ratio.parse(prices.memoryUnitPrice));
  return speed.add(memory);
}

/** $ per day while stored = disk/storageUnit × storageUnitPrice. */
export function storageRatePerDay(prices: HostPrices, size: MachineSize): Ratio {
  return unitsOf(size.disk, 'disk', prices.storageUnit, 'storageUnit').mul(Ratio.parse(prices.storageUnitPrice));
}

export function runningPricePerPeriod(prices: HostPrices, size: MachineSize): string {
  return roundMoney(runningRatePerSecond(prices, size).mul(unit(prices.runningUnitAmount, 'runningUnitAmount')));
}

export function storagePricePerPeriod(prices: HostPrices, size: MachineSize): string {
  return roundMoney(storageRatePerDay(prices, size).mul(unit(prices.storageAmount, 'storageAmount')));
}

export function quote(prices: HostPrices, size: MachineSize): Quote {
  return {
    runningPrice: runningPricePerPeriod(prices, size),
    runningUnitAmount: prices.runningUnitAmount,
    storagePrice: storagePricePerPeriod(prices, size),
    storageAmount: prices.storageAmount,
    runningPerHour: roundMoney(runningRatePerSecond(prices, size).mul(Ratio.of(SECONDS_PER_HOUR))),
    storagePerMonth: roundMoney(storageRatePerDay(prices, size).mul(Ratio.of(DAYS_PER_MONTH))),
  };
}

/** What the buyer bids: $ per 30-day month for storage, $ per hour for running. */
export interface AskedPrices {
  storagePerMonth: string;
  runningPerHour: string;
}

/**
 * Compared as exact rates, not as period prices: a host billing every 10 days and a buyer asking
 * per month must meet on $ per day, and rounding either side could flip an exact tie.
 */
export function askedRatesAccept(asked: AskedPrices, prices: HostPrices, size: MachineSize): boolean {
  const askedPerDay = Ratio.parse(asked.storagePerMonth).div(Ratio.of(DAYS_PER_MONTH));
  const askedPerSecond = Ratio.parse(asked.runningPerHour).div(Ratio.of(SECONDS_PER_HOUR));
  return storageRatePerDay(prices, size).lte(askedPerDay) && runningRatePerSecond(prices, size).lte(askedPerSecond);
}
