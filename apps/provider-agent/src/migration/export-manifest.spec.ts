import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256File } from './export-manifest';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vzem-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('sha256File (read in 4 MiB chunks into one buffer)', () => {
  it.each([0, 1, 4 << 20, (4 << 20) + 1, (9 << 20) + 12345])('a file of %i bytes: the sha256 of its whole content', async (size) => {
    const data = randomBytes(size);
    const file = path.join(tmp, `f-${size}`);
    writeFileSync(file, data);
    expect(await sha256File(file)).toBe(createHash('sha256').update(data).digest('hex'));
  });
});
