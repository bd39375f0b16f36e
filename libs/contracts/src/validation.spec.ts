import { describe, expect, it } from 'vitest';
import { decimalInteger, hasControlCharacter } from './validation';

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

describe('hasControlCharacter', () => {
  it('finds C0, DEL, C1, bidi controls and line separators', () => {
    for (const text of [
      '\u0000',
      'a\rb',
      'a\nb',
      '\t',
      '\u001b[31m',
      '\u007f',
      '\u0080',
      '\u009f',
      '\u061c',
      '\u200e',
      '\u200f',
      '\u202a',
      '\u202e',
      '\u2066',
      '\u2069',
      '\u2028',
      '\u2029',
    ]) {
      expect(hasControlCharacter(text), JSON.stringify(text)).toBe(true);
    }
  });

  it('lets letters of every script, spaces, punctuation and emoji through', () => {
    for (const text of ['virt8', 'Zürich 東京 — rack 1', 'مرحبا', 'שלום', 'a\u00a0b', '😀', 'x-y_z.iso', '\u200d']) {
      expect(hasControlCharacter(text), text).toBe(false);
    }
  });
});
