import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { join, resolve } from 'node:path';
import type { Agent, TestApp } from './helpers';

export const REPO = resolve(__dirname, '..', '..', '..');
const AGENT_MAIN = join(REPO, 'apps', 'provider-agent', 'dist', 'main.js');
const ANSI = /\x1b\[[0-9;]*m/g;

/** Free TCP ports on loopback (bound, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((done) => {
          const server = net.createServer();
          server.listen(0, '127.0.0.1', () => done(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  return ports;
}

export interface AgentOptions {
  /** A host added by hand that the agent joins for. */
  hostId?: string;
  heartbeatMs?: number;
  /** Runs its transfer sshd (--ssh-port) on a free port: it can be a migration's origin. */
  transfer?: boolean;
  /** More flags, given at every start (e.g. --transfer-limit-kbps). */
  extraArgs?: string[];
  /** Its data directory (default: a new one under /tmp), e.g. on a small tmpfs. */
  dataDir?: string;
  /** Runs inside this network namespace, listening on `address` and joined to the front-end at `frontendUrl` (a link the test can cut). */
  netns?: { name: string; address: string; frontendUrl: string };
}

/**
 * A REAL provider agent (`node apps/provider-agent/dist/main.js`) joined to the test's API with a
 * join token from POST /api/agents/join-tokens, exactly as a provider would start it. Its VMs are
 * real QEMU processes; cleanup() ends them (VMs outlive agents by design).
 */
export class AgentProcess {
  agentId = '';
  private child: ChildProcess | null = null;
  private out = '';
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly dataDir: string,
    readonly port: number,
    readonly consolePort: number,
    private readonly frontendUrl: string,
    private readonly heartbeatMs: number,
    readonly sshPort: number | null = null,
    private readonly extraArgs: string[] = [],
    private readonly netns: AgentOptions['netns'] = undefined,
  ) {}

  /** Makes a join token as `provider`, starts the agent with it, waits until it is ready. */
  static async join(t: TestApp, provider: Agent, options: AgentOptions = {}): Promise<AgentProcess> {
    const token = await provider.post('/api/agents/join-tokens').send(options.hostId ? { hostId: options.hostId } : {});
    if (token.status !== 201) throw new Error(`join token: ${token.status} ${JSON.stringify(token.body)}`);
    // Short: machine sockets live under it (107-byte unix socket path limit).
    const dataDir = options.dataDir ?? mkdtempSync('/tmp/vzapi-');
    const [port, consolePort, sshPort] = await freePorts(3);
    const agent = new AgentProcess(
      dataDir,
      port,
      consolePort,
      options.netns?.frontendUrl ?? t.url,
      options.heartbeatMs ?? 500,
      options.transfer ? sshPort : null,
      options.extraArgs,
      options.netns,
    );
    agent.spawn(['--join', token.body.token as string]);
    const ready = await agent.waitFor(/ready: agent (\S+),/);
    agent.agentId = ready[1];
    return agent;
  }

  private spawn(extra: string[] = []): void {
    this.out = '';
    const args = [
      AGENT_MAIN,
      '--data',
      this.dataDir,
      '--port',
      String(this.port),
      '--console-port',
      String(this.consolePort),
      '--frontend',
      this.frontendUrl,
      ...(this.sshPort ? ['--ssh-port', String(this.sshPort)] : []),
      ...(this.netns ? ['--listen', this.netns.address] : []),
      ...this.extraArgs,
      ...extra,
    ];
    // nsenter execs the agent inside the namespace: the child is the agent itself (signals reach it).
    const child = spawn(this.netns ? 'nsenter' : process.execPath, this.netns ? [`--net=/var/run/netns/${this.netns.name}`, process.execPath, ...args] : args, {
      cwd: REPO,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        NO_COLOR: '1',
        VIRTUOSO_ACCEL: 'tcg',
        VIRTUOSO_AGENT_HEARTBEAT_MS: String(this.heartbeatMs),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const add = (data: Buffer) => {
      this.out += data.toString('utf8').replace(ANSI, '');
      if (process.env.AGENT_LOG) process.stderr.write(data);
    };
    child.stdout!.on('data', add);
    child.stderr!.on('data', add);
    this.exited = new Promise((done) => child.once('exit', () => done()));
    this.child = child;
  }

  get output(): string {
    return this.out;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  async waitFor(re: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = re.exec(this.out);
      if (match) return match;
      if (!this.running || Date.now() > deadline)
        throw new Error(`agent output has no ${re}${this.running ? '' : ' (agent exited)'}:\n${this.out.slice(-3000)}`);
      await new Promise((done) => setTimeout(done, 25));
    }
  }

  /** Ends the agent process (its VMs keep running). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.running) this.child!.kill(signal);
    await this.exited;
  }

  /** Sends a signal to the agent process (SIGSTOP/SIGCONT: an agent that accepts connections but does not answer). */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child!.kill(signal);
  }

  /** Kills a machine's QEMU behind the agent's back (a crash). */
  killVmm(machineId: string): void {
    const pid = Number(readFileSync(join(this.dataDir, 'machines', machineId, 'qemu.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
  }

  /** Starts the agent again on its data dir (agent.json: no token needed). */
  async restart(): Promise<void> {
    await this.kill();
    this.spawn();
    await this.waitFor(/ready: agent \S+,/);
  }

  /** Ends the agent and starts it again on its data dir with `extra` arguments (e.g. a new --join),
   *  without waiting for it to be ready (it may refuse to start: waitFor its message). */
  async restartWith(extra: string[] = []): Promise<void> {
    await this.kill();
    this.spawn(extra);
  }

  /** Resolves once the agent process has ended by itself. */
  async ended(): Promise<void> {
    await this.exited;
  }

  /** The agent's serial log of a machine (what the guest printed). */
  serialLog(machineId: string): string {
    try {
      return readFileSync(join(this.dataDir, 'machines', machineId, 'serial.log'), 'latin1');
    } catch {
      return '';
    }
  }

  async waitForSerial(machineId: string, re: RegExp, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!re.test(this.serialLog(machineId))) {
      if (Date.now() > deadline) throw new Error(`serial of ${machineId}: no ${re}; tail ${JSON.stringify(this.serialLog(machineId).slice(-300))}`);
      await new Promise((done) => setTimeout(done, 50));
    }
  }

  /** Kills the agent and every QEMU it started, and removes its data dir. */
  async cleanup(): Promise<void> {
    await this.kill();
    const machines = join(this.dataDir, 'machines');
    for (const id of existsSync(machines) ? readdirSync(machines) : []) {
      try {
        const pid = Number(readFileSync(join(machines, id, 'qemu.pid'), 'utf8'));
        if (pid > 1 && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(id)) process.kill(pid, 'SIGKILL');
      } catch {
        /* not running */
      }
    }
    // The agent's VDE switches outlive it by design (running guests stay plugged): their command
    // lines name its data directory (pid file, management socket).
    for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${this.dataDir}/`)) process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Polls `check` until it returns a value (not undefined/false), or fails after timeoutMs. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}
