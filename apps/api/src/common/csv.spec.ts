import { describe, expect, it } from 'vitest';
import { csvAmount, csvText } from './csv';

describe('CSV cells', () => {
  it('neutralises text that a spreadsheet would run as a formula, with a leading single quote', () => {
    expect(csvText('=HYPERLINK("http://evil.example","click")')).toBe(`"'=HYPERLINK(""http://evil.example"",""click"")"`);
    expect(csvText('+1+1')).toBe("'+1+1");
    expect(csvText('-2+3')).toBe("'-2+3");
    expect(csvText('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvText('\t=1')).toBe("'\t=1");
    expect(csvText('\r=1')).toBe(`"'\r=1"`);
    // A text cell that merely looks like a number is text too: only the amount column holds numbers.
    expect(csvText('-5')).toBe("'-5");
  });

  it('leaves other text alone but for RFC 4180 quoting', () => {
    expect(csvText('virt8')).toBe('virt8');
    expect(csvText('storage of 50 on virt8, period 4')).toBe('"storage of 50 on virt8, period 4"');
    expect(csvText('a=b')).toBe('a=b');
    expect(csvText('')).toBe('');
  });

  it('writes exact signed amounts as numbers, and anything else in that column as text', () => {
    expect(csvAmount('-0.05')).toBe('-0.05');
    expect(csvAmount('1000')).toBe('1000');
    expect(csvAmount('-0.000000001')).toBe('-0.000000001');
    expect(csvAmount('-1+1')).toBe("'-1+1");
    expect(csvAmount('=1')).toBe("'=1");
  });
});
