import { appendFileSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMachineDir, manifestOf } from './test-support/exported-machine';
import { verifyCopy } from './verify';

let tmp: string;
beforeAll(() => void (tmp = mkdtempSync(path.join(os.tmpdir(), 'vz-verify-'))));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('verifyCopy (report §7.2: the copy is checked against the origin manifest)', () => {
  it('accepts an exact copy with a clean qcow2', async () => {
    const m = makeMachineDir(tmp, { dataMb: 2 });
    await expect(verifyCopy(m.dir, await manifestOf(m.dir))).resolves.toBeUndefined();
  });

  it('names the file whose bytes differ', async () => {
    const m = makeMachineDir(tmp, { dataMb: 2 });
    const manifest = await manifestOf(m.dir);
    const fd = openSync(path.join(m.dir, 'disk.qcow2'), 'r+');
    writeSync(fd, Buffer.from([0x42]), 0, 1, 1024 * 1024 + 17);
    closeSync(fd);
    await expect(verifyCopy(m.dir, manifest)).rejects.toThrow(/^disk\.qcow2 differs from the origin's/);
  });

  it('refuses a size mismatch, a missing file and anything that was not in the manifest', async () => {
    const m = makeMachineDir(tmp, { dataMb: 1 });
    const manifest = await manifestOf(m.dir);
    writeFileSync(path.join(m.dir, 'extra.sh'), 'echo hi');
    await expect(verifyCopy(m.dir, manifest)).rejects.toThrow('files not in the manifest arrived: extra.sh');
    rmSync(path.join(m.dir, 'extra.sh'));
    appendFileSync(path.join(m.dir, 'machine.json'), ' ');
    await expect(verifyCopy(m.dir, manifest)).rejects.toThrow(/^machine\.json has \d+ bytes, the manifest says \d+$/);
    await expect(verifyCopy(m.dir, [...(await manifestOf(m.dir)), { name: 'state.bin', size: 1, sha256: '0'.repeat(64) }])).rejects.toThrow(
      'state.bin did not arrive',
    );
  });

  it('refuses a qcow2 that qemu-img check finds corrupt even when its sha256 matches the manifest', async () => {
    const m = makeMachineDir(tmp, { dataMb: 1 });
    // Break the first L1 entry's offset so it points outside the file.
    const fd = openSync(path.join(m.dir, 'disk.qcow2'), 'r+');
    const hdr = Buffer.alloc(48);
    (await import('node:fs')).readSync(fd, hdr, 0, 48, 0);
    const l1 = Number(hdr.readBigUInt64BE(40));
    writeSync(fd, Buffer.from('80000000fff00000', 'hex'), 0, 8, l1);
    closeSync(fd);
    await expect(verifyCopy(m.dir, await manifestOf(m.dir))).rejects.toThrow(/^disk\.qcow2 fails qemu-img check/);
  });
});
