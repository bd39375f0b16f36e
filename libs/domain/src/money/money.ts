import { Ratio } from './ratio';

/**
 * Money is a decimal string with at most 12 fraction digits: the report shows balances such as
 * 1000.00000002 and charges of 1e-9 $ per period, and a string survives JSON, SQLite and
 * PostgreSQL NUMERIC unchanged. Canonical form: no exponent, trailing fraction zeros trimmed.
 */
export const MONEY_SCALE = 12;
const MONEY_UNITS_PER_DOLLAR = 10n ** BigInt(MONEY_SCALE);

/** Validates and canonicalises money text: money('1e-07') === '0.0000001', money('3.00') === '3'. */
export function money(text: string): string {
  const value = Ratio.parse(text);
  // Judged on the value, so '0.1000000000000' (a trailing zero in the 13th place) is still exact.
  if (MONEY_UNITS_PER_DOLLAR % value.denominator !== 0n) {
    throw new RangeError(`"${text}" has more than ${MONEY_SCALE} fraction digits`);
  }
  return value.toDecimal(MONEY_SCALE);
}

export function isMoneyString(text: unknown): text is string {
  if (typeof text !== 'string') return false;
  try {
    money(text);
    return true;
  } catch {
    return false;
  }
}

/** The one place exact amounts become money: half-up to 12 fraction digits. */
export function roundMoney(value: Ratio): string {
  return value.toDecimal(MONEY_SCALE, 'half-up');
}

const exact = (text: string): Ratio => Ratio.parse(money(text));

export function addMoney(a: string, b: string): string {
  return roundMoney(exact(a).add(exact(b)));
}

export function subMoney(a: string, b: string): string {
  return roundMoney(exact(a).sub(exact(b)));
}

export function sumMoney(amounts: readonly string[]): string {
  return roundMoney(amounts.reduce((total, amount) => total.add(exact(amount)), Ratio.ZERO));
}

export function compareMoney(a: string, b: string): -1 | 0 | 1 {
  return exact(a).compare(exact(b));
}
