import { MONEY_SCALE, money } from './money/money';
import { Ratio } from './money/ratio';

/**
 * Showing exact rates, and money as integer units for fast exact sums.
 *
 * Rates such as 0.000000001 $ per 3600 s are 1/3 600 000 000 000 $/s: below money's 12 digits
 * (roundMoney gives '0') and not a terminating decimal. The report prints 2.7777777777778e-13;
 * we print plain decimals, never exponents, never floats: exact when the value terminates within
 * `maxScale` fraction digits, else rounded half-up to `significant` significant digits
 * (0.00000000000027777777777778: the report's 14 digits).
 */
export const RATE_SIGNIFICANT_DIGITS = 14;
export const RATE_MAX_SCALE = 30;

const abs = (n: bigint): bigint => (n < 0n ? -n : n);

/** Fraction digits needed to write value exactly, or null if that is more than maxScale (or infinite). */
function exactScale(value: Ratio, maxScale: number): number | null {
  let den = value.denominator;
  let twos = 0;
  let fives = 0;
  while (den % 2n === 0n) {
    den /= 2n;
    twos += 1;
  }
  while (den % 5n === 0n) {
    den /= 5n;
    fives += 1;
  }
  if (den !== 1n) return null;
  const scale = Math.max(twos, fives);
  return scale <= maxScale ? scale : null;
}

/** The power of ten of the first significant digit: 2.7e-13 → -13, 0.1 → -1, 42 → 1. value ≠ 0. */
function magnitude(value: Ratio): number {
  const num = abs(value.numerator);
  const den = value.denominator;
  const whole = num / den;
  if (whole > 0n) return whole.toString().length - 1;
  let exponent = 0;
  let scaled = num;
  while (scaled < den) {
    scaled *= 10n;
    exponent -= 1;
  }
  return exponent;
}

/** Plain decimal text of an exact rate (see above): '0.1000000001', '0.00000000000027777777777778'. */
export function formatRate(value: Ratio, significant = RATE_SIGNIFICANT_DIGITS, maxScale = RATE_MAX_SCALE): string {
  if (!Number.isSafeInteger(significant) || significant < 1) throw new RangeError(`significant must be at least 1, got ${significant}`);
  if (value.isZero()) return '0';
  const scale = exactScale(value, maxScale);
  if (scale !== null) return value.toDecimal(scale);
  return value.toDecimal(Math.max(0, significant - 1 - magnitude(value)), 'half-up');
}

// ——— Money as integer units of 10^-12 ————————————————————————————————————————————————————

const UNITS_PER_DOLLAR = 10n ** BigInt(MONEY_SCALE);
const PLAIN_MONEY = /^(-?)(\d+)(?:\.(\d{1,12}))?$/;

/**
 * Money text as an integer number of 10^-12 units: '0.05' → 50_000_000_000n. Exact; refuses
 * what money() refuses. Sums of many amounts (a billing pass) are bigint additions, rounded never.
 */
export function moneyToUnits(text: string): bigint {
  const match = PLAIN_MONEY.exec(text) ?? PLAIN_MONEY.exec(money(text));
  if (!match) throw new RangeError(`"${text}" is not money`);
  const [, sign, whole, fraction = ''] = match;
  const units = BigInt(whole) * UNITS_PER_DOLLAR + BigInt(fraction.padEnd(MONEY_SCALE, '0'));
  return sign === '-' ? -units : units;
}

/** Integer units back to canonical money text: 50_000_000_000n → '0.05'; −1n → '-0.000000000001'. */
export function unitsToMoney(units: bigint): string {
  const negative = units < 0n;
  const digits = abs(units)
    .toString()
    .padStart(MONEY_SCALE + 1, '0');
  const whole = digits.slice(0, digits.length - MONEY_SCALE);
  const fraction = digits.slice(digits.length - MONEY_SCALE).replace(/0+$/, '');
  return (negative ? '-' : '') + whole + (fraction ? `.${fraction}` : '');
}

/** Money text as an exact Ratio (for rates and comparisons with them). */
export const moneyRatio = (text: string): Ratio => Ratio.of(moneyToUnits(text), UNITS_PER_DOLLAR);
