import { mkdtempSync, readFileSync, rmSync, renameSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acceptArrivalDir, rewriteArrivedConfig } from '../vmm/qemu/arrival';
import type { MachineConfig } from '../vmm/qemu/machine-dir';
import { makeMachineDir } from './test-support/exported-machine';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vz-arrival-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('an arriving machine.json (report §7.2: recorded at version + 1, nothing of the origin kept)', () => {
  it('is rewritten at version + 1 without the origin media and base image; a suspended one keeps state.bin resumable', () => {
    const m = makeMachineDir(tmp, { version: 5, suspended: true, dataMb: 1 });
    expect(acceptArrivalDir(m.dir, { id: m.id, version: 5, machine: m.machine })).toBe(6);
    const c = JSON.parse(readFileSync(path.join(m.dir, 'machine.json'), 'utf8')) as MachineConfig;
    expect(c.version).toBe(6);
    expect(c.media).toBeNull();
    expect(c.spec.baseImage).toBeUndefined();
    expect(c.lastRun?.media).toBeNull();
    expect(c.suspended).toMatchObject({ file: 'state.bin', compression: 'none', media: null, accel: 'tcg', bytes: 1 << 20 });
    expect(c.spec).toEqual({ id: m.id, ...m.machine });
  });

  it('is refused when it is not the machine the front-end registered, or not at the version it named', () => {
    const m = makeMachineDir(tmp, { version: 5, dataMb: 1 });
    const c = JSON.parse(readFileSync(path.join(m.dir, 'machine.json'), 'utf8')) as MachineConfig;
    const zstd = () => true;
    expect(() => rewriteArrivedConfig(c, { id: m.id, version: 4, machine: m.machine }, false, zstd)).toThrow(
      'machine.json is at version 5, the front-end named 4',
    );
    expect(() => rewriteArrivedConfig(c, { id: m.id, version: 5, machine: { ...m.machine, memoryMb: 256 } }, false, zstd)).toThrow(
      'machine.json says memoryMb 128, the front-end registered 256',
    );
    expect(() => rewriteArrivedConfig(c, { id: m.id, version: 5, machine: { ...m.machine, mac: '52:54:00:00:00:01' } }, false, zstd)).toThrow(
      /says mac 52:54:00:aa:bb:cc/,
    );
    expect(() => rewriteArrivedConfig(c, { id: '00000000-0000-4000-8000-000000000000', version: 5, machine: m.machine }, false, zstd)).toThrow(/is of machine/);
    expect(() => rewriteArrivedConfig(c, { id: m.id, version: 5, machine: m.machine }, true, zstd)).toThrow(
      'state.bin arrived for a machine that is not suspended',
    );
    const s = {
      ...c,
      suspended: { accel: 'tcg', machineType: 'pc', media: null, bootFrom: 'disk', file: 'state.bin', compression: 'zstd', savedAt: '', bytes: 1 },
    } as MachineConfig;
    expect(() => rewriteArrivedConfig(s, { id: m.id, version: 5, machine: m.machine }, false, zstd)).toThrow(
      'the machine is suspended but its state.bin did not travel',
    );
    expect(() => rewriteArrivedConfig(s, { id: m.id, version: 5, machine: m.machine }, true, () => false)).toThrow(/zstd is not installed here/);
    const elsewhere = path.join(tmp, 'not-the-id');
    renameSync(m.dir, elsewhere);
    expect(() => acceptArrivalDir(elsewhere, { id: m.id, version: 5, machine: m.machine })).toThrow(/not in a directory named by the machine id/);
  });
});
