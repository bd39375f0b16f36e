import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { Logger } from '@nestjs/common';
import type { TransferEndpoint } from '@virtuoso/contracts';

const run = promisify(execFile);

export const SSHD_BINARY = '/usr/sbin/sshd';
/** util-linux: runs a program with a parent-death signal. */
const SETPRIV = '/usr/bin/setpriv';

export interface TransferSshdOptions {
  dataDir: string;
  /** The agent's listen address: the sshd listens there too. */
  listenHost: string;
  /** The agent's --ssh-port. */
  port: number;
}

/** Where the transfer sshd keeps its files: <data>/ssh/. */
export function sshPaths(dataDir: string) {
  const dir = path.join(dataDir, 'ssh');
  return {
    dir,
    hostKey: path.join(dir, 'ssh_host_ed25519_key'),
    config: path.join(dir, 'sshd_config'),
    authorizedKeys: path.join(dir, 'authorized_keys'),
    pidFile: path.join(dir, 'sshd.pid'),
  };
}

/**
 * The sshd_config of the transfer sshd (report §7.3; docs/ARCHITECTURE.md §7). Key logins only,
 * for the agent's own user only, keys from our authorized_keys only (each line forced to one
 * export directory), no forwarding of any kind, no sftp subsystem. StrictModes is off because the
 * data dir's parents are not ours to check; the files themselves are 0600 in a 0700 directory.
 */
