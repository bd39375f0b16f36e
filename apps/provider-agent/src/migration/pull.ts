import { spawn, type ChildProcess } from 'node:child_process';
import { lstatSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';

/** How the destination reaches the origin's transfer sshd with its one-time key. */
export interface PullSource {
  method: 'SCP' | 'RSYNC';
  user: string;
  host: string;
  port: number;
  /** The one-time private key (keys.ts). */
  keyFile: string;
  /** known_hosts holding only the origin's host key (keys.ts). */
  knownHostsFile: string;
}

export interface PullOptions extends PullSource {
  machineId: string;
  /** Where the copy lands: <stagingDir>/<machineId>/… (made empty by the caller). */
  stagingDir: string;
  /** RSYNC: an older copy of the machine to take unchanged blocks from (--copy-dest). */
  cacheDir?: string;
  /** Bytes the manifest announces (progress). */
  totalBytes: number;
  pollMs?: number;
}

export interface PullProgress {
  bytesDone: number;
  bytesTotal: number;
  bytesPerSecond: number;
}

export interface PullResult {
  /** What crossed the wire: rsync's "Total bytes received", or the copied size for scp. */
  bytesReceived: number;
  durationMs: number;
}

export class PullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PullError';
  }
}

/**
 * ssh client options of a pull (report §7.2): only the one-time key, only the given host key,
 * never a prompt; keepalives end a pull whose link is down in about 7 s (ServerAlive 2 × 3: the
 * rsync --timeout of a pull does not fire); aes128-gcm, the fastest cipher on our hosts.
 */
export function sshOptions(s: PullSource): string[] {
  return [
    '-i', s.keyFile,
    '-o', `UserKnownHostsFile=${s.knownHostsFile}`,
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'BatchMode=yes',
    '-o', 'ConnectTimeout=3',
    '-o', 'ServerAliveInterval=2',
    '-o', 'ServerAliveCountMax=3',
    '-c', 'aes128-gcm@openssh.com',
  ];
}

/** A word of rsync's -e command: quoted when it holds anything the remote-shell split would cut. */
const shellWord = (w: string) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);

/** The argument vector of a pull (exported for tests and logs). */
export function pullCommand(o: PullOptions): { file: string; args: string[] } {
  const remote = `${o.user}@${o.host.includes(':') ? `[${o.host}]` : o.host}`;
  if (o.method === 'RSYNC') {
    // The origin's key runs rrsync -ro on the machine's export dir: "/" is that dir. A fresh
    // target dir (never --inplace): a killed pull leaves the cache intact (--copy-dest only
    // reads it). --safe-links: a symlink pointing outside the export is not followed.
    // --ignore-times: never trust size + mtime to skip a file (a machine changed within the same
    // second as its cache, or on a host whose clock is behind, would arrive stale); the delta
    // algorithm still sends only the changed blocks.
    const ssh = ['ssh', '-p', String(o.port), ...sshOptions(o)].map(shellWord).join(' ');
    const args = ['-a', '--ignore-times', '--safe-links', '--stats', '-e', ssh];
    if (o.cacheDir) args.push(`--copy-dest=${path.resolve(o.cacheDir)}`);
    args.push(`${remote}:/`, path.join(o.stagingDir, o.machineId) + '/');
    return { file: 'rsync', args };
  }
  // The origin's key forces `scp -r -f <machine dir>` whatever path is asked: legacy protocol
  // (-O), and the directory arrives as <stagingDir>/<machineId>.
  return { file: 'scp', args: ['-O', '-r', '-p', '-P', String(o.port), ...sshOptions(o), `${remote}:${o.machineId}`, o.stagingDir + '/'] };
}

/** Bytes of the regular files under `dir` (0 if it does not exist). */
export function bytesUnder(dir: string): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of entries) {
    const p = path.join(dir, name);
    try {
      const st = lstatSync(p);
      if (st.isDirectory()) total += bytesUnder(p);
      else if (st.isFile()) total += st.size;
    } catch {
      /* renamed or removed while we looked */
    }
  }
  return total;
}

