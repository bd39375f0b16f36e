import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { MACHINE_FILES as F } from './command-line';
import { sleep } from './qmp-client';
import { pidAlive } from './qemu-process';

/**
 * The private NIC's plug into its network's VDE switch (docs/ARCHITECTURE.md §11). QEMU here has
 * no `-netdev vde`, so nic0 is a `dgram` netdev on a unix socket pair and a `vde_plug` carries its
 * frames to the switch: `vde_plug vde://<switch dir> ptp://<machine dir>/nic0.ptp` binds
 * nic0.ptp and answers to nic0.ptp+, which QEMU binds (libvdeplug_ptp's convention).
 *
 * Like the VMM, the plug runs detached and outlives the agent (a running guest stays on its
 * segment while the agent restarts); its pid file lets a restarted agent find it. It ends when the
 * VMM's run ends (the driver stops it).
 */

export const VDE_PLUG = process.env['VIRTUOSO_VDE_PLUG'] ?? 'vde_plug';

function plugUrl(dir: string): string {
  return `ptp://${path.join(dir, F.nicPlug)}`;
}

/** The pid of the machine's plug if it runs (pid file + its command line names our socket). */
export function nicPlugPid(dir: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(dir, F.nicPlugPid), 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!pidAlive(pid)) return undefined;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(plugUrl(dir)) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Start the plug (replacing one left over) and wait until its socket is there. */
export async function startNicPlug(dir: string, switchDir: string): Promise<number> {
  stopNicPlug(dir);
  for (const s of [F.nicPlug, `${F.nicPlug}+`]) rmSync(path.join(dir, s), { force: true });
  const logFd = openSync(path.join(dir, F.nicPlugLog), 'a');
  let child;
  try {
    child = spawn(VDE_PLUG, [`vde://${switchDir}`, plugUrl(dir)], { cwd: dir, detached: true, stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  let failed: string | undefined;
  child.once('error', (e) => (failed = e.message));
  child.once('exit', (code, signal) => (failed = `exited (${signal ?? `code ${code}`})`));
  child.unref();
  const deadline = Date.now() + 5_000;
  while (!existsSync(path.join(dir, F.nicPlug))) {
    if (failed || Date.now() > deadline) {
      if (child.pid) killQuietly(child.pid);
      const log = tail(path.join(dir, F.nicPlugLog));
      throw new Error(`the private NIC's plug into ${switchDir} did not start: ${failed ?? 'no socket after 5 s'}${log ? `\n${log}` : ''}`);
    }
    await sleep(20);
  }
  writeFileSync(path.join(dir, F.nicPlugPid), `${child.pid}\n`);
  return child.pid!;
}

/** Stop the plug if it runs; idempotent. */
export function stopNicPlug(dir: string): void {
  const pid = nicPlugPid(dir);
  if (pid) killQuietly(pid);
  rmSync(path.join(dir, F.nicPlugPid), { force: true });
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    /* gone */
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-4).join('\n');
  } catch {
    return '';
  }
}
