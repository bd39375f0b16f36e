import { describe, expect, it } from 'vitest';
import { decimalInteger } from './validation';

describe('decimalInteger', () => {
  it('takes plain decimal digits, exactly', () => {
    expect(decimalInteger('0')).toBe(0);
    expect(decimalInteger('16')).toBe(16);
    expect(decimalInteger('007')).toBe(7);
    expect(decimalInteger('999999999999999')).toBe(999_999_999_999_999);
  });

  it('refuses what Number() would bend: exponents, hex, signs, fractions, spaces, too many digits', () => {
    for (const text of ['1e20', '0x10', '0b1', '+5', '-1', '1.0', ' 1', '1 ', '', 'Infinity', '9007199254740993', '1000000000000000']) {
      expect(decimalInteger(text), text).toBeUndefined();
    }
    expect(decimalInteger(16)).toBeUndefined();
    expect(decimalInteger(['16'])).toBeUndefined();
    expect(decimalInteger(undefined)).toBeUndefined();
  });
});
