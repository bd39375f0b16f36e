import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Logger } from '@nestjs/common';
import type { VnetUplink } from '@virtuoso/contracts';

export const VDE_PLUG = process.env['VIRTUOSO_VDE_PLUG'] ?? 'vde_plug';
/** util-linux: runs a program with a parent-death signal. */
const SETPRIV = '/usr/bin/setpriv';

/** Backoff between attempts: 0.5 s doubling to 5 s; back to 0.5 s after a connection that held. */
export function nextBackoffMs(previousMs: number | undefined): number {
  return previousMs === undefined ? 500 : Math.min(5_000, previousMs * 2);
}

/** The known_hosts line of the hub's transfer sshd (`[host]:port key`, port 22: `host key`). */
export function knownHostsLine(u: Pick<VnetUplink, 'host' | 'sshPort' | 'hostKey'>): string {
  const [type, blob] = u.hostKey.trim().split(/\s+/);
  const name = u.sshPort === 22 ? u.host : `[${u.host}]:${u.sshPort}`;
  return `${name} ${type} ${blob}\n`;
}

/** A program under `setpriv --pdeathsig TERM` (it ends when its parent does), when setpriv exists. */
function dieWithParent(argv: string[]): string[] {
  return existsSync(SETPRIV) ? [SETPRIV, '--pdeathsig', 'TERM', '--', ...argv] : argv;
}

/**
 * The spoke's uplink argv: the local switch's plug, its stream through ssh to the hub's transfer
 * sshd, where the forced command of our key plugs it into the hub's switch. Frames between
 * providers travel only inside ssh. Each process ends with its parent (the agent, then vde_plug).
 */
export function uplinkArgv(switchDir: string, keyFile: string, knownHostsFile: string, u: VnetUplink): string[] {
  const ssh = [
    'ssh',
    '-i',
    keyFile,
    '-p',
    String(u.sshPort),
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${knownHostsFile}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'ServerAliveInterval=2',
    '-o',
    'ServerAliveCountMax=3',
    '-o',
    'ConnectTimeout=3',
    // VERBOSE: ssh says "Authenticated to …" once the hub took the key (the 'up' signal).
    '-o',
    'LogLevel=VERBOSE',
    '-c',
    'aes128-gcm@openssh.com',
    `${u.sshUser}@${u.host}`,
    'vnet',
  ];
  return dieWithParent([VDE_PLUG, `vde://${switchDir}`, '=', ...dieWithParent(ssh)]);
}

export type UplinkState = 'connecting' | 'up';

/**
 * One network's uplink on a spoke: the child of uplinkArgv, started again with backoff whenever it
 * ends, until stopped. 'up' once ssh authenticated to the hub and the plug runs; 'connecting'
 * otherwise.
 */
export class Uplink {
  private readonly log: Logger;
  private child?: ChildProcess;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private backoffMs?: number;
  private upSince?: number;
  private lastError = '';
  state: UplinkState = 'connecting';

  constructor(
    readonly networkId: string,
    /** What it runs; a change of argv means a new uplink (the service replaces it). */
    readonly argv: string[],
  ) {
    this.log = new Logger(`Vnet ${networkId.slice(0, 8)}`);
  }

  start(): void {
    this.stopped = false;
    this.spawnOnce();
  }

  private spawnOnce(): void {
    if (this.stopped) return;
    const [bin, ...args] = this.argv;
    // POSIXLY_CORRECT: vde_plug's getopt stops at its first argument, so the options of the
    // command after '=' stay that command's.
    const child = spawn(bin!, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, POSIXLY_CORRECT: '1' } });
    this.child = child;
    this.state = 'connecting';
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (/^Authenticated to /.test(line)) {
        this.state = 'up';
        this.upSince = Date.now();
        this.log.log(`uplink up (${line.trim()})`);
      } else if (line.trim()) {
        this.lastError = line.trim();
      }
    });
    child.once('error', (e) => (this.lastError = e.message));
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      const wasUp = this.state === 'up';
      this.state = 'connecting';
      if (this.stopped) return;
      // A connection that held a while starts over at the shortest delay.
      if (wasUp && this.upSince && Date.now() - this.upSince > 5_000) this.backoffMs = undefined;
      this.backoffMs = nextBackoffMs(this.backoffMs);
      this.log.warn(`uplink ended (${signal ?? `code ${code}`}${this.lastError ? `: ${this.lastError}` : ''}); again in ${this.backoffMs} ms`);
      this.timer = setTimeout(() => this.spawnOnce(), this.backoffMs);
    });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.state = 'connecting';
    this.child?.kill('SIGTERM');
    this.child = undefined;
  }
}
