import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { TransferEndpoint } from '@virtuoso/contracts';

/** A free TCP port on 127.0.0.1 (listen on 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run a client program without blocking the test's event loop (the sshd under test may live in it). */
export function run(bin: string, args: string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** A destination's side, as a test drives it: a one-time key pair and a known_hosts with the origin's host key. */
export class TransferClient {
  readonly key: string;
  readonly knownHosts: string;

  constructor(
    readonly dir: string,
    readonly host: string,
    readonly endpoint: TransferEndpoint,
  ) {
    this.key = path.join(dir, 'key');
    this.knownHosts = path.join(dir, 'known_hosts');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test', '-f', this.key]);
    writeFileSync(this.knownHosts, `[${host}]:${endpoint.sshPort} ${endpoint.hostKey}\n`);
  }

  get publicKey(): string {
    return readFileSync(`${this.key}.pub`, 'utf8').trim();
  }

  get target(): string {
    return `${this.endpoint.sshUser}@${this.host}`;
  }

  /** The ssh options of the design (docs/ARCHITECTURE.md §7), without the port flag. */
  sshOptions(): string[] {
    return [
      '-i',
      this.key,
      '-o',
      `UserKnownHostsFile=${this.knownHosts}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=3',
      '-o',
      'ServerAliveInterval=2',
      '-o',
      'ServerAliveCountMax=3',
      '-c',
      'aes128-gcm@openssh.com',
    ];
  }

  ssh(args: string[]): Promise<RunResult> {
    return run('ssh', [...this.sshOptions(), '-p', String(this.endpoint.sshPort), ...args], 20_000);
  }

  rsync(args: string[]): Promise<RunResult> {
    const e = ['ssh', ...this.sshOptions(), '-p', String(this.endpoint.sshPort)].join(' ');
    return run('rsync', ['-e', e, ...args], 30_000);
  }

  scp(args: string[], timeoutMs = 30_000): Promise<RunResult> {
    return run('scp', ['-O', ...this.sshOptions(), '-P', String(this.endpoint.sshPort), ...args], timeoutMs);
  }
}