export function renderSshdConfig(o: { port: number; listenHost: string; hostKey: string; authorizedKeys: string; pidFile: string; user: string }): string {
  return [
    '# Written by the provider agent at every start; edits are overwritten.',
    `Port ${o.port}`,
    `ListenAddress ${o.listenHost}`,
    `HostKey ${o.hostKey}`,
    `AuthorizedKeysFile ${o.authorizedKeys}`,
    `PidFile ${o.pidFile}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    // Every line of our authorized_keys carries a forced command; root may log in only through one.
    'PermitRootLogin forced-commands-only',
    `AllowUsers ${o.user}`,
    'DisableForwarding yes',
    'AllowTcpForwarding no',
    'AllowStreamLocalForwarding no',
    'AllowAgentForwarding no',
    'X11Forwarding no',
    'PermitTunnel no',
    'PermitTTY no',
    'PermitUserRC no',
    'PrintMotd no',
    'ClientAliveInterval 5',
    'ClientAliveCountMax 3',
    'LogLevel VERBOSE',
    '',
  ].join('\n');
}

/** `ssh-ed25519 AAAA… comment` → `ssh-ed25519 AAAA…`. */
export function publicKeyWithoutComment(line: string): string {
  const [type, blob] = line.trim().split(/\s+/);
  if (!type || !blob) throw new Error(`not a public key line: ${JSON.stringify(line.slice(0, 80))}`);
  return `${type} ${blob}`;
}

/** The endpoint destinations are given for a host key file (ours, or the system sshd's). */
export async function readTransferEndpoint(hostKeyPub: string, sshPort: number): Promise<TransferEndpoint> {
  const hostKey = publicKeyWithoutComment(readFileSync(hostKeyPub, 'utf8'));
  const { stdout } = await run('ssh-keygen', ['-lf', hostKeyPub]);
  const fingerprint = stdout.trim().split(/\s+/)[1];
  if (!fingerprint?.startsWith('SHA256:')) throw new Error(`ssh-keygen -lf ${hostKeyPub}: unexpected output ${JSON.stringify(stdout.trim())}`);
  return { sshPort, sshUser: os.userInfo().username, hostKey, fingerprint };
}

/**
 * The agent's private transfer sshd: `sshd -D -e -f <data>/ssh/sshd_config`, a child of the agent,
 * its log lines in the agent's log. Origins serve exported machines through it.
 */
export class TransferSshd {
  private readonly log = new Logger('TransferSshd');
  private readonly paths: ReturnType<typeof sshPaths>;
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private endpointValue?: TransferEndpoint;
  private stopping = false;
  private restartTimer?: NodeJS.Timeout;

  constructor(private readonly opts: TransferSshdOptions) {
    this.paths = sshPaths(opts.dataDir);
  }

  get authorizedKeysFile(): string {
    return this.paths.authorizedKeys;
  }

  async start(): Promise<void> {
    const p = this.paths;
    mkdirSync(p.dir, { recursive: true, mode: 0o700 });
    if (!existsSync(p.hostKey)) {
      rmSync(`${p.hostKey}.pub`, { force: true });
      await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `virtuoso-agent@${os.hostname()}`, '-f', p.hostKey]);
      this.log.log(`made the transfer host key ${p.hostKey}`);
    }
    if (!existsSync(p.authorizedKeys)) writeFileSync(p.authorizedKeys, '', { mode: 0o600 });
    writeFileSync(
      p.config,
      renderSshdConfig({ ...this.opts, hostKey: p.hostKey, authorizedKeys: p.authorizedKeys, pidFile: p.pidFile, user: os.userInfo().username }),
      { mode: 0o600 },
    );
    // sshd's privilege separation directory (Debian's unit makes it; we may run without the unit).
    // Only an sshd started as root needs it; an unprivileged agent could not make it anyway.
    if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    await this.killLeftover();
    this.endpointValue = await readTransferEndpoint(`${p.hostKey}.pub`, this.opts.port);

    this.stopping = false;
    await this.spawnAndWait();
  }

  /** Start sshd and wait until it accepts; if it dies later, unasked, it is started again. */
  private async spawnAndWait(): Promise<void> {
    const p = this.paths;
    // setpriv --pdeathsig: the sshd ends with the agent even when the agent is SIGKILLed (a
    // restarted agent would replace it anyway, but an agent that is not restarted must not leave
    // a server behind).
    const argv = [SSHD_BINARY, '-D', '-e', '-f', p.config];
    const [bin, ...args] = existsSync(SETPRIV) ? [SETPRIV, '--pdeathsig', 'TERM', '--', ...argv] : argv;
    const child = spawn(bin!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    const lastLines: string[] = [];
    createInterface({ input: child.stderr! }).on('line', (line) => {
      lastLines.push(line);
      if (lastLines.length > 5) lastLines.shift();
      this.log.log(line);
    });
    let up = false;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        if (this.child === child) this.child = undefined;
        resolve();
        if (this.stopping || !up) return this.log.log(`sshd exited (${signal ?? `code ${code}`})`);
        this.log.warn(`sshd exited unasked (${signal ?? `code ${code}`}); starting it again`);
        this.scheduleRestart();
      }),
    );
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (!this.child) {
        if (this.stopping) return; // stop() came first
        throw new Error(`the transfer sshd did not start: ${lastLines.join(' | ') || 'no output'}`);
      }
      // Accepting, and still ours: an sshd that lost the port to another listener exits at once.
      if ((await accepts(this.opts.listenHost, this.opts.port)) && (await new Promise((r) => setTimeout(r, 100)), this.child)) break;
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`the transfer sshd does not accept on ${this.opts.listenHost}:${this.opts.port}: ${lastLines.join(' | ')}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    up = true;
    this.log.log(`transfer sshd on ${this.opts.listenHost}:${this.opts.port} (pid ${child.pid}), host key ${this.endpointValue!.fingerprint}`);
  }

  private scheduleRestart(): void {
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.spawnAndWait().catch((e) => {
        this.log.error(`${(e as Error).message}; trying again`);
        if (!this.stopping) this.scheduleRestart();
      });
    }, 1_000);
  }

  /** What the agent reports in HostFacts.transfer. */
  endpoint(): TransferEndpoint {
    if (!this.endpointValue) throw new Error('the transfer sshd is not started');
    return this.endpointValue;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await this.exited;
    clearTimeout(killer);
    rmSync(this.paths.pidFile, { force: true });
  }

  /** An sshd of ours left by an agent that was killed (its pid file, our config on its command line). */
  private async killLeftover(): Promise<void> {
    let pid: number;
    try {
      pid = Number(readFileSync(this.paths.pidFile, 'utf8').trim());
    } catch {
      return;
    }
    try {
      // sshd rewrites its process title ("sshd: /usr/sbin/sshd -D -e -f <cfg> [listener] …").
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(` -f ${this.paths.config}`)) {
        process.kill(pid, 'SIGTERM');
        this.log.warn(`stopping the transfer sshd left running by a previous agent (pid ${pid})`);
        for (let i = 0; i < 60 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 50));
      }
    } catch {
      /* gone already */
    }
    rmSync(this.paths.pidFile, { force: true });
  }
}

/** Does something accept TCP connections there? */
export function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
