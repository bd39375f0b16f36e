import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MachineCaches } from './caches';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vzc-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function machineDir(bytes: number): string {
  const d = path.join(tmp, 'machines', randomUUID());
  mkdirSync(d, { recursive: true });
  writeFileSync(path.join(d, 'disk.qcow2'), Buffer.alloc(bytes, 1));
  return d;
}

describe('MachineCaches (report §7.2.3)', () => {
  it('adopts a machine directory by rename, replacing an older cache; remove is idempotent', () => {
    const caches = new MachineCaches(tmp);
    const id = randomUUID();
    const first = machineDir(10);
    caches.adopt(id, first);
    expect(existsSync(first)).toBe(false);
    expect(caches.has(id)).toBe(true);
    const second = machineDir(20);
    caches.adopt(id, second);
    expect(readFileSync(path.join(caches.dir(id), 'disk.qcow2')).length).toBe(20);
    expect(caches.list()).toEqual([id]);
    expect(caches.remove(id)).toBe(true);
    expect(caches.remove(id)).toBe(false);
    expect(caches.has(id)).toBe(false);
  });

  it('reclaims the oldest caches down to the size limit', () => {
    const caches = new MachineCaches(path.join(tmp, 'r'));
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    ids.forEach((id, i) => {
      caches.adopt(id, machineDir(64 * 1024));
      const t = new Date(Date.UTC(2026, 0, 1 + i)); // ids[0] oldest
      utimesSync(caches.dir(id), t, t);
    });
    const one = caches.sizeOf(ids[2]!);
    expect(caches.reclaim(one * 2)).toEqual([ids[0]]);
    expect(caches.reclaim(one * 2)).toEqual([]);
    expect(caches.reclaim(0)).toEqual([ids[1], ids[2]]);
    expect(caches.list()).toEqual([]);
  });

  it('refuses an id that is not a plain name', () => {
    expect(() => new MachineCaches(tmp).dir('../x')).toThrow(/not a machine id/);
  });
});
