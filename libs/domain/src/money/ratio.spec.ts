import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Ratio } from './ratio';

describe('Ratio.parse', () => {
  it.each([
    ['3', '3'],
    ['0.00001', '1/100000'],
    ['-1.5', '-3/2'],
    ['.01', '1/100'],
    ['2.', '2'],
    ['+7', '7'],
    // Report fig. 33 shows prices typed as 1e-07.
    ['1e-07', '1/10000000'],
    ['2.5E3', '2500'],
    ['-0', '0'],
  ])('reads %s exactly as %s', (text, expected) => {
    expect(Ratio.parse(text).toString()).toBe(expected);
  });

  it.each(['', '.', 'abc', '1.2.3', '1e', 'e5', ' 1', '1,5', 'NaN', 'Infinity', '0x10', '1e100000'])('refuses %j with a RangeError naming it', (text) => {
    expect(() => Ratio.parse(text)).toThrow(RangeError);
    expect(() => Ratio.parse(text)).toThrow(`"${text}"`);
  });
});

describe('Ratio arithmetic', () => {
  it('stays exact where floats do not: 0.1 + 0.2 = 0.3', () => {
    expect(Ratio.parse('0.1').add(Ratio.parse('0.2')).eq(Ratio.parse('0.3'))).toBe(true);
  });

  it('keeps a reduced form with a positive denominator', () => {
    // 6 / -4 = -3/2
    const r = Ratio.of(6, -4);
    expect([r.numerator, r.denominator]).toEqual([-3n, 2n]);
    expect(Ratio.of(0, -5).toString()).toBe('0');
  });

  it('refuses zero denominators, division by zero and non-integer numbers', () => {
    expect(() => Ratio.of(1, 0)).toThrow(RangeError);
    expect(() => Ratio.ONE.div(Ratio.ZERO)).toThrow(RangeError);
    expect(() => Ratio.of(0.5)).toThrow(RangeError);
  });

  it('compares', () => {
    const third = Ratio.of(1, 3);
    const half = Ratio.of(1, 2);
    expect([third.lt(half), third.lte(third), half.gt(third), half.gte(half), half.compare(third)]).toEqual([true, true, true, true, 1]);
    expect([Ratio.of(-1, 3).isNegative(), Ratio.ZERO.isZero(), Ratio.ZERO.isNegative()]).toEqual([true, true, false]);
  });

  it('obeys field laws (property)', () => {
    const ratio = fc.tuple(fc.bigInt(), fc.bigInt({ min: 1n })).map(([n, d]) => Ratio.of(n, d));
    fc.assert(
      fc.property(ratio, ratio, ratio, (a, b, c) => {
        expect(a.add(b).sub(b).eq(a)).toBe(true);
        expect(a.mul(b.add(c)).eq(a.mul(b).add(a.mul(c)))).toBe(true);
        if (!b.isZero()) expect(a.div(b).mul(b).eq(a)).toBe(true);
        expect(a.compare(b)).toBe(-b.compare(a) || 0);
      }),
    );
  });
});

describe('Ratio.toDecimal / toFixed', () => {
  it.each([
    // 2/3 = 0.6666… → half-up at 4 digits 0.6667, truncated 0.6666
    [Ratio.of(2, 3), 4, 'half-up', '0.6667'],
    [Ratio.of(2, 3), 4, 'down', '0.6666'],
    // 1/8 = 0.125: the half goes away from zero at 2 digits
    [Ratio.of(1, 8), 2, 'half-up', '0.13'],
    [Ratio.of(-1, 8), 2, 'half-up', '-0.13'],
    [Ratio.of(1, 1000), 2, 'up', '0.01'],
    // 1.5 needs no trimming beyond its last digit; 2.50 → 2.5; 100 keeps its integer zeros
    [Ratio.parse('1.5'), 12, 'half-up', '1.5'],
    [Ratio.parse('2.50'), 3, 'half-up', '2.5'],
    [Ratio.of(100), 2, 'half-up', '100'],
    // -0.0004 rounds to zero and must print '0', not '-0'
    [Ratio.parse('-0.0004'), 3, 'half-up', '0'],
    [Ratio.parse('1e-07'), 12, 'half-up', '0.0000001'],
  ] as const)('%s at %i digits (%s) is %s', (value, scale, rounding, expected) => {
    expect(value.toDecimal(scale, rounding)).toBe(expected);
  });

  it('toFixed keeps zeros', () => {
    expect(Ratio.parse('2.5').toFixed(3)).toBe('2.500');
    expect(Ratio.of(7).toFixed(0)).toBe('7');
    expect(Ratio.parse('-0.0004').toFixed(2)).toBe('0.00');
  });

  it('round-trips any decimal it prints (property)', () => {
    fc.assert(
      fc.property(fc.bigInt(), fc.integer({ min: 0, max: 20 }), (units, scale) => {
        const value = Ratio.of(units, 10n ** BigInt(scale));
        expect(Ratio.parse(value.toDecimal(scale)).eq(value)).toBe(true);
      }),
    );
  });

  it('toNumber is close for display', () => {
    expect(Ratio.of(1, 4).toNumber()).toBe(0.25);
  });
});