/** "Total bytes received: 10,512,345" of rsync --stats → 10512345. */
export function parseBytesReceived(stats: string): number | null {
  const m = /Total bytes received:\s*([\d,.]+)/.exec(stats);
  return m ? Number(m[1]!.replace(/[,.]/g, '')) : null;
}

/** The last lines of a tool's stderr, as one line (the reason a pull failed). */
export function stderrTail(text: string, max = 400): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.slice(-4).join('; ').slice(-max);
}

/**
 * One pull: rsync or scp as a child process in its own process group (abort kills the tool and
 * its ssh together). Progress is the bytes under the staging dir, polled every 500 ms, with the
 * rate over the last few seconds.
 */
export class Pull {
  readonly done: Promise<PullResult>;
  private readonly child: ChildProcess;
  private readonly samples: { t: number; bytes: number }[] = [];
  private readonly timer: NodeJS.Timeout;
  private aborted = false;
  private last: PullProgress;

  constructor(private readonly o: PullOptions) {
    const { file, args } = pullCommand(o);
    const t0 = Date.now();
    this.last = { bytesDone: 0, bytesTotal: o.totalBytes, bytesPerSecond: 0 };
    this.child = spawn(file, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    this.child.stdout!.on('data', (d: Buffer) => (stdout = (stdout + d.toString()).slice(-16_384)));
    this.child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-16_384)));
    this.timer = setInterval(() => this.sample(), o.pollMs ?? 500);
    this.done = new Promise<PullResult>((resolve, reject) => {
      this.child.on('error', (e) => {
        clearInterval(this.timer);
        reject(new PullError(`${file} could not start: ${e.message}`));
      });
      this.child.on('close', (code, signal) => {
        clearInterval(this.timer);
        if (this.aborted) return reject(new PullError(`${o.method} pull aborted`));
        if (code !== 0) {
          const why = stderrTail(stderr) || (signal ? `killed by ${signal}` : `exit code ${code}`);
          return reject(new PullError(`${o.method} pull from ${o.host}:${o.port} failed: ${why}`));
        }
        this.sample();
        const copied = bytesUnder(path.join(o.stagingDir, o.machineId));
        const received = o.method === 'RSYNC' ? parseBytesReceived(stdout) : copied;
        resolve({ bytesReceived: received ?? copied, durationMs: Date.now() - t0 });
      });
    });
  }

  progress(): PullProgress {
    return this.last;
  }

  /** Kill the tool (and its ssh); `done` rejects. */
  abort(): void {
    this.aborted = true;
    clearInterval(this.timer);
    try {
      if (this.child.pid && this.child.exitCode === null) process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }

  private sample(): void {
    const now = Date.now();
    const bytes = Math.min(bytesUnder(path.join(this.o.stagingDir, this.o.machineId)), this.o.totalBytes);
    this.samples.push({ t: now, bytes });
    while (this.samples.length > 2 && now - this.samples[0]!.t > 3_000) this.samples.shift();
    const first = this.samples[0]!;
    const rate = now > first.t ? Math.max(0, Math.round(((bytes - first.bytes) * 1000) / (now - first.t))) : 0;
    this.last = { bytesDone: bytes, bytesTotal: this.o.totalBytes, bytesPerSecond: rate };
  }
}

/**
 * Kill the pulls of a previous agent process that still hold `keyFile` (the tool and its ssh run in
 * their own process group and outlive a killed agent): found by the key's path on their command
 * line. Returns the pids signalled.
 */
export function killLeftoverPulls(keyFile: string): number[] {
  const killed: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (!cmdline.some((arg) => arg === keyFile || arg.includes(` ${keyFile} `) || arg.endsWith(` ${keyFile}`))) continue;
      process.kill(Number(name), 'SIGKILL');
      killed.push(Number(name));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return killed;
}
