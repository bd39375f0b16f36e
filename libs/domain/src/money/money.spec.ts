import { describe, expect, it } from 'vitest';
import { addMoney, compareMoney, isMoneyString, money, roundMoney, subMoney, sumMoney } from './money';
import { Ratio } from './ratio';

describe('money', () => {
  it.each([
    ['3', '3'],
    ['3.00', '3'],
    ['2.448', '2.448'],
    ['1e-9', '0.000000001'],
    ['.01', '0.01'],
    ['-0.50', '-0.5'],
    ['1000.00000002', '1000.00000002'],
    // 13 written digits but the 13th is a zero: the value is exact at 12
    ['0.1000000000000', '0.1'],
  ])('canonicalises %s to %s', (text, expected) => {
    expect(money(text)).toBe(expected);
  });

  it('refuses more than 12 fraction digits, naming the text', () => {
    expect(() => money('0.0000000000001')).toThrow(/"0.0000000000001" has more than 12 fraction digits/);
    expect(() => money('1e-13')).toThrow(RangeError);
  });

  it('refuses text that is not a number', () => {
    expect(() => money('ten')).toThrow(/"ten" is not a number/);
    expect(isMoneyString('ten')).toBe(false);
    expect(isMoneyString(3)).toBe(false);
    expect(isMoneyString('0.000000000001')).toBe(true);
  });

  it('rounds half-up at 12 digits once', () => {
    // 1e-9 $ per 3600 s is 2.777…e-13 $/s (report fig. 23) → 0 at 12 digits; ×3600 back is exact
    const perSecond = Ratio.parse('1e-9').div(Ratio.of(3600));
    expect(roundMoney(perSecond)).toBe('0');
    expect(roundMoney(perSecond.mul(Ratio.of(3600)))).toBe('0.000000001');
    // 5e-13 is exactly half a smallest unit → up to 1e-12
    expect(roundMoney(Ratio.of(5, 10n ** 13n))).toBe('0.000000000001');
  });

  it('adds, subtracts, sums and compares exactly', () => {
    // A 1e-9 running charge (report figs. 22–23): 996.97984 − 0.000000001 = 996.979839999
    expect(subMoney('996.97984', '0.000000001')).toBe('996.979839999');
    // Report fig. 22: 3 per 30 days + 1e-9 per 10 days = 0.1 + 0.0000000001 per day
    expect(addMoney('0.1', '0.0000000001')).toBe('0.1000000001');
    expect(sumMoney(['0.1', '0.2', '0.3'])).toBe('0.6');
    expect(sumMoney([])).toBe('0');
    expect(subMoney('1', '1.000')).toBe('0');
    expect(compareMoney('2.448', '2.4480')).toBe(0);
    expect(compareMoney('0.000000000001', '0')).toBe(1);
  });
});
