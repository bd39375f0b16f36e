import { spawn, spawnSync, execFile, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { chooseAccelerator, type AccelChoice, type AccelMode, type AccelProbeOptions } from '../accel-probe';
import {
  InvalidMachineStateError,
  MachineNotFoundError,
  SuspendFailedError,
  type CreateOptions,
  type DirectKernelBoot,
  type MachineSpec,
  type MachineStatus,
  type StartOptions,
  type StopOptions,
  type StopResult,
  type SuspendOptions,
  type SuspendResult,
  type VmmDriver,
} from '../vmm-driver';
import {
  buildQemuArgs,
  MACHINE_FILES as F,
  stateSaveCommand,
  validateSpec,
  type Accel,
  type MachineType,
  type StateCompression,
} from './command-line';
import { QmpClient, sleep } from './qmp-client';
import { decodeVgaText } from './screen';

const execFileP = promisify(execFile);
const MiB = 1024 * 1024;
/** Linux sun_path is 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

export interface QemuDriverOptions {
  /** Directory holding one sub-directory per machine. */
  machinesDir: string;
  /** Default $VIRTUOSO_QEMU or qemu-system-x86_64. */
  qemuBinary?: string;
  /** Default $VIRTUOSO_QEMU_IMG or qemu-img. */
  qemuImgBinary?: string;
  /** Default $VIRTUOSO_ACCEL or 'probe'. */
  accel?: AccelMode;
  accelProbe?: Omit<AccelProbeOptions, 'mode' | 'qemuBinary'>;
  machineType?: MachineType;
  /** State file compression for suspend. 'auto' (default): zstd when it is installed. */
  stateCompression?: StateCompression | 'auto';
  /** How long a new QEMU process gets to open its QMP socket. Default 20 s. */
  startTimeoutMs?: number;
}

/** machine.json */
interface MachineConfig {
  format: 1;
  spec: MachineSpec;
  version: number;
  /** Effective disk size (MiB). */
  diskMb: number;
  createdAt: string;
  media: string | null;
  lastRun?: RunConfig & { startedAt: string };
  suspended?: RunConfig & { file: string; compression: StateCompression; savedAt: string; bytes: number };
}

/** What a resumed process must reproduce exactly (same devices, ROMs and RAM layout). */
interface RunConfig {
  accel: Accel;
  machineType: MachineType;
  media: string | null;
  bootFrom: 'disk' | 'cdrom';
  directKernel?: DirectKernelBoot;
}

type Intent = 'stop' | 'suspend' | 'delete' | null;

interface ExitInfo {
  code: number | null;
  signal: string | null;
}

interface Runtime {
  id: string;
  dir: string;
  pid: number;
  child?: ChildProcess;
  qmp?: QmpClient;
  serial?: net.Socket;
  intent: Intent;
  guestShutdown: boolean;
  detached: boolean;
  gone: boolean;
  exited: Promise<ExitInfo>;
  markExited: (e: ExitInfo) => void;
}

/** Minimal QMP surface used by saveStateWithRetry (lets tests fake QEMU refusing). */
export interface QmpExecutor {
  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts?: { timeoutMs?: number }): Promise<T>;
}

interface MigrateInfo {
  status?: string;
  'error-desc'?: string;
  ram?: { transferred?: number };
}

/**
 * Save device + memory state through QEMU's migration to a file: `stop`, `migrate exec:...`,
 * poll `query-migrate`. When QEMU refuses (migration blockers, a guest still booting, ...) the
 * VM is continued and the attempt repeated, up to `attempts` times (report §6.2.3 retried VMware's
 * suspend 100 times). Resolves with the number of attempts; throws the last error otherwise.
 * Leaves the VM paused (postmigrate) on success, running (if it was) on failure.
 */
