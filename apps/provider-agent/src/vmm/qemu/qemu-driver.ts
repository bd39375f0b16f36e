import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { reportedRunning } from '@virtuoso/domain';
import { chooseAccelerator, type AccelChoice, type AccelMode, type AccelProbeOptions } from '../accel-probe';
import { KeyedLock } from '../keyed-lock';
import {
  InvalidMachineStateError,
  MachineNotFoundError,
  SuspendFailedError,
  type ArrivingMachine,
  type CreateOptions,
  type MachineSpec,
  type MachineStatus,
  type StartOptions,
  type StopOptions,
  type StopResult,
  type SuspendOptions,
  type SuspendResult,
  type MigrationFiles,
  type MachineNetwork,
  type ResumeOptions,
  type VmmDriver,
} from '../vmm-driver';
import { MACHINE_FILES, UPLINK, uplinkMacFor } from './command-line';
import { writeSeedImage, type GuestSeed } from './seed-image';
import { acceptArrivalDir } from './arrival';
import { MACHINE_FILES as F, validateSpec, type MachineType, type StateCompression } from './command-line';
import * as guest from './guest-controls';
import { MachineDirs, type MachineConfig, type RunConfig } from './machine-dir';
import { ejectMedium, insertMedium, resolveIso } from './media';
import { QemuImg } from './qemu-img';
import { QemuProcesses, waitFor, type Runtime } from './qemu-process';
import { chooseStateCompression, saveStateFile, waitForStateLoaded } from './save-state';

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

/**
 * The QEMU implementation of VmmDriver. This class holds the lifecycle: each operation checks the
 * machine's state and runs under the machine's lock, over the modules of this directory:
 *   machine-dir.ts     the machine directory, machine.json and the version rule
 *   qemu-img.ts        disks
 *   qemu-process.ts    the QEMU process: launch, reattach, quit, what its exit means
 *   save-state.ts      suspend's and resume's state file (migration to a file, with retries)
 *   media.ts           the CD-ROM drive
 *   guest-controls.ts  screen, keyboard and serial line of a running guest (no lock)
 * A new lifecycle operation (one that ends or restarts the process, e.g. a forced stop: set
 * `rt.intent`, then `processes.quit`) is a method here under `this.lock`; a new control of a
 * running guest (one QMP command) goes in guest-controls.ts with a one-line method here.
 */
export class QemuDriver implements VmmDriver {
  readonly kind = 'qemu';
  readonly events = new EventEmitter();
  readonly machinesDir: string;
  private readonly qemu: string;
  private readonly dirs: MachineDirs;
  private readonly img: QemuImg;
  private readonly processes: QemuProcesses;
  /** One lock per machine: the state-changing operations take turns (see KeyedLock). */
  private readonly lock = new KeyedLock();
  private accelChoice?: Promise<AccelChoice>;
  private compression?: StateCompression;

  constructor(private readonly opts: QemuDriverOptions) {
    this.dirs = new MachineDirs(opts.machinesDir);
    this.machinesDir = this.dirs.root;
    this.qemu = opts.qemuBinary ?? process.env['VIRTUOSO_QEMU'] ?? 'qemu-system-x86_64';
    this.img = new QemuImg(opts.qemuImgBinary);
    this.processes = new QemuProcesses({
      dirs: this.dirs,
      events: this.events,
      qemuBinary: this.qemu,
      startTimeoutMs: opts.startTimeoutMs ?? 20_000,
    });
    // Events without listeners must not throw ('error' is never emitted).
    this.events.setMaxListeners(100);
  }

  /** The accelerator new VMs get (probed once per driver, cached across processes by the probe). */
  accelerator(): Promise<AccelChoice> {
    this.accelChoice ??= chooseAccelerator({ ...this.opts.accelProbe, mode: this.opts.accel, qemuBinary: this.qemu });
    return this.accelChoice;
  }

  machineDir(id: string): string {
    return this.dirs.dir(id);
  }

  vncSocketPath(id: string): string {
    return this.dirs.file(id, F.vnc);
  }

  serialLogPath(id: string): string {
    return this.dirs.file(id, F.serialLog);
  }

