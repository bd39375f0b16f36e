import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ManifestFile, MigrationReport } from '@virtuoso/contracts';
import type { MachineConfig } from '../../vmm/qemu/machine-dir';
import { sha256File } from '../verify';

/** A machine as an origin exports it: machine.json, a 64 MB qcow2 holding `dataMb` of random data, state.bin if suspended. */
export function makeMachineDir(
  parent: string,
  o: { id?: string; version?: number; dataMb?: number; suspended?: boolean; mac?: string } = {},
): { id: string; dir: string; config: MachineConfig; machine: { mac: string; vcpus: number; memoryMb: number; diskMb: number } } {
  const id = o.id ?? randomUUID();
  const dir = path.join(parent, id);
  mkdirSync(dir, { recursive: true });
  const raw = path.join(dir, 'disk.raw');
  writeFileSync(raw, '');
  execFileSync('truncate', ['-s', '64M', raw]);
  execFileSync('dd', ['if=/dev/urandom', `of=${raw}`, 'bs=1M', `count=${o.dataMb ?? 16}`, 'conv=notrunc', 'status=none']);
  execFileSync('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, path.join(dir, 'disk.qcow2')]);
  rmSync(raw);
  const machine = { mac: o.mac ?? '52:54:00:aa:bb:cc', vcpus: 1, memoryMb: 128, diskMb: 64 };
  const config: MachineConfig = {
    format: 1,
    spec: { id, ...machine, baseImage: '/origin/images/tiny.img' },
    version: o.version ?? 3,
    diskMb: 64,
    createdAt: new Date().toISOString(),
    media: '/origin/data/media/abc.iso',
    lastRun: { accel: 'tcg', machineType: 'pc', media: '/origin/data/media/abc.iso', bootFrom: 'disk', startedAt: new Date().toISOString() },
  };
  if (o.suspended) {
    writeFileSync(path.join(dir, 'state.bin'), randomBytes(1 << 20));
    config.suspended = {
      accel: 'tcg',
      machineType: 'pc',
      media: '/origin/data/media/abc.iso',
      bootFrom: 'disk',
      file: 'state.bin',
      compression: 'none',
      savedAt: new Date().toISOString(),
      bytes: 1 << 20,
    };
  }
  writeFileSync(path.join(dir, 'machine.json'), JSON.stringify(config, null, 2) + '\n');
  return { id, dir, config, machine };
}

/** The manifest an origin would give for `dir`. */
export async function manifestOf(dir: string, names: ManifestFile['name'][] = ['machine.json', 'disk.qcow2']): Promise<ManifestFile[]> {
  const { statSync } = await import('node:fs');
  return Promise.all(names.map(async (name) => ({ name, size: statSync(path.join(dir, name)).size, sha256: await sha256File(path.join(dir, name)) })));
}

/** A `report` dependency that keeps what it was given; `failFirst` calls throw first (front-end down). */
export function capturingReport(failFirst = 0): {
  reports: Omit<MigrationReport, 'agentId'>[];
  report: (r: Omit<MigrationReport, 'agentId'>) => Promise<void>;
  calls: () => number;
} {
  const reports: Omit<MigrationReport, 'agentId'>[] = [];
  let calls = 0;
  return {
    reports,
    calls: () => calls,
    report: async (r) => {
      calls++;
      if (calls <= failFirst) throw new Error('front-end unreachable');
      reports.push(r);
    },
  };
}