export async function saveStateWithRetry(
  qmp: QmpExecutor,
  opts: { uri: string; attempts: number; retryDelayMs: number; migrateTimeoutMs?: number; onRetry?: (n: number, err: string) => void },
): Promise<number> {
  let lastErr = 'no attempt made';
  for (let attempt = 1; attempt <= opts.attempts; attempt++) {
    let wasRunning = false;
    try {
      const st = await qmp.execute<{ status: string; running: boolean }>('query-status');
      wasRunning = st.running;
      if (wasRunning) await qmp.execute('stop');
      await qmp.execute('migrate', { uri: opts.uri });
      const deadline = Date.now() + (opts.migrateTimeoutMs ?? 120_000);
      for (;;) {
        const info = await qmp.execute<MigrateInfo>('query-migrate');
        if (info.status === 'completed') return attempt;
        if (info.status === 'failed' || info.status === 'cancelled') {
          throw new Error(`migration ${info.status}${info['error-desc'] ? `: ${info['error-desc']}` : ''}`);
        }
        if (Date.now() > deadline) {
          await qmp.execute('migrate_cancel').catch(() => undefined);
          throw new Error('migration did not complete in time');
        }
        await sleep(30);
      }
    } catch (e) {
      lastErr = e instanceof Error ? e.message : String(e);
      if ((e as Error)?.name === 'QmpClosedError') throw e; // the VMM is gone: nothing to retry
      if (wasRunning) await qmp.execute('cont').catch(() => undefined);
      opts.onRetry?.(attempt, lastErr);
      if (attempt < opts.attempts) await sleep(opts.retryDelayMs);
    }
  }
  throw new Error(lastErr);
}

export class QemuDriver implements VmmDriver {
  readonly kind = 'qemu';
  readonly events = new EventEmitter();
  readonly machinesDir: string;
  private readonly qemu: string;
  private readonly qemuImg: string;
  private readonly runtimes = new Map<string, Runtime>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private accelChoice?: Promise<AccelChoice>;
  private compression?: StateCompression;

  constructor(private readonly opts: QemuDriverOptions) {
    this.machinesDir = path.resolve(opts.machinesDir);
    this.qemu = opts.qemuBinary ?? process.env['VIRTUOSO_QEMU'] ?? 'qemu-system-x86_64';
    this.qemuImg = opts.qemuImgBinary ?? process.env['VIRTUOSO_QEMU_IMG'] ?? 'qemu-img';
    // Events without listeners must not throw ('error' is never emitted).
    this.events.setMaxListeners(100);
  }

  /** The accelerator new VMs get (probed once per driver, cached across processes by the probe). */
  accelerator(): Promise<AccelChoice> {
    this.accelChoice ??= chooseAccelerator({ ...this.opts.accelProbe, mode: this.opts.accel, qemuBinary: this.qemu });
    return this.accelChoice;
  }

  // ---------------------------------------------------------------------------------------------
  // paths and machine.json

  machineDir(id: string): string {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new MachineNotFoundError(id);
    return path.join(this.machinesDir, id);
  }

  vncSocketPath(id: string): string {
    return path.join(this.machineDir(id), F.vnc);
  }

  serialLogPath(id: string): string {
    return path.join(this.machineDir(id), F.serialLog);
  }

