import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MachineNotFoundError } from '../vmm-driver';
import { versionAfterRunEnded } from '@virtuoso/domain';
import { MachineDirs, type MachineConfig } from './machine-dir';

const ID = '0b0e6a5c-8a4e-4a53-9d5e-6a0c1f2b3c4d';
const config = (over: Partial<MachineConfig> = {}): MachineConfig => ({
  format: 1,
  spec: { id: ID, mac: '52:54:00:12:34:56', vcpus: 1, memoryMb: 128, diskMb: 64 },
  version: 3,
  diskMb: 64,
  createdAt: '2026-12-01T10:00:00.000Z',
  media: null,
  ...over,
});

let root: string;
let dirs: MachineDirs;
beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'vz-dirs-'));
  dirs = new MachineDirs(root);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('MachineDirs', () => {
  it('writes machine.json and reads back the same configuration, leaving no temporary file', () => {
    mkdirSync(dirs.dir(ID));
    dirs.write(ID, config({ media: '/isos/install.iso' }));
    expect(dirs.read(ID)).toEqual(config({ media: '/isos/install.iso' }));
    expect(readFileSync(path.join(root, ID, 'machine.json'), 'utf8')).toMatch(/^\{\n {2}"format": 1,/);
    expect(() => readFileSync(path.join(root, ID, 'machine.json.tmp'))).toThrow();
  });

  it('update changes one field and keeps the rest', () => {
    mkdirSync(dirs.dir(ID));
    dirs.write(ID, config());
    dirs.update(ID, (c) => (c.media = '/isos/a.iso'));
    expect(dirs.read(ID)).toEqual(config({ media: '/isos/a.iso' }));
  });

  it('an ended run adds one to the version (the version rule), and only that', () => {
    expect(versionAfterRunEnded(1)).toBe(2);
    mkdirSync(dirs.dir(ID));
    dirs.write(ID, config({ version: 7 }));
    expect(dirs.countEndedRun(ID).version).toBe(8);
    expect(dirs.read(ID)).toEqual(config({ version: 8 }));
  });

  it('a machine without machine.json, or an id that is not a UUID, is not found', () => {
    expect(() => dirs.read(ID)).toThrow(MachineNotFoundError);
    expect(() => dirs.dir('../etc')).toThrow(MachineNotFoundError);
    expect(() => dirs.read('0b0e6a5c/../../../../../../etc/passwd')).toThrow(MachineNotFoundError);
  });

  it('lists only the directories that hold a machine.json, sorted', () => {
    const other = 'ffffffff-8a4e-4a53-9d5e-6a0c1f2b3c4d';
    const half = '11111111-8a4e-4a53-9d5e-6a0c1f2b3c4d';
    for (const id of [other, ID]) {
      mkdirSync(dirs.dir(id));
      dirs.write(id, config());
    }
    mkdirSync(dirs.dir(half)); // a create that has not written its configuration yet
    writeFileSync(path.join(root, 'stray-file'), '');
    expect(dirs.list()).toEqual([ID, other]);
    expect(new MachineDirs(path.join(root, 'missing')).list()).toEqual([]);
  });

  it('refuses a machines directory too deep for unix socket paths', () => {
    const deep = new MachineDirs(path.join(root, 'x'.repeat(80)));
    expect(() => deep.checkSocketPaths(ID)).toThrow(/exceeds the 107-byte unix socket limit/);
    expect(() => dirs.checkSocketPaths(ID)).not.toThrow();
  });

  it('qemuLogTail gives the last 8 lines of qemu.log, or nothing', () => {
    mkdirSync(dirs.dir(ID));
    expect(dirs.qemuLogTail(ID)).toBe('');
    writeFileSync(path.join(root, ID, 'qemu.log'), Array.from({ length: 12 }, (_, i) => `line ${i + 1}`).join('\n') + '\n');
    expect(dirs.qemuLogTail(ID).split('\n')).toEqual(['line 5', 'line 6', 'line 7', 'line 8', 'line 9', 'line 10', 'line 11', 'line 12']);
  });
});
