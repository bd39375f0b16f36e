import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';

export const REPO = path.resolve(__dirname, '..', '..', '..', '..', '..');
export const AGENT_MAIN = path.join(REPO, 'apps', 'provider-agent', 'dist', 'main.js');

/** Free TCP ports on loopback (bound then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve) => {
          const s = net.createServer();
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

const ANSI = /\x1b\[[0-9;]*m/g;

/** `node apps/provider-agent/dist/main.js` as a child process, its output kept for assertions. */
export class AgentProcess {
  readonly child: ChildProcess;
  private out = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(env: Record<string, string>, args: string[] = []) {
    this.child = spawn(process.execPath, [AGENT_MAIN, ...args], {
      cwd: REPO,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp', NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const add = (d: Buffer) => {
      this.out += d.toString('utf8').replace(ANSI, '');
      if (process.env['AGENT_LOG']) process.stderr.write(d);
    };
    this.child.stdout!.on('data', add);
    this.child.stderr!.on('data', add);
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get output(): string {
    return this.out;
  }

  /** Output lines after `from` characters. */
  since(from: number): string {
    return this.out.slice(from);
  }

  async waitFor(re: RegExp, opts: { from?: number; timeoutMs?: number } = {}): Promise<RegExpExecArray> {
    const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
    let exited = false;
    void this.exited.then(() => (exited = true));
    for (;;) {
      const m = re.exec(this.out.slice(opts.from ?? 0));
      if (m) return m;
      if (exited || Date.now() > deadline) {
        throw new Error(`agent output has no ${re}${exited ? ' (agent exited)' : ''}; output:\n${this.out.slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  ready(): Promise<RegExpExecArray> {
    return this.waitFor(/ready: agent \S+/);
  }

  async kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}
