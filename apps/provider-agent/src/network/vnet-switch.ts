import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const VDE_SWITCH = process.env['VIRTUOSO_VDE_SWITCH'] ?? 'vde_switch';
/** Linux sun_path: 108 bytes with the NUL. */
const MAX_SOCKET_PATH = 107;
/** The longest name vde_plug binds inside a switch directory: `.<pid up to 7 digits>-NNNNN`. */
const PLUG_SOCKET_NAME = 16;

/** Where one network lives on this host: <data>/vnet/<networkId>/. */
export function vnetPaths(dataDir: string, networkId: string) {
  if (!/^[0-9a-f-]{36}$/i.test(networkId)) throw new Error(`network id ${JSON.stringify(networkId)} is not a UUID`);
  const dir = path.join(dataDir, 'vnet', networkId.toLowerCase());
  // The switch's sockets (its ctl socket and one per plug) must fit sun_path: under the network's
  // directory when they do, else a short directory named by a hash of it.
  let switchDir = path.join(dir, 'sw');
  if (Buffer.byteLength(switchDir) + 1 + PLUG_SOCKET_NAME > MAX_SOCKET_PATH) {
    switchDir = path.join(os.tmpdir(), `vzv-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}`);
  }
  return {
    dir,
    switchDir,
    pidFile: path.join(dir, 'switch.pid'),
    mgmt: path.join(dir, 'mgmt'),
    key: path.join(dir, 'uplink_ed25519'),
    knownHosts: path.join(dir, 'known_hosts'),
  };
}
export type VnetPaths = ReturnType<typeof vnetPaths>;

function pidAlive(pid: number): boolean {
  if (!(Number.isInteger(pid) && pid > 1)) return false;
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The pid of the network's switch if it runs (pid file, and its command line names our directory). */
export function switchPid(p: VnetPaths): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(p.pidFile, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!pidAlive(pid)) return undefined;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(p.switchDir) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Start the network's VDE switch unless it runs. Daemonised (-d): it is no child of the agent and
 * outlives it, so the guests plugged into it stay on their segment while the agent restarts; the
 * next agent finds it by its pid file.
 */
export async function startSwitch(p: VnetPaths): Promise<number> {
  const running = switchPid(p);
  if (running) return running;
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  rmSync(p.switchDir, { recursive: true, force: true });
  rmSync(p.mgmt, { force: true });
  rmSync(p.pidFile, { force: true });
  await run(VDE_SWITCH, ['-d', '-s', p.switchDir, '-m', '0600', '--dirmode', '0700', '-M', p.mgmt, '--mgmtmode', '0600', '-p', p.pidFile]);
  const deadline = Date.now() + 5_000;
  for (;;) {
    const pid = switchPid(p);
    if (pid && existsSync(path.join(p.switchDir, 'ctl'))) return pid;
    if (Date.now() > deadline) throw new Error(`the VDE switch in ${p.switchDir} did not start`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Stop the network's switch (if it runs) and remove its sockets; the key pair is kept. */
export async function stopSwitch(p: VnetPaths): Promise<void> {
  const pid = switchPid(p);
  if (pid) {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && pidAlive(pid); i++) await new Promise((r) => setTimeout(r, 20));
    if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  rmSync(p.pidFile, { force: true });
  rmSync(p.mgmt, { force: true });
  rmSync(p.switchDir, { recursive: true, force: true });
}
