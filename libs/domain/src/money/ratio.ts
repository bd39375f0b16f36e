/**
 * An exact rational number on bigint. Prices such as 1e-07 $/s times seconds, or a disk of
 * 100 MB on 3 MB units, are not representable in binary floats; we keep them exact and round
 * once, where a figure is shown or charged.
 */
export type Rounding = 'half-up' | 'down' | 'up';

// Decimal or scientific text: '3', '-1.5', '.01', '2.', '1e-07', '2.5E3'.
const NUMBER_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
// An exponent beyond this is a typo, and 10n ** 1e9 would hang the process.
const MAX_EXPONENT = 1000;

const abs = (n: bigint): bigint => (n < 0n ? -n : n);
const gcd = (a: bigint, b: bigint): bigint => {
  a = abs(a);
  b = abs(b);
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
};

function toBigInt(value: bigint | number, what: string): bigint {
  if (typeof value === 'bigint') return value;
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what} must be a safe integer, got ${value}`);
  return BigInt(value);
}

export class Ratio {
  static readonly ZERO = new Ratio(0n, 1n);
  static readonly ONE = new Ratio(1n, 1n);

  /** Always reduced, denominator always positive, so equal values have equal fields. */
  private constructor(
    readonly numerator: bigint,
    readonly denominator: bigint,
  ) {}

  static of(numerator: bigint | number, denominator: bigint | number = 1n): Ratio {
    const num = toBigInt(numerator, 'numerator');
    const den = toBigInt(denominator, 'denominator');
    if (den === 0n) throw new RangeError('denominator must not be zero');
    const sign = den < 0n ? -1n : 1n;
    const divisor = gcd(num, den) || 1n;
    return new Ratio((sign * num) / divisor, (sign * den) / divisor);
  }

  static parse(text: string): Ratio {
    const match = typeof text === 'string' ? NUMBER_TEXT.exec(text) : null;
    const [, sign = '', whole = '', fraction = '', exponentText = '0'] = match ?? [];
    if (!match || whole.length + fraction.length === 0) {
      throw new RangeError(`"${String(text)}" is not a number`);
    }
    const exponent = Number(exponentText) - fraction.length;
    if (Math.abs(exponent) > MAX_EXPONENT) throw new RangeError(`"${text}" is out of range`);
    const digits = BigInt(whole + fraction) * (sign === '-' ? -1n : 1n);
    const power = 10n ** BigInt(Math.abs(exponent));
    return exponent >= 0 ? Ratio.of(digits * power) : Ratio.of(digits, power);
  }

  add(other: Ratio): Ratio {
    return Ratio.of(this.numerator * other.denominator + other.numerator * this.denominator, this.denominator * other.denominator);
  }
  sub(other: Ratio): Ratio {
    return this.add(other.neg());
  }
  mul(other: Ratio): Ratio {
    return Ratio.of(this.numerator * other.numerator, this.denominator * other.denominator);
  }
  div(other: Ratio): Ratio {
    if (other.isZero()) throw new RangeError('division by zero');
    return Ratio.of(this.numerator * other.denominator, this.denominator * other.numerator);
  }
  neg(): Ratio {
    return new Ratio(-this.numerator, this.denominator);
  }

  compare(other: Ratio): -1 | 0 | 1 {
    const left = this.numerator * other.denominator;
    const right = other.numerator * this.denominator;
    return left < right ? -1 : left > right ? 1 : 0;
  }
  eq(other: Ratio): boolean {
    return this.compare(other) === 0;
  }
  lt(other: Ratio): boolean {
    return this.compare(other) < 0;
  }
  lte(other: Ratio): boolean {
    return this.compare(other) <= 0;
  }
  gt(other: Ratio): boolean {
    return this.compare(other) > 0;
  }
  gte(other: Ratio): boolean {
    return this.compare(other) >= 0;
  }
  isZero(): boolean {
    return this.numerator === 0n;
  }
  isNegative(): boolean {
    return this.numerator < 0n;
  }

  /**
   * Plain decimal text with at most `scale` fraction digits, trailing zeros trimmed.
   * 'half-up' rounds halves away from zero; 'down' truncates toward zero; 'up' away from zero.
   */
  toDecimal(scale: number, rounding: Rounding = 'half-up'): string {
    const fixed = this.toFixed(scale, rounding);
    return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
  }

  /** Decimal text with exactly `scale` fraction digits. */
  toFixed(scale: number, rounding: Rounding = 'half-up'): string {
    if (!Number.isSafeInteger(scale) || scale < 0) throw new RangeError(`scale must be a non-negative integer, got ${scale}`);
    const scaled = abs(this.numerator) * 10n ** BigInt(scale);
    let units = scaled / this.denominator;
    const remainder = scaled % this.denominator;
    if (remainder !== 0n && (rounding === 'up' || (rounding === 'half-up' && 2n * remainder >= this.denominator))) {
      units += 1n;
    }
    const digits = units.toString().padStart(scale + 1, '0');
    const whole = digits.slice(0, digits.length - scale);
    const fraction = digits.slice(digits.length - scale);
    // A value that rounds to zero is printed '0', never '-0'.
    const sign = this.isNegative() && units !== 0n ? '-' : '';
    return sign + whole + (scale > 0 ? '.' + fraction : '');
  }

  /** For display and charts only: never feed the result back into arithmetic. */
  toNumber(): number {
    return Number(this.toDecimal(20));
  }

  toString(): string {
    return this.denominator === 1n ? `${this.numerator}` : `${this.numerator}/${this.denominator}`;
  }
}
