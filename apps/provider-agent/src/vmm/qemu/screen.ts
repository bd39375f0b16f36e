/** Pure helpers to read what a VM shows on its screen. */

export interface PpmImage {
  width: number;
  height: number;
  maxval: number;
  /** RGB triplets, row-major, 1 byte per channel (maxval <= 255). */
  rgb: Buffer;
}

/** Parse a binary PPM (P6), as written by QMP `screendump`. */
export function parsePpm(buf: Buffer): PpmImage {
  let pos = 0;
  const token = (): string => {
    for (;;) {
      while (pos < buf.length && /\s/.test(String.fromCharCode(buf[pos]))) pos++;
      if (buf[pos] === 0x23 /* # comment */) {
        while (pos < buf.length && buf[pos] !== 0x0a) pos++;
        continue;
      }
      break;
    }
    const start = pos;
    while (pos < buf.length && !/\s/.test(String.fromCharCode(buf[pos]))) pos++;
    return buf.subarray(start, pos).toString('ascii');
  };
  const magic = token();
  if (magic !== 'P6') throw new Error(`not a binary PPM (magic ${JSON.stringify(magic)})`);
  const width = Number(token());
  const height = Number(token());
  const maxval = Number(token());
  if (!(width > 0 && height > 0 && maxval > 0 && maxval < 256)) {
    throw new Error(`unsupported PPM header ${width}x${height} maxval ${maxval}`);
  }
  pos++; // exactly one whitespace byte after maxval
  const size = width * height * 3;
  if (buf.length - pos < size) throw new Error(`truncated PPM: ${buf.length - pos} < ${size} bytes`);
  return { width, height, maxval, rgb: buf.subarray(pos, pos + size) };
}

/** Number of pixels that are not black (a quick "is anything on screen" test). */
export function countLitPixels(img: PpmImage): number {
  let n = 0;
  for (let i = 0; i < img.rgb.length; i += 3) {
    if (img.rgb[i] | img.rgb[i + 1] | img.rgb[i + 2]) n++;
  }
  return n;
}

/**
 * Decode a VGA text-mode buffer (memory at 0xb8000: character byte, attribute byte, ...) into
 * lines (trailing spaces trimmed). Code page 437 box/accents are shown as '?'.
 */
export function decodeVgaText(buf: Buffer, cols = 80): string[] {
  const lines: string[] = [];
  const cells = Math.floor(buf.length / 2);
  for (let row = 0; row * cols < cells; row++) {
    let line = '';
    for (let col = 0; col < cols && row * cols + col < cells; col++) {
      const ch = buf[(row * cols + col) * 2];
      line += ch === 0 ? ' ' : ch >= 0x20 && ch < 0x7f ? String.fromCharCode(ch) : '?';
    }
    lines.push(line.replace(/\s+$/, ''));
  }
  return lines;
}
