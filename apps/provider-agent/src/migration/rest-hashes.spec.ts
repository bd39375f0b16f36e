import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildManifest } from './export-manifest';
import { REST_HASHES_FILE, RestHashes, type RestFile } from './rest-hashes';

/**
 * Hashes recorded at rest (rest-hashes.ts): an export may use a recorded sha256 only while the
 * file is provably the one that was hashed; a stale hash is never used.
 */
const tmp = mkdtempSync(path.join(os.tmpdir(), 'vzrh-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const sha256 = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
/** A clock far enough ahead that every file here counts as settled. */
const later = () => Date.now() + 10_000;
let n = 0;

function machine(sizes: Record<string, number> = { 'machine.json': 300, 'disk.qcow2': 4 << 20 }): {
  id: string;
  dir: string;
  files: RestFile[];
  rh: RestHashes;
} {
  const id = `m${n++}`;
  const dir = path.join(tmp, id);
  mkdirSync(dir, { recursive: true });
  const files = Object.entries(sizes).map(([name, size]) => {
    writeFileSync(path.join(dir, name), randomBytes(size));
    return { name, path: path.join(dir, name) };
  });
  const rh = new RestHashes({ machineDir: () => dir, filesAtRest: async () => files, delayMs: 10 });
  return { id, dir, files, rh };
}

/** Sets `file`'s mtime to `mtimeNs` to the nanosecond (utimes from node rounds through a double). */
function setMtimeNs(file: string, mtimeNs: bigint): void {
  const sec = mtimeNs / 1_000_000_000n;
  const nsec = String(mtimeNs % 1_000_000_000n).padStart(9, '0');
  execFileSync('touch', ['-m', '-d', `@${sec}.${nsec}`, file]);
}

/** Overwrite bytes in place and set the mtime back: same inode, same size, same mtime. */
function tamperKeepingSizeAndMtime(file: string): void {
  const st = statSync(file, { bigint: true });
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.from('tampered'), 0, 8, 1000);
  closeSync(fd);
  setMtimeNs(file, st.mtimeNs);
}

describe('hashes recorded at rest', () => {
  it('an unchanged file: the recorded sha256 is the file’s, and the manifest uses it', async () => {
    const { id, files, rh } = machine();
    const out = await rh.record(id, files, later);
    expect(out.recorded.sort()).toEqual(['disk.qcow2', 'machine.json']);
    const known = rh.lookup(id, files);
    expect(known.get('disk.qcow2')).toBe(sha256(files[1]!.path));
    expect(await buildManifest(files, known)).toEqual(files.map((f) => ({ name: f.name, size: statSync(f.path).size, sha256: sha256(f.path) })));
  });

  it('a file rewritten in place with its size and mtime restored is hashed again, never given its stale hash', async () => {
    const { id, files, rh } = machine();
    await rh.record(id, files, later);
    const stale = rh.lookup(id, files).get('disk.qcow2');
    const before = statSync(files[1]!.path, { bigint: true });
    tamperKeepingSizeAndMtime(files[1]!.path);
    const after = statSync(files[1]!.path, { bigint: true });
    expect([after.ino, after.size, after.mtimeNs]).toEqual([before.ino, before.size, before.mtimeNs]);
    const known = rh.lookup(id, files);
    expect(known.has('disk.qcow2')).toBe(false);
    expect(known.has('machine.json')).toBe(true);
    const manifest = await buildManifest(files, known);
    expect(manifest.find((m) => m.name === 'disk.qcow2')!.sha256).toBe(sha256(files[1]!.path));
    expect(manifest.find((m) => m.name === 'disk.qcow2')!.sha256).not.toBe(stale);
  });

  it('a file replaced by another of the same size and mtime (another inode) is not given the old hash', async () => {
    const { id, dir, files, rh } = machine();
    await rh.record(id, files, later);
    const st = statSync(files[1]!.path, { bigint: true });
    const other = path.join(dir, 'other');
    writeFileSync(other, randomBytes(Number(st.size)));
    setMtimeNs(other, st.mtimeNs);
    renameSync(other, files[1]!.path);
    expect(statSync(files[1]!.path, { bigint: true }).mtimeNs).toBe(st.mtimeNs);
    expect(rh.lookup(id, files).has('disk.qcow2')).toBe(false);
  });

  it('a hard link made after the record voids it (an export looks up before it links)', async () => {
    const { id, dir, files, rh } = machine();
    await rh.record(id, files, later);
    expect(rh.lookup(id, files).has('disk.qcow2')).toBe(true);
    linkSync(files[1]!.path, path.join(dir, 'link'));
    expect(rh.lookup(id, files).has('disk.qcow2')).toBe(false);
  });

  it('a file written while it is being hashed is not recorded', async () => {
    const { id, files, rh } = machine({ 'disk.qcow2': 32 << 20 });
    const recording = rh.record(id, files, later);
    // The record took the file's identity synchronously; the hash reads it asynchronously.
    const fd = openSync(files[0]!.path, 'r+');
    writeSync(fd, Buffer.from('written meanwhile'), 0, 17, 4096);
    closeSync(fd);
    const out = await recording;
    expect(out.recorded).toEqual([]);
    expect(out.changed).toEqual(['disk.qcow2']);
    expect(rh.lookup(id, files).size).toBe(0);
  });

  it('a file changed less than the settle time ago is not hashed yet (a write in the same clock tick could not be told apart)', async () => {
    const { id, files, rh } = machine({ 'disk.qcow2': 1 << 20 });
    const out = await rh.record(id, files);
    expect(out.recorded).toEqual([]);
    expect(out.unsettled).toBeGreaterThan(0);
    expect(rh.lookup(id, files).size).toBe(0);
  });

  it('a record that is not the file’s identity is ignored, whatever it claims', async () => {
    const { id, dir, files, rh } = machine({ 'disk.qcow2': 1 << 20 });
    await rh.record(id, files, later);
    const rec = JSON.parse(readFileSync(path.join(dir, REST_HASHES_FILE), 'utf8'));
    rec.files['disk.qcow2'].identity.ctimeNs = '1';
    writeFileSync(path.join(dir, REST_HASHES_FILE), JSON.stringify(rec));
    expect(rh.lookup(id, files).has('disk.qcow2')).toBe(false);
  });

  it('scheduled after the machine comes to rest: hashed in the background once its files have settled', async () => {
    const { id, files } = machine({ 'disk.qcow2': 1 << 20 });
    const dir = path.dirname(files[0]!.path);
    const rh = new RestHashes({ machineDir: () => dir, filesAtRest: async () => files, delayMs: 20, settleMs: 50 });
    rh.schedule(id);
    const deadline = Date.now() + 5_000;
    while (!rh.lookup(id, files).has('disk.qcow2') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await rh.settled(id);
    expect(rh.lookup(id, files).get('disk.qcow2')).toBe(sha256(files[0]!.path));
    rh.close();
  });

  it('a machine not at rest (running, gone) is not hashed', async () => {
    const { id, files, dir } = machine({ 'disk.qcow2': 1 << 20 });
    const rh = new RestHashes({ machineDir: () => dir, filesAtRest: async () => null, delayMs: 1, settleMs: 0 });
    rh.schedule(id);
    await new Promise((r) => setTimeout(r, 100));
    await rh.settled(id);
    expect(rh.lookup(id, files).size).toBe(0);
    rh.close();
  });
});
