import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { versionAfterRunEnded } from '@virtuoso/domain';
import { MachineNotFoundError, type DirectKernelBoot, type MachineNetwork, type MachineSpec } from '../vmm-driver';
import { MACHINE_FILES as F, type Accel, type MachineType, type StateCompression } from './command-line';

/** Linux sun_path is 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH = 107;

/** machine.json */
export interface MachineConfig {
  format: 1;
  spec: MachineSpec;
  version: number;
  /** Effective disk size (MiB). */
  diskMb: number;
  createdAt: string;
  media: string | null;
  lastRun?: RunConfig & { startedAt: string };
  suspended?: RunConfig & { file: string; compression: StateCompression; savedAt: string; bytes: number };
}

/** What a resumed process must reproduce exactly (same devices, ROMs and RAM layout). */
export interface RunConfig {
  accel: Accel;
  machineType: MachineType;
  media: string | null;
  bootFrom: 'disk' | 'cdrom';
  directKernel?: DirectKernelBoot;
  /** The run's network (its forwarded ports are in use while the run lasts; removed when it ends). */
  network?: MachineNetwork;
}

/**
 * The machines directory: one sub-directory per machine, named by its id, holding the files of
 * MACHINE_FILES (see vmm-driver.ts) and machine.json, the machine's configuration.
 */
export class MachineDirs {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** Directory of a machine; ids that are not UUID-shaped are not found (no path tricks). */
  dir(id: string): string {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new MachineNotFoundError(id);
    return path.join(this.root, id);
  }

  /** A file of the machine's directory (a MACHINE_FILES name). */
  file(id: string, name: string): string {
    return path.join(this.dir(id), name);
  }

  /** Throws if the machine's unix sockets would not fit Linux's sun_path. */
  checkSocketPaths(id: string): void {
    const longest = this.file(id, F.serial);
    if (Buffer.byteLength(longest) > MAX_SOCKET_PATH) {
      throw new Error(`machines directory too deep: ${longest} exceeds the ${MAX_SOCKET_PATH}-byte unix socket limit`);
    }
  }

  /** Ids of the machines stored here (directories holding a machine.json), sorted. */
  list(): string[] {
    if (!existsSync(this.root)) return [];
    return readdirSync(this.root, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(path.join(this.root, d.name, F.config)))
      .map((d) => d.name)
      .sort();
  }

  read(id: string): MachineConfig {
    let text: string;
    try {
      text = readFileSync(this.file(id, F.config), 'utf8');
    } catch {
      throw new MachineNotFoundError(id);
    }
    return JSON.parse(text) as MachineConfig;
  }

  /** Atomic replace (write a temporary file, rename it over machine.json). */
  write(id: string, c: MachineConfig): void {
    const file = this.file(id, F.config);
    writeFileSync(file + '.tmp', JSON.stringify(c, null, 2) + '\n');
    renameSync(file + '.tmp', file);
  }

  /** Synchronous read-modify-write: no other code runs in between in this process. */
  update(id: string, fn: (c: MachineConfig) => void): MachineConfig {
    const c = this.read(id);
    fn(c);
    this.write(id, c);
    return c;
  }

  /** A run of the machine ended: record its new version. */
  countEndedRun(id: string): MachineConfig {
    return this.update(id, (c) => {
      c.version = versionAfterRunEnded(c.version);
      // The run's forwarded ports and segment are free again.
      if (c.lastRun) delete c.lastRun.network;
    });
  }

  /** The last lines of the machine's QEMU log (for error messages); '' if there is none. */
  qemuLogTail(id: string): string {
    try {
      const text = readFileSync(this.file(id, F.qemuLog), 'utf8');
      return text.trim().split('\n').slice(-8).join('\n');
    } catch {
      return '';
    }
  }
}