  private readConfig(id: string): MachineConfig {
    const file = path.join(this.machineDir(id), F.config);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      throw new MachineNotFoundError(id);
    }
    return JSON.parse(text) as MachineConfig;
  }

  /** Synchronous read-modify-write: no other code runs in between in this process. */
  private updateConfig(id: string, fn: (c: MachineConfig) => void): MachineConfig {
    const c = this.readConfig(id);
    fn(c);
    this.writeConfig(id, c);
    return c;
  }

  private writeConfig(id: string, c: MachineConfig): void {
    const file = path.join(this.machineDir(id), F.config);
    writeFileSync(file + '.tmp', JSON.stringify(c, null, 2) + '\n');
    renameSync(file + '.tmp', file);
  }

  /** Serialize state-changing operations per machine. */
  private async withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(fn);
    const tail = run.catch(() => undefined);
    this.locks.set(id, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // lifecycle

  async create(spec: MachineSpec, opts: CreateOptions = {}): Promise<MachineStatus> {
    validateSpec(spec);
    const version = opts.version ?? 1;
    if (!Number.isSafeInteger(version) || version < 0) throw new Error(`invalid version: ${version}`);
    const dir = this.machineDir(spec.id);
    const longest = path.join(dir, F.serial);
    if (Buffer.byteLength(longest) > MAX_SOCKET_PATH) {
      throw new Error(`machines directory too deep: ${longest} exceeds the ${MAX_SOCKET_PATH}-byte unix socket limit`);
    }
    return this.withLock(spec.id, async () => {
      mkdirSync(this.machinesDir, { recursive: true });
      try {
        mkdirSync(dir); // fails if the id exists
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`machine ${spec.id} already exists`);
        throw e;
      }
      try {
        const disk = path.join(dir, F.disk);
        let diskMb = spec.diskMb;
        if (spec.baseImage) {
          if (!existsSync(spec.baseImage)) throw new Error(`base image not found: ${spec.baseImage}`);
          await execFileP(this.qemuImg, ['convert', '-q', '-O', 'qcow2', spec.baseImage, disk]);
          const size = await this.virtualSize(disk);
          if (spec.diskMb * MiB > size) {
            await execFileP(this.qemuImg, ['resize', '-q', disk, `${spec.diskMb}M`]);
          } else {
            diskMb = Math.ceil(size / MiB);
          }
        } else {
          await execFileP(this.qemuImg, ['create', '-q', '-f', 'qcow2', disk, `${spec.diskMb}M`]);
        }
        const config: MachineConfig = {
          format: 1,
          spec: { ...spec },
          version,
          diskMb,
          createdAt: new Date().toISOString(),
          media: null,
        };
        this.writeConfig(spec.id, config);
      } catch (e) {
        rmSync(dir, { recursive: true, force: true });
        throw e;
      }
      return this.statusUnlocked(spec.id);
    });
  }

  private async virtualSize(file: string): Promise<number> {
    const { stdout } = await execFileP(this.qemuImg, ['info', '-U', '--output=json', file]);
    return (JSON.parse(stdout) as { 'virtual-size': number })['virtual-size'];
  }

  async start(id: string, opts: StartOptions = {}): Promise<MachineStatus> {
    return this.withLock(id, async () => {
      const st = await this.statusUnlocked(id);
      if (st.state !== 'stopped') throw new InvalidMachineStateError(id, st.state, 'start');
      let config = this.readConfig(id);
      if (opts.media !== undefined) {
        const media = this.checkIso(opts.media);
        config = this.updateConfig(id, (c) => (c.media = media));
      }
      const run: RunConfig = {
        accel: (await this.accelerator()).accel,
        machineType: this.opts.machineType ?? 'pc',
        media: config.media,
        bootFrom: opts.bootFrom ?? 'disk',
        directKernel: opts.directKernel,
      };
      await this.launch(id, config.spec, run);
      this.updateConfig(id, (c) => (c.lastRun = { ...run, startedAt: new Date().toISOString() }));
      return this.statusUnlocked(id);
    });
  }

  async stop(id: string, opts: StopOptions = {}): Promise<StopResult> {
    return this.withLock(id, async () => {
      const st = await this.statusUnlocked(id);
      if (st.state === 'suspended') throw new InvalidMachineStateError(id, st.state, 'stop');
      const rt = this.runtimes.get(id);
      if (!rt || rt.gone) return { forced: false, wasRunning: false };
      rt.intent = 'stop';
      const timeoutMs = opts.timeoutMs ?? 30_000;
      let graceful = false;
      if (opts.force) {
        await this.forceQuit(rt);
        return { forced: true, wasRunning: true };
      }
      try {
        const s = await rt.qmp!.execute<{ running: boolean }>('query-status');
        // A paused guest cannot see the power button.
        if (s.running) {
          await rt.qmp!.execute('system_powerdown');
          graceful = await waitFor(rt.exited, timeoutMs);
        }
      } catch {
        /* QMP gone: the process is exiting or dead; forceQuit checks */
      }
      if (!graceful) await this.forceQuit(rt);
      return { forced: !graceful, wasRunning: true };
    });
  }

  async reboot(id: string): Promise<MachineStatus> {
    return this.withLock(id, async () => {
      const rt = await this.runningRuntime(id, 'reboot');
      // What a person at the console would press; the guest's init decides what it means (the
      // tiny guest and most systems reboot). QEMU itself keeps running: the run goes on.
      await rt.qmp!.execute('send-key', { keys: ['ctrl', 'alt', 'delete'].map((k) => ({ type: 'qcode', data: k })) });
      return this.statusUnlocked(id);
    });
  }

  async reset(id: string): Promise<MachineStatus> {
    return this.withLock(id, async () => {
      const rt = await this.runningRuntime(id, 'reset');
      await rt.qmp!.execute('system_reset');
      return this.statusUnlocked(id);
    });
  }

  /** The runtime of a machine whose guest runs (not paused: a paused guest sees no key and a
   *  reset would leave it paused). */
  private async runningRuntime(id: string, what: string): Promise<Runtime> {
    const st = await this.statusUnlocked(id);
    const rt = this.runtimes.get(id);
    if (st.state !== 'running' || !rt || rt.gone || !rt.qmp) throw new InvalidMachineStateError(id, st.state, what);
    return rt;
  }

  async suspend(id: string, opts: SuspendOptions = {}): Promise<SuspendResult> {
    return this.withLock(id, async () => {
      const st = await this.statusUnlocked(id);
      if (st.state !== 'running' && st.state !== 'paused') throw new InvalidMachineStateError(id, st.state, 'suspend');
      const rt = this.runtimes.get(id)!;
      const dir = rt.dir;
      const t0 = Date.now();
      const compression = this.stateCompression();
      const config = this.readConfig(id);
      const run = config.lastRun;
      if (!run) throw new Error(`machine ${id} has no recorded run configuration`);
      rmSync(path.join(dir, F.stateTmp), { force: true });
      rt.intent = 'suspend';
      let attempts: number;
      try {
        attempts = await saveStateWithRetry(rt.qmp!, {
          uri: stateSaveCommand(F.stateTmp, compression),
          attempts: opts.attempts ?? 20,
          retryDelayMs: opts.retryDelayMs ?? 250,
        });
      } catch (e) {
        rt.intent = null;
        rmSync(path.join(dir, F.stateTmp), { force: true });
        throw new SuspendFailedError(id, opts.attempts ?? 20, (e as Error).message);
      }
      renameSync(path.join(dir, F.stateTmp), path.join(dir, F.state));
      const bytes = statSync(path.join(dir, F.state)).size;
      this.updateConfig(id, (c) => {
        c.suspended = {
          accel: run.accel,
          machineType: run.machineType,
          media: c.media,
          bootFrom: run.bootFrom,
          directKernel: run.directKernel,
          file: F.state,
          compression,
          savedAt: new Date().toISOString(),
          bytes,
        };
      });
      await this.forceQuit(rt); // the VM is paused in 'postmigrate': quitting loses nothing
      return { attempts, stateBytes: bytes, durationMs: Date.now() - t0 };
    });
  }

  async resume(id: string): Promise<MachineStatus> {
    return this.withLock(id, async () => {
      const st = await this.statusUnlocked(id);
      if (st.state !== 'suspended') throw new InvalidMachineStateError(id, st.state, 'resume');
      const config = this.readConfig(id);
      const saved = config.suspended!;
      const run: RunConfig = {
        accel: saved.accel,
        machineType: saved.machineType,
        media: saved.media,
        bootFrom: saved.bootFrom,
        directKernel: saved.directKernel,
      };
      const rt = await this.launch(id, config.spec, run, { file: saved.file, compression: saved.compression });
      try {
        const deadline = Date.now() + 120_000;
        for (;;) {
          const s = await rt.qmp!.execute<{ status: string }>('query-status');
          if (s.status !== 'inmigrate' && s.status !== 'prelaunch') break;
          if (Date.now() > deadline) throw new Error('state load did not finish in time');
          await sleep(30);
        }
        const mig = await rt.qmp!.execute<MigrateInfo>('query-migrate');
        if (mig.status && mig.status !== 'completed') throw new Error(`state load ${mig.status}`);
        await rt.qmp!.execute('cont');
      } catch (e) {
        // Keep state.bin so the resume can be retried.
        rt.intent = 'stop';
        await this.forceQuit(rt);
        const log = this.qemuLogTail(id);
        throw new Error(`resume of ${id} failed: ${(e as Error).message}${log ? `\n${log}` : ''}`);
      }
      rmSync(path.join(rt.dir, F.state), { force: true });
      this.updateConfig(id, (c) => {
        delete c.suspended;
        c.lastRun = { ...run, startedAt: new Date().toISOString() };
      });
      return this.statusUnlocked(id);
    });
  }

  async delete(id: string): Promise<void> {
    return this.withLock(id, async () => {
      const dir = this.machineDir(id);
      if (!existsSync(dir)) throw new MachineNotFoundError(id);
      let rt = this.runtimes.get(id);
      if (!rt) rt = await this.tryReattach(id).catch(() => undefined);
      if (rt && !rt.gone) {
        rt.intent = 'delete';
        await this.forceQuit(rt);
      }
      rmSync(dir, { recursive: true, force: true });
    });
  }

  async status(id: string): Promise<MachineStatus> {
    // Read-only unless an unattached process is found, which is then reattached.
    if (!this.locks.has(id) && !this.runtimes.has(id)) return this.withLock(id, () => this.statusUnlocked(id));
    return this.statusUnlocked(id, false);
  }

  private async statusUnlocked(id: string, mayReattach = true): Promise<MachineStatus> {
    const config = this.readConfig(id);
    let rt = this.runtimes.get(id);
    if (!rt && mayReattach) rt = await this.tryReattach(id);
    const base = {
      id,
      version: config.version,
      media: config.media,
      diskMb: config.diskMb,
    };
    if (rt && !rt.gone) {
      let vmmStatus = 'starting';
      if (rt.qmp && !rt.qmp.closed) {
        try {
          vmmStatus = (await rt.qmp.execute<{ status: string }>('query-status', undefined, { timeoutMs: 5_000 })).status;
        } catch {
          vmmStatus = 'unknown';
        }
      }
      if (!rt.gone) {
        return {
          ...base,
          state: vmmStatus === 'running' ? 'running' : 'paused',
          vmmStatus,
          pid: rt.pid,
          accel: config.lastRun?.accel,
        };
      }
    }
    if (config.suspended && existsSync(path.join(this.machineDir(id), F.state))) {
      return { ...base, state: 'suspended', accel: config.suspended.accel };
    }
    return { ...base, state: 'stopped' };
  }

  async list(): Promise<string[]> {
    if (!existsSync(this.machinesDir)) return [];
    return readdirSync(this.machinesDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(path.join(this.machinesDir, d.name, F.config)))
      .map((d) => d.name)
      .sort();
  }

  async reattach(id: string): Promise<boolean> {
    return this.withLock(id, async () => {
      this.readConfig(id);
      const rt = this.runtimes.get(id) ?? (await this.tryReattach(id));
      return !!rt && !rt.gone;
    });
  }

  async detachAll(): Promise<void> {
    for (const rt of this.runtimes.values()) {
      rt.detached = true;
      rt.qmp?.close();
      rt.serial?.destroy();
      rt.child?.removeAllListeners('exit');
      rt.child?.unref();
    }
    this.runtimes.clear();
  }

  // ---------------------------------------------------------------------------------------------
  // media, screen, serial

  async attachMedia(id: string, isoPath: string): Promise<void> {
    const iso = this.checkIso(isoPath);
    return this.withLock(id, async () => {
      const rt = await this.liveRuntime(id);
      if (rt) {
        await rt.qmp!.execute('blockdev-change-medium', {
          id: 'cdrom0',
          filename: iso,
          format: 'raw',
          'read-only-mode': 'read-only',
          force: true,
        });
      }
      this.updateConfig(id, (c) => (c.media = iso));
    });
  }

  async ejectMedia(id: string): Promise<void> {
    return this.withLock(id, async () => {
      const rt = await this.liveRuntime(id);
      if (rt) await rt.qmp!.execute('eject', { id: 'cdrom0', force: true });
      this.updateConfig(id, (c) => (c.media = null));
    });
  }

  async screendump(id: string, file: string): Promise<void> {
    const rt = await this.requireRuntime(id, 'screendump');
    await rt.qmp!.execute('screendump', {
      filename: path.resolve(file),
      format: file.toLowerCase().endsWith('.png') ? 'png' : 'ppm',
    });
  }

  /** Text-mode screen contents (VGA text buffer at 0xb8000, 80x25). Empty lines in graphics modes. */
  async textScreen(id: string): Promise<string[]> {
    const rt = await this.requireRuntime(id, 'read the screen of');
    const tmp = path.join(rt.dir, `screen-${process.pid}-${Date.now()}.vga`);
    try {
      await rt.qmp!.execute('pmemsave', { val: 0xb8000, size: 80 * 25 * 2, filename: tmp });
      return decodeVgaText(readFileSync(tmp), 80);
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  async sendKeys(id: string, keys: string[]): Promise<void> {
    if (!Array.isArray(keys) || keys.length < 1 || keys.length > 8 || !keys.every((k) => typeof k === 'string' && /^[a-z0-9_]{1,24}$/.test(k))) {
      throw new Error(`invalid keys (1 to 8 QEMU qcodes expected): ${JSON.stringify(keys)}`);
    }
    const rt = await this.requireRuntime(id, 'send keys to');
    await rt.qmp!.execute('send-key', { keys: keys.map((k) => ({ type: 'qcode', data: k })) });
  }

  async serialWrite(id: string, data: string | Buffer): Promise<void> {
    const rt = await this.requireRuntime(id, 'write to the serial console of');
    const sock = rt.serial;
    if (!sock || sock.destroyed) throw new Error(`serial console of ${id} is not connected`);
    await new Promise<void>((resolve, reject) => sock.write(data, (e) => (e ? reject(e) : resolve())));
  }

  /** Raw QMP access for diagnostics and tests. */
  async qmp<T = unknown>(id: string, command: string, args?: Record<string, unknown>): Promise<T> {
    const rt = await this.requireRuntime(id, 'send QMP to');
    return rt.qmp!.execute<T>(command, args);
  }

  // ---------------------------------------------------------------------------------------------
  // process management

  private async launch(
    id: string,
    spec: MachineSpec,
    run: RunConfig,
    incomingState?: { file: string; compression: StateCompression },
  ): Promise<Runtime> {
    const dir = this.machineDir(id);
    for (const s of [F.qmp, F.vnc, F.serial]) rmSync(path.join(dir, s), { force: true });
    const args = buildQemuArgs({
      spec,
      accel: run.accel,
      machineType: run.machineType,
      media: run.media,
      bootFrom: run.bootFrom,
      directKernel: run.directKernel,
      incomingState,
    });
    const logFd = openSync(path.join(dir, F.qemuLog), 'a');
    let child: ChildProcess;
    try {
      writeFileSync(logFd, `--- ${new Date().toISOString()} ${this.qemu} ${args.map(shellQuote).join(' ')}\n`);
      // detached: own process group, survives the agent (reattach() finds it again).
      child = spawn(this.qemu, args, { cwd: dir, detached: true, stdio: ['ignore', logFd, logFd] });
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
        timeoutMs: this.opts.startTimeoutMs ?? 20_000,
        keepTrying: () => !rt.gone,
      });
    } catch (e) {
      rt.intent = 'stop';
      if (!rt.gone) safeKill(rt.pid, 'SIGKILL');
      await waitFor(rt.exited, 5_000);
      const log = this.qemuLogTail(id);
      throw new Error(`QEMU failed to start for ${id}: ${(e as Error).message}${log ? `\n${log}` : ''}`);
    }
    this.wireQmp(rt);
    await this.connectSerial(rt);
    return rt;
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
      if (e.event === 'SHUTDOWN' && e.data?.['guest'] === true) {
        rt.guestShutdown = true;
        if (!rt.intent) {
          this.events.emit('poweredOff', { id: rt.id, reason: String(e.data['reason'] ?? 'guest-shutdown') });
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
        sock.on('data', (data: Buffer) => this.events.emit('serial', { id: rt.id, data }));
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
    const reason =
      rt.intent === 'suspend'
        ? 'suspended'
        : rt.intent === 'stop'
          ? 'stopped'
          : rt.intent === 'delete'
            ? 'deleted'
            : rt.guestShutdown
              ? 'poweredOff'
              : 'crashed';
    if (rt.intent !== 'delete') {
      try {
        rmSync(path.join(rt.dir, F.pid), { force: true });
        // A run ended: the disk may have changed (report: stop and suspend bump the version).
        this.updateConfig(rt.id, (c) => (c.version += 1));
      } catch {
        /* machine directory removed meanwhile */
      }
    }
    this.events.emit('exited', { id: rt.id, reason, code: e.code, signal: e.signal });
  }

  /** `quit`, then SIGKILL; resolves once the process is gone. */
  private async forceQuit(rt: Runtime): Promise<void> {
    if (rt.gone) return;
    if (rt.qmp && !rt.qmp.closed) {
      await rt.qmp.execute('quit', undefined, { timeoutMs: 3_000 }).catch(() => undefined);
      if (await waitFor(rt.exited, 5_000)) return;
    }
    safeKill(rt.pid, 'SIGKILL');
    if (!(await waitFor(rt.exited, 5_000)) && !rt.child) rt.markExited({ code: null, signal: 'SIGKILL' });
  }

  /** Take control of a QEMU process started by an earlier agent (pid file + /proc checks). */
  private async tryReattach(id: string): Promise<Runtime | undefined> {
    const dir = this.machineDir(id);
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
          this.updateConfig(id, (c) => (c.version += 1));
        } catch {
          return undefined;
        }
        this.events.emit('exited', { id, reason: 'unobserved', code: null, signal: null });
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

  private async liveRuntime(id: string): Promise<Runtime | undefined> {
    this.readConfig(id);
    const rt = this.runtimes.get(id) ?? (await this.tryReattach(id));
    return rt && !rt.gone && rt.qmp ? rt : undefined;
  }

  private async requireRuntime(id: string, what: string): Promise<Runtime> {
    const rt = await this.liveRuntime(id);
    if (!rt) throw new InvalidMachineStateError(id, (await this.statusUnlocked(id, false)).state, what);
    return rt;
  }

  private checkIso(isoPath: string): string {
    const iso = path.resolve(isoPath);
    if (!existsSync(iso) || !statSync(iso).isFile()) throw new Error(`ISO not found: ${isoPath}`);
    return iso;
  }

  private stateCompression(): StateCompression {
    if (this.compression) return this.compression;
    const want = this.opts.stateCompression ?? 'auto';
    if (want === 'auto') {
      const r = spawnSync('zstd', ['--version'], { stdio: 'ignore' });
      this.compression = r.status === 0 ? 'zstd' : 'none';
    } else {
      this.compression = want;
    }
    return this.compression;
  }

  private qemuLogTail(id: string): string {
    try {
      const text = readFileSync(path.join(this.machineDir(id), F.qemuLog), 'utf8');
      return text.trim().split('\n').slice(-8).join('\n');
    } catch {
      return '';
    }
  }
}

/** true if `p` settles within `ms`. */
async function waitFor(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true), t]);
  } finally {
    clearTimeout(timer);
  }
}

function pidAlive(pid: number): boolean {
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
function isQemuOf(pid: number, dir: string, id: string): boolean {
  if (!pidAlive(pid)) return false;
  try {
    const cwd = readlinkSync(`/proc/${pid}/cwd`);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cwd === realpathSync(dir) && cmdline.includes(`virtuoso-${id}`);
  } catch {
    return false;
  }
}

function shellQuote(s: string): string {
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
