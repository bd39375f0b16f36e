import { spawn, type ChildProcess } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { closeSync, openSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { MachineSpec, VmmEvents } from '../vmm-driver';
import { buildQemuArgs, MACHINE_FILES as F, type StateCompression } from './command-line';
import type { MachineDirs, RunConfig } from './machine-dir';
import { QmpClient, sleep } from './qmp-client';

/** What the driver is doing to end a run; null while nobody asked the run to end. */
export type RunIntent = 'stop' | 'suspend' | 'delete' | null;

export interface ExitInfo {
  code: number | null;
  signal: string | null;
}

/** A machine's QEMU process: launched by this driver, or found again after an agent restart. */
export interface Runtime {
  id: string;
  dir: string;
  pid: number;
  /** Only for a process this driver spawned (a reattached one is watched through QMP and /proc). */
  child?: ChildProcess;
  qmp?: QmpClient;
  serial?: net.Socket;
  intent: RunIntent;
  guestShutdown: boolean;
  /** The agent let go of the process (shutdown): its end is no longer reported. */
  detached: boolean;
  gone: boolean;
  exited: Promise<ExitInfo>;
  markExited: (e: ExitInfo) => void;
}

type ExitReason = Parameters<VmmEvents['exited']>[0]['reason'];

/** Why a run ended: what the driver meant to do, else what the guest did, else a crash. */
export function exitReason(intent: RunIntent, guestShutdown: boolean): ExitReason {
  if (intent === 'suspend') return 'suspended';
  if (intent === 'stop') return 'stopped';
  if (intent === 'delete') return 'deleted';
  return guestShutdown ? 'poweredOff' : 'crashed';
}

export interface QemuProcessesOptions {
  dirs: MachineDirs;
  /** The driver's VmmEvents emitter (poweredOff, exited, serial). */
  events: EventEmitter;
  qemuBinary: string;
  /** How long a new process gets to open its QMP socket. */
  startTimeoutMs: number;
}

/**
 * The machines' QEMU processes: launching one, finding one again after an agent restart
 * (reattach), ending one, and what happens when one exits (the run is counted, `exited` emitted).
 * Processes run detached in their own process group, so they outlive the agent.
 * Callers hold the machine's lock around launch/reattach/quit.
 */
export class QemuProcesses {
  private readonly runtimes = new Map<string, Runtime>();

  constructor(private readonly opts: QemuProcessesOptions) {}

  get(id: string): Runtime | undefined {
    return this.runtimes.get(id);
  }

  async launch(id: string, spec: MachineSpec, run: RunConfig, incomingState?: { file: string; compression: StateCompression }): Promise<Runtime> {
    const dir = this.opts.dirs.dir(id);
    for (const s of [F.qmp, F.vnc, F.serial]) rmSync(path.join(dir, s), { force: true });
    const args = buildQemuArgs({
      spec,
      accel: run.accel,
      machineType: run.machineType,
      media: run.media,
      bootFrom: run.bootFrom,
      directKernel: run.directKernel,
      incomingState,
      nics: run.network && {
        switchDir: run.network.private?.switchDir,
        outbound: run.network.outbound,
        forwards: run.network.forwards,
      },
    });
    const logFd = openSync(path.join(dir, F.qemuLog), 'a');
    let child: ChildProcess;
    try {
      writeFileSync(logFd, `--- ${new Date().toISOString()} ${this.opts.qemuBinary} ${args.map(shellQuote).join(' ')}\n`);
      // detached: own process group, survives the agent (reattach() finds it again).
      child = spawn(this.opts.qemuBinary, args, { cwd: dir, detached: true, stdio: ['ignore', logFd, logFd] });
    } finally {
      closeSync(logFd);
    }
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    const rt = this.newRuntime(id, dir, child.pid ?? -1, child);
    child.once('exit', (code, signal) => rt.markExited({ code, signal }));
    spawnError.then((e) => rt.markExited({ code: null, signal: e.message }));
    if (child.pid) writeFileSync(path.join(dir, F.pid), `${child.pid}\n`);
    child.unref();
    this.runtimes.set(id, rt);
    try {
      rt.qmp = await QmpClient.connect(path.join(dir, F.qmp), {
        timeoutMs: this.opts.startTimeoutMs,
        keepTrying: () => !rt.gone,
      });
    } catch (e) {
      rt.intent = 'stop';
      if (!rt.gone) safeKill(rt.pid, 'SIGKILL');
      await waitFor(rt.exited, 5_000);
      const log = this.opts.dirs.qemuLogTail(id);
      throw new Error(`QEMU failed to start for ${id}: ${(e as Error).message}${log ? `\n${log}` : ''}`);
    }
    this.wireQmp(rt);
    await this.connectSerial(rt);
    this.opts.events.emit('started', { id, pid: rt.pid });
    return rt;
  }

  /** Take control of a QEMU process started by an earlier agent (pid file + /proc checks). */
  async reattach(id: string): Promise<Runtime | undefined> {
    const dir = this.opts.dirs.dir(id);
    const pidFile = path.join(dir, F.pid);
    let pid: number;
    try {
      pid = Number(readFileSync(pidFile, 'utf8').trim());
    } catch {
      return undefined;
    }
    if (!(pid > 0) || !isQemuOf(pid, dir, id)) {
      // The run ended while no driver watched it (e.g. the guest powered off while the agent was
      // down): count the run as stop/suspend would, and say so.
      rmSync(pidFile, { force: true });
      if (pid > 0) {
        try {
          this.opts.dirs.countEndedRun(id);
        } catch {
          return undefined;
        }
        this.opts.events.emit('exited', { id, reason: 'unobserved', code: null, signal: null });
      }
      return undefined;
    }
    const rt = this.newRuntime(id, dir, pid);
    rt.qmp = await QmpClient.connect(path.join(dir, F.qmp), { timeoutMs: 5_000, keepTrying: () => pidAlive(pid) });
    this.runtimes.set(id, rt);
    this.wireQmp(rt);
    await this.connectSerial(rt);
    return rt;
  }

  /** `quit`, then SIGKILL; resolves once the process is gone. */
  async quit(rt: Runtime): Promise<void> {
    if (rt.gone) return;
    if (rt.qmp && !rt.qmp.closed) {
      await rt.qmp.execute('quit', undefined, { timeoutMs: 3_000 }).catch(() => undefined);
      if (await waitFor(rt.exited, 5_000)) return;
    }
    safeKill(rt.pid, 'SIGKILL');
    if (!(await waitFor(rt.exited, 5_000)) && !rt.child) rt.markExited({ code: null, signal: 'SIGKILL' });
  }

  /** Drop every connection and stop watching, leaving the processes running (agent shutdown). */
  detachAll(): void {
    for (const rt of this.runtimes.values()) {
      rt.detached = true;
      rt.qmp?.close();
      rt.serial?.destroy();
      rt.child?.removeAllListeners('exit');
      rt.child?.unref();
    }
    this.runtimes.clear();
  }

  private newRuntime(id: string, dir: string, pid: number, child?: ChildProcess): Runtime {
    let markExited!: (e: ExitInfo) => void;
    const exited = new Promise<ExitInfo>((resolve) => (markExited = resolve));
    const rt: Runtime = {
      id,
      dir,
      pid,
      child,
      intent: null,
      guestShutdown: false,
      detached: false,
      gone: false,
      exited,
      markExited: (e) => {
        if (rt.gone) return;
        rt.gone = true;
        markExited(e);
        this.onExited(rt, e);
      },
    };
    return rt;
  }

  private wireQmp(rt: Runtime): void {
    const qmp = rt.qmp!;
    qmp.on('event', (e) => {
      this.opts.events.emit('qmp', { id: rt.id, event: e.event, data: e.data ?? {} });
      if (e.event === 'SHUTDOWN' && e.data?.['guest'] === true) {
        rt.guestShutdown = true;
        if (!rt.intent) {
          this.opts.events.emit('poweredOff', { id: rt.id, reason: String(e.data['reason'] ?? 'guest-shutdown') });
        }
      }
    });
    qmp.on('close', () => {
      if (rt.detached || rt.gone) return;
      if (rt.child) return; // our own child: its 'exit' event reports the end
      // Reattached process: the QMP socket closing means QEMU is ending; confirm by pid.
      void (async () => {
        const deadline = Date.now() + 10_000;
        while (pidAlive(rt.pid) && Date.now() < deadline) await sleep(50);
        if (pidAlive(rt.pid)) safeKill(rt.pid, 'SIGKILL');
        rt.markExited({ code: null, signal: null });
      })();
    });
  }

  private async connectSerial(rt: Runtime): Promise<void> {
    const sockPath = path.join(rt.dir, F.serial);
    for (let i = 0; i < 3 && !rt.gone && !rt.detached; i++) {
      try {
        const sock = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect({ path: sockPath });
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        sock.on('error', () => undefined);
        sock.on('data', (data: Buffer) => this.opts.events.emit('serial', { id: rt.id, data }));
        sock.on('close', () => {
          // Keep a reader attached as long as QEMU lives: an unread console stalls the guest.
          if (rt.serial === sock && !rt.gone && !rt.detached) setTimeout(() => void this.connectSerial(rt), 100);
        });
        rt.serial = sock;
        return;
      } catch {
        await sleep(100);
      }
    }
  }

  private onExited(rt: Runtime, e: ExitInfo): void {
    if (this.runtimes.get(rt.id) === rt) this.runtimes.delete(rt.id);
    rt.qmp?.close();
    rt.serial?.destroy();
    if (rt.detached) return;
    if (rt.intent !== 'delete') {
      try {
        rmSync(path.join(rt.dir, F.pid), { force: true });
        // A run ended: the disk may have changed.
        this.opts.dirs.countEndedRun(rt.id);
      } catch {
        /* machine directory removed meanwhile */
      }
    }
    this.opts.events.emit('exited', { id: rt.id, reason: exitReason(rt.intent, rt.guestShutdown), code: e.code, signal: e.signal });
  }
}

/** true if `p` settles within `ms`. */
export async function waitFor(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true), t]);
  } finally {
    clearTimeout(timer);
  }
}

export function pidAlive(pid: number): boolean {
  if (!(Number.isInteger(pid) && pid > 1)) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // A zombie is not alive.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Is `pid` the QEMU of this machine (and not a recycled pid)? Linux /proc checks. */
export function isQemuOf(pid: number, dir: string, id: string): boolean {
  if (!pidAlive(pid)) return false;
  try {
    const cwd = readlinkSync(`/proc/${pid}/cwd`);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cwd === realpathSync(dir) && cmdline.includes(`virtuoso-${id}`);
  } catch {
    return false;
  }
}

/** Quote for the command line logged to qemu.log (a shell could run it as written). */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** process.kill that never signals a process group or everything (pid <= 1). */
function safeKill(pid: number, signal: NodeJS.Signals): void {
  if (!(Number.isInteger(pid) && pid > 1)) return;
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}