  /** See VmmDriver.exclusive. */
  exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.lock.run(id, fn);
  }

  // ---------------------------------------------------------------------------------------------
  // lifecycle

  async create(spec: MachineSpec, opts: CreateOptions = {}): Promise<MachineStatus> {
    validateSpec(spec);
    const version = opts.version ?? 1;
    if (!Number.isSafeInteger(version) || version < 0) throw new Error(`invalid version: ${version}`);
    const dir = this.dirs.dir(spec.id);
    this.dirs.checkSocketPaths(spec.id);
    return this.lock.run(spec.id, async () => {
      mkdirSync(this.machinesDir, { recursive: true });
      try {
        mkdirSync(dir); // fails if the id exists
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`machine ${spec.id} already exists`);
        throw e;
      }
      try {
        const diskMb = await this.img.createDisk(path.join(dir, F.disk), spec);
        const config: MachineConfig = {
          format: 1,
          spec: { ...spec },
          version,
          diskMb,
          createdAt: new Date().toISOString(),
          media: null,
        };
        this.dirs.write(spec.id, config);
      } catch (e) {
        rmSync(dir, { recursive: true, force: true });
        throw e;
      }
      return this.statusUnlocked(spec.id);
    });
  }

  async start(id: string, opts: StartOptions = {}): Promise<MachineStatus> {
    return this.lock.run(id, async () => {
      const st = await this.statusUnlocked(id);
      if (st.state !== 'stopped') throw new InvalidMachineStateError(id, st.state, 'start');
      let config = this.dirs.read(id);
      if (opts.media !== undefined) {
        const media = resolveIso(opts.media);
        config = this.dirs.update(id, (c) => (c.media = media));
      }
      const run: RunConfig = {
        accel: (await this.accelerator()).accel,
        machineType: this.opts.machineType ?? 'pc',
        media: config.media,
        bootFrom: opts.bootFrom ?? 'disk',
        directKernel: opts.directKernel,
        network: opts.network,
      };
      await this.writeSeed(id, config.spec, opts.network);
      await this.processes.launch(id, config.spec, run);
      this.dirs.update(id, (c) => (c.lastRun = { ...run, startedAt: new Date().toISOString() }));
      return this.statusUnlocked(id);
    });
  }

  async stop(id: string, opts: StopOptions = {}): Promise<StopResult> {
    return this.lock.run(id, async () => {
      const st = await this.statusUnlocked(id);
      if (st.state === 'suspended') throw new InvalidMachineStateError(id, st.state, 'stop');
      const rt = this.processes.get(id);
      if (!rt || rt.gone) return { forced: false, wasRunning: false };
      rt.intent = 'stop';
      const timeoutMs = opts.timeoutMs ?? 30_000;
      let graceful = false;
      if (opts.force) {
        await this.processes.quit(rt);
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
        /* QMP gone: the process is exiting or dead; quit checks */
      }
      if (!graceful) await this.processes.quit(rt);
      return { forced: !graceful, wasRunning: true };
    });
  }

  /** Ctrl-Alt-Del: the guest's init decides (the tiny guest and most systems reboot); the run goes on. */
  async reboot(id: string): Promise<MachineStatus> {
    return this.lock.run(id, async () => {
      await guest.askReboot((await this.runningRuntime(id, 'reboot')).qmp!);
      return this.statusUnlocked(id);
    });
  }

  /** The reset line: the guest restarts at once inside the same run, without being asked. */
  async reset(id: string): Promise<MachineStatus> {
    return this.lock.run(id, async () => {
      await guest.resetLine((await this.runningRuntime(id, 'reset')).qmp!);
      return this.statusUnlocked(id);
    });
  }

  /** The runtime of a machine whose guest runs (not paused: a paused guest sees no key and a
   *  reset would leave it paused). */
  private async runningRuntime(id: string, what: string): Promise<Runtime> {
    const st = await this.statusUnlocked(id);
    const rt = this.processes.get(id);
    if (st.state !== 'running' || !rt || rt.gone || !rt.qmp) throw new InvalidMachineStateError(id, st.state, what);
    return rt;
  }

  async suspend(id: string, opts: SuspendOptions = {}): Promise<SuspendResult> {
    return this.lock.run(id, async () => {
      const st = await this.statusUnlocked(id);
      if (!reportedRunning(st.state)) throw new InvalidMachineStateError(id, st.state, 'suspend');
      const rt = this.processes.get(id)!;
      const t0 = Date.now();
      const compression = this.stateCompression();
      const run = this.dirs.read(id).lastRun;
      if (!run) throw new Error(`machine ${id} has no recorded run configuration`);
      const attempts = opts.attempts ?? 20;
      rt.intent = 'suspend';
      let saved: { attempts: number; bytes: number };
      try {
        saved = await saveStateFile(rt.qmp!, rt.dir, { compression, attempts, retryDelayMs: opts.retryDelayMs ?? 250 });
      } catch (e) {
        rt.intent = null;
        throw new SuspendFailedError(id, attempts, (e as Error).message);
      }
      this.dirs.update(id, (c) => {
        c.suspended = {
          accel: run.accel,
          machineType: run.machineType,
          media: c.media,
          bootFrom: run.bootFrom,
          directKernel: run.directKernel,
          file: F.state,
          compression,
          savedAt: new Date().toISOString(),
          bytes: saved.bytes,
        };
      });
      await this.processes.quit(rt); // the VM is paused in 'postmigrate': quitting loses nothing
      return { attempts: saved.attempts, stateBytes: saved.bytes, durationMs: Date.now() - t0 };
    });
  }

  async resume(id: string, opts: ResumeOptions = {}): Promise<MachineStatus> {
    return this.lock.run(id, async () => {
      const st = await this.statusUnlocked(id);
      if (st.state !== 'suspended') throw new InvalidMachineStateError(id, st.state, 'resume');
      const config = this.dirs.read(id);
      const saved = config.suspended!;
      const run: RunConfig = {
        accel: saved.accel,
        machineType: saved.machineType,
        media: saved.media,
        bootFrom: saved.bootFrom,
        directKernel: saved.directKernel,
        network: opts.network,
      };
      await this.writeSeed(id, config.spec, opts.network);
      const rt = await this.processes.launch(id, config.spec, run, { file: saved.file, compression: saved.compression });
      try {
        await waitForStateLoaded(rt.qmp!);
        await rt.qmp!.execute('cont');
      } catch (e) {
        // Keep state.bin so the resume can be retried.
        rt.intent = 'stop';
        await this.processes.quit(rt);
        const log = this.dirs.qemuLogTail(id);
        throw new Error(`resume of ${id} failed: ${(e as Error).message}${log ? `\n${log}` : ''}`);
      }
      rmSync(path.join(rt.dir, F.state), { force: true });
      this.dirs.update(id, (c) => {
        delete c.suspended;
        c.lastRun = { ...run, startedAt: new Date().toISOString() };
      });
      return this.statusUnlocked(id);
    });
  }

  async delete(id: string): Promise<void> {
    return this.lock.run(id, async () => {
      const dir = this.dirs.dir(id);
      if (!existsSync(dir)) throw new MachineNotFoundError(id);
      let rt = this.processes.get(id);
      if (!rt) rt = await this.processes.reattach(id).catch(() => undefined);
      if (rt && !rt.gone) {
        rt.intent = 'delete';
        await this.processes.quit(rt);
      }
      rmSync(dir, { recursive: true, force: true });
    });
  }

  /** See VmmDriver.acceptArrival (arrival.ts). */
  async acceptArrival(dir: string, arriving: ArrivingMachine): Promise<number> {
    return acceptArrivalDir(dir, arriving);
  }

  /** See VmmDriver.adoptMachine. */
  async adoptMachine(id: string, fromDir: string): Promise<MachineStatus> {
    const dir = this.dirs.dir(id);
    return this.lock.run(id, async () => {
      if (existsSync(dir)) throw new Error(`machine ${id} already exists`);
      mkdirSync(this.machinesDir, { recursive: true });
      renameSync(fromDir, dir);
      return this.statusUnlocked(id);
    });
  }

  async status(id: string): Promise<MachineStatus> {
    // Read-only unless an unattached process is found, which is then reattached: under the lock,
    // and only when nobody else holds it (a status must not wait for a stop).
    if (this.lock.heldByCaller(id)) return this.statusUnlocked(id);
    if (!this.lock.isLocked(id) && !this.processes.get(id)) return this.lock.run(id, () => this.statusUnlocked(id));
    return this.statusUnlocked(id, false);
  }

  private async statusUnlocked(id: string, mayReattach = true): Promise<MachineStatus> {
    const config = this.dirs.read(id);
    let rt = this.processes.get(id);
    if (!rt && mayReattach) rt = await this.processes.reattach(id);
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
          network: runningNetwork(config.lastRun?.network),
        };
      }
    }
    if (config.suspended && existsSync(this.dirs.file(id, F.state))) {
      return { ...base, state: 'suspended', accel: config.suspended.accel };
    }
    return { ...base, state: 'stopped' };
  }

  async list(): Promise<string[]> {
    return this.dirs.list();
  }

  /** See VmmDriver.migrationFiles. */
  async migrationFiles(id: string): Promise<MigrationFiles> {
    return this.lock.run(id, async () => {
      const st = await this.statusUnlocked(id);
      if (st.state !== 'stopped' && st.state !== 'suspended') throw new InvalidMachineStateError(id, st.state, 'migrate');
      const names: string[] = [F.config, F.disk, ...(st.state === 'suspended' ? [F.state] : [])];
      return { status: { ...st, state: st.state }, files: names.map((name) => ({ name, path: this.dirs.file(id, name) })) };
    });
  }

  async reattach(id: string): Promise<boolean> {
    return this.lock.run(id, async () => {
      this.dirs.read(id);
      const rt = this.processes.get(id) ?? (await this.processes.reattach(id));
      return !!rt && !rt.gone;
    });
  }

  async detachAll(): Promise<void> {
    this.processes.detachAll();
  }

  // ---------------------------------------------------------------------------------------------
  // media (recorded in machine.json: under the lock)

  async attachMedia(id: string, isoPath: string): Promise<void> {
    const iso = resolveIso(isoPath);
    return this.lock.run(id, async () => {
      const rt = await this.liveRuntime(id);
      if (rt) await insertMedium(rt.qmp!, iso);
      this.dirs.update(id, (c) => (c.media = iso));
    });
  }

  async ejectMedia(id: string): Promise<void> {
    return this.lock.run(id, async () => {
      const rt = await this.liveRuntime(id);
      if (rt) await ejectMedium(rt.qmp!);
      this.dirs.update(id, (c) => (c.media = null));
    });
  }

  // ---------------------------------------------------------------------------------------------
  // guest controls (no lock: Ctrl-Alt-Del must get through while a stop waits)

  async screendump(id: string, file: string): Promise<void> {
    const rt = await this.requireRuntime(id, 'screendump');
    await guest.screendump(rt.qmp!, file);
  }

  /** Text-mode screen contents (VGA text buffer at 0xb8000, 80x25). Empty lines in graphics modes. */
  async textScreen(id: string): Promise<string[]> {
    const rt = await this.requireRuntime(id, 'read the screen of');
    return guest.readTextScreen(rt.qmp!, rt.dir);
  }

  async sendKeys(id: string, keys: string[]): Promise<void> {
    guest.validateKeys(keys);
    const rt = await this.requireRuntime(id, 'send keys to');
    await guest.sendKeys(rt.qmp!, keys);
  }

  async serialWrite(id: string, data: string | Buffer): Promise<void> {
    const rt = await this.requireRuntime(id, 'write to the serial console of');
    await guest.serialWrite(rt.serial, id, data);
  }

  /** Raw QMP access for diagnostics and tests. */
  async qmp<T = unknown>(id: string, command: string, args?: Record<string, unknown>): Promise<T> {
    const rt = await this.requireRuntime(id, 'send QMP to');
    return rt.qmp!.execute<T>(command, args);
  }

  // ---------------------------------------------------------------------------------------------

  private async liveRuntime(id: string): Promise<Runtime | undefined> {
    this.dirs.read(id);
    const rt = this.processes.get(id) ?? (await this.processes.reattach(id));
    return rt && !rt.gone && rt.qmp ? rt : undefined;
  }

  private async requireRuntime(id: string, what: string): Promise<Runtime> {
    const rt = await this.liveRuntime(id);
    if (!rt) throw new InvalidMachineStateError(id, (await this.statusUnlocked(id, false)).state, what);
    return rt;
  }

  /** The NoCloud seed of this run (docs/ARCHITECTURE.md §11): written at every start and resume,
   *  so the guest reads the keys and addresses of now (never a migration file). */
  private async writeSeed(id: string, spec: MachineSpec, network: MachineNetwork | undefined): Promise<void> {
    await writeSeedImage(this.dirs.file(id, MACHINE_FILES.seed), guestSeed(spec, network));
  }

  private stateCompression(): StateCompression {
    this.compression ??= chooseStateCompression(this.opts.stateCompression ?? 'auto');
    return this.compression;
  }
}

/** What the guest is told (seed-image.ts) for a run with `network` (none: nothing configured). */
export function guestSeed(spec: Pick<MachineSpec, 'id' | 'mac'>, network: MachineNetwork | undefined): GuestSeed {
  const priv = network?.private;
  const allow = network?.outbound === 'allow';
  return {
    instanceId: spec.id,
    hostname: network?.hostname ?? `vm-${spec.id.slice(0, 8)}`,
    sshKeys: network?.sshKeys ?? [],
    nics: [
      { name: 'private', mac: spec.mac, address: priv ? `${priv.address}/${priv.prefixLength}` : undefined },
      {
        name: 'uplink',
        mac: uplinkMacFor(spec.mac),
        address: network ? `${UPLINK.address}/${UPLINK.prefixLength}` : undefined,
        gateway: allow ? UPLINK.gateway : undefined,
        nameservers: allow ? [UPLINK.dns] : undefined,
      },
    ],
  };
}

function runningNetwork(n: MachineNetwork | undefined): MachineStatus['network'] {
  if (!n) return undefined;
  return { ...(n.private ? { segment: n.private.segment } : {}), forwards: n.forwards.map((f) => ({ ...f })) };
}
