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

/**
 * An exact rate as an unreduced fraction num/den, den always positive. Searches compute one per
 * host (or price sheet) and compare them by cross-multiplying; nothing is reduced until a figure is shown.
 */
export interface Rate {
  readonly num: bigint;
  readonly den: bigint;
}

/** −1, 0 or 1 as rate a is below, equal to or above rate b; exact, by cross-multiplication. */
export function compareRates(a: Rate, b: Rate): -1 | 0 | 1 {
  const left = a.num * b.den;
  const right = b.num * a.den;
  return left < right ? -1 : left > right ? 1 : 0;
}

export const rateToRatio = (rate: Rate): Ratio => Ratio.of(rate.num, rate.den);

function wholeNumber(value: number, field: string, min: number): bigint {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${field} must be an integer of at least ${min}, got ${value}`);
  }
  return BigInt(value);
}
const unit = (value: number, field: string) => wholeNumber(value, field, 1);
const amount = (value: number, field: string) => wholeNumber(value, field, 0);

/** A machine size checked once (whole, non-negative), for pricing it on many hosts. */
export interface ExactSize {
  speed: bigint;
  memory: bigint;
  disk: bigint;
}

export function exactSize(size: MachineSize): ExactSize {
  return { speed: amount(size.speed, 'speed'), memory: amount(size.memory, 'memory'), disk: amount(size.disk, 'disk') };
}

// A market holds few distinct price strings and every search meets each of them many times, so
// each is parsed once. Ratios are immutable, so sharing them is safe; the bound keeps odd input
// from growing the map without end.
const PRICE_MEMO_LIMIT = 10_000;
const parsedPrices = new Map<string, Ratio>();

/** Ratio.parse for a host's unit price, remembered. */
export function parsePrice(text: string): Ratio {
  let value = parsedPrices.get(text);
  if (value === undefined) {
    value = Ratio.parse(text);
    if (parsedPrices.size >= PRICE_MEMO_LIMIT) parsedPrices.clear();
    parsedPrices.set(text, value);
  }
  return value;
}

/**
 * $ per second while running, unreduced: speed/speedUnit × speedUnitPrice + memory/memoryUnit ×
 * memoryUnitPrice. Units are fractional: a 50 MB disk on 100 MB units is half a unit, never rounded up.
 */
export function runningRate(prices: HostPrices, speed: bigint, memory: bigint): Rate {
  const speedPrice = parsePrice(prices.speedUnitPrice);
  const memoryPrice = parsePrice(prices.memoryUnitPrice);
  const speedDen = unit(prices.speedUnit, 'speedUnit') * speedPrice.denominator;
  const memoryDen = unit(prices.memoryUnit, 'memoryUnit') * memoryPrice.denominator;
  return {
    num: speed * speedPrice.numerator * memoryDen + memory * memoryPrice.numerator * speedDen,
    den: speedDen * memoryDen,
  };
}

/** $ per day while stored, unreduced: disk/storageUnit × storageUnitPrice. */
export function storageRate(prices: HostPrices, disk: bigint): Rate {
  const price = parsePrice(prices.storageUnitPrice);
  return { num: disk * price.numerator, den: unit(prices.storageUnit, 'storageUnit') * price.denominator };
}

/** $ per second while running = speed/speedUnit × speedUnitPrice + memory/memoryUnit × memoryUnitPrice. */
export function runningRatePerSecond(prices: HostPrices, size: MachineSize): Ratio {
  return rateToRatio(runningRate(prices, amount(size.speed, 'speed'), amount(size.memory, 'memory')));
}

/** $ per day while stored = disk/storageUnit × storageUnitPrice. */
export function storageRatePerDay(prices: HostPrices, size: MachineSize): Ratio {
  return rateToRatio(storageRate(prices, amount(size.disk, 'disk')));
}

const priceOver = (rate: Rate, units: bigint): string => roundMoney(Ratio.of(rate.num * units, rate.den));

export function runningPricePerPeriod(prices: HostPrices, size: MachineSize): string {
  return priceOver(runningRate(prices, amount(size.speed, 'speed'), amount(size.memory, 'memory')), unit(prices.runningUnitAmount, 'runningUnitAmount'));
}

export function storagePricePerPeriod(prices: HostPrices, size: MachineSize): string {
  return priceOver(storageRate(prices, amount(size.disk, 'disk')), unit(prices.storageAmount, 'storageAmount'));
}

/** The quote for rates already worked out (a search computes each host's rates once). */
export function quoteRates(prices: HostPrices, running: Rate, storage: Rate): Quote {
  return {
    runningPrice: priceOver(running, unit(prices.runningUnitAmount, 'runningUnitAmount')),
    runningUnitAmount: prices.runningUnitAmount,
    storagePrice: priceOver(storage, unit(prices.storageAmount, 'storageAmount')),
    storageAmount: prices.storageAmount,
    runningPerHour: priceOver(running, BigInt(SECONDS_PER_HOUR)),
    storagePerMonth: priceOver(storage, BigInt(DAYS_PER_MONTH)),
  };
}

export function quote(prices: HostPrices, size: MachineSize): Quote {
  const exact = exactSize(size);
  return quoteRates(prices, runningRate(prices, exact.speed, exact.memory), storageRate(prices, exact.disk));
}

/** What the buyer bids: $ per 30-day month for storage, $ per hour for running. */
export interface AskedPrices {
  storagePerMonth: string;
  runningPerHour: string;
}

/** The highest rates an ask accepts: $ per second for running, $ per day for storage. */
export interface AskedRates {
  running: Rate;
  storage: Rate;
}

export function askedRates(asked: AskedPrices): AskedRates {
  const perHour = Ratio.parse(asked.runningPerHour);
  const perMonth = Ratio.parse(asked.storagePerMonth);
  return {
    running: { num: perHour.numerator, den: perHour.denominator * BigInt(SECONDS_PER_HOUR) },
    storage: { num: perMonth.numerator, den: perMonth.denominator * BigInt(DAYS_PER_MONTH) },
  };
}

/** Whether a host's exact rates are within the ask's; equal rates are accepted. */
export const ratesWithin = (running: Rate, storage: Rate, limits: AskedRates): boolean =>
  compareRates(storage, limits.storage) <= 0 && compareRates(running, limits.running) <= 0;

/**
 * Compared as exact rates, not as period prices: a host billing every 10 days and a buyer asking
 * per month must meet on $ per day, and rounding either side could flip an exact tie.
 */
export function askedRatesAccept(asked: AskedPrices, prices: HostPrices, size: MachineSize): boolean {
  const exact = exactSize(size);
  return ratesWithin(runningRate(prices, exact.speed, exact.memory), storageRate(prices, exact.disk), askedRates(asked));
}
