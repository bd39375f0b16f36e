import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { ArrivingMachine } from '../vmm-driver';
import { MACHINE_FILES as F } from './command-line';
import { MachineDirs, type MachineConfig } from './machine-dir';

export class ArrivalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArrivalError';
  }
}

/**
 * A machine that arrived from another provider (report §7.2; docs/ARCHITECTURE.md §7): its
 * machine.json must be the machine the front-end registered, at the version it named. It is
 * rewritten to version + 1 and stripped of what named the origin's files: install media (they do
 * not travel: the CD-ROM arrives empty), the base image it was once copied from, a directly booted
 * kernel missing here. The saved state (suspended machines) is state.bin in the machine's
 * directory, a relative name, so it resumes here as it would have there.
 */
export function rewriteArrivedConfig(c: MachineConfig, a: ArrivingMachine, hasStateFile: boolean, zstdHere: () => boolean): MachineConfig {
  const bad = (why: string) => new ArrivalError(`machine.json ${why}`);
  if (c.format !== 1 || !c.spec) throw bad('is not a machine configuration this agent reads');
  if (c.spec.id !== a.id) throw bad(`is of machine ${c.spec.id}, not ${a.id}`);
  if (c.version !== a.version) throw bad(`is at version ${c.version}, the front-end named ${a.version}`);
  const want = a.machine;
  for (const [k, got, exp] of [
    ['mac', c.spec.mac?.toLowerCase(), want.mac.toLowerCase()],
    ['vcpus', c.spec.vcpus, want.vcpus],
    ['memoryMb', c.spec.memoryMb, want.memoryMb],
    ['diskMb', c.spec.diskMb, want.diskMb],
  ] as const) {
    if (got !== exp) throw bad(`says ${k} ${String(got)}, the front-end registered ${String(exp)}`);
  }
  if (!!c.suspended !== hasStateFile) {
    throw new ArrivalError(c.suspended ? 'the machine is suspended but its state.bin did not travel' : 'state.bin arrived for a machine that is not suspended');
  }
  if (c.suspended?.compression === 'zstd' && !zstdHere()) throw new ArrivalError('the saved state is zstd-compressed and zstd is not installed here');

  const out: MachineConfig = structuredClone(c);
  out.version = a.version + 1;
  delete out.spec.baseImage;
  out.media = null;
  const here = (k?: { kernel: string; initrd?: string }) => !!k && existsSync(k.kernel) && (!k.initrd || existsSync(k.initrd));
  for (const run of [out.lastRun, out.suspended]) {
    if (!run) continue;
    run.media = null;
    if (run.directKernel && !here(run.directKernel)) delete run.directKernel;
  }
  if (out.suspended) out.suspended.file = F.state;
  return out;
}

/** Check and rewrite the machine.json of a copy in `dir` (named by the machine id). Returns the new version. */
export function acceptArrivalDir(dir: string, a: ArrivingMachine): number {
  if (path.basename(dir) !== a.id) throw new ArrivalError(`the copy is in ${path.basename(dir)}, not in a directory named by the machine id`);
  const dirs = new MachineDirs(path.dirname(dir));
  let c: MachineConfig;
  try {
    c = dirs.read(a.id);
  } catch {
    throw new ArrivalError('machine.json is missing or unreadable');
  }
  const next = rewriteArrivedConfig(c, a, existsSync(path.join(dir, F.state)), () => spawnSync('zstd', ['--version'], { stdio: 'ignore' }).status === 0);
  dirs.write(a.id, next);
  return next.version;
}
