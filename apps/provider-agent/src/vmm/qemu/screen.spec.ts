import { describe, expect, it } from 'vitest';
import { countLitPixels, decodeVgaText, parsePpm } from './screen';

describe('parsePpm', () => {
  it('parses a P6 image with a comment', () => {
    const header = Buffer.from('P6\n# made by hand\n3 2\n255\n', 'ascii');
    const px = Buffer.from([0, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0]);
    const img = parsePpm(Buffer.concat([header, px]));
    expect(img.width).toBe(3);
    expect(img.height).toBe(2);
    expect(img.maxval).toBe(255);
    expect(countLitPixels(img)).toBe(2);
  });
  it('rejects other formats and truncated data', () => {
    expect(() => parsePpm(Buffer.from('P3\n1 1\n255\n0 0 0\n'))).toThrow(/binary PPM/);
    expect(() => parsePpm(Buffer.from('P6\n2 2\n255\n\0\0\0'))).toThrow(/truncated/);
  });
});

describe('decodeVgaText', () => {
  it('decodes character/attribute pairs into trimmed lines', () => {
    const cols = 4;
    const text = 'No bXX';
    const buf = Buffer.alloc(cols * 2 * 2);
    for (let i = 0; i < text.length; i++) {
      buf[i * 2] = text.charCodeAt(i);
      buf[i * 2 + 1] = 0x07;
    }
    buf[7 * 2] = 0xdb; // CP437 block
    expect(decodeVgaText(buf, cols)).toEqual(['No b', 'XX ?']);
  });
});
