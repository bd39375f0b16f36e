import type { EventEmitter } from 'node:events';
import type { ReportedVmState } from '@virtuoso/domain';

/**
 * The VMM driver interface of the provider agent (report §6.2.3: vm_control.pm wrapped the VMM's
 * API "to make it possible in the future to use similar APIs provided by other VMMs").
 * One implementation exists: QemuDriver (./qemu/qemu-driver.ts).
 *
 * A machine is a directory named by its id under the driver's machines directory:
 *   disk.qcow2    the disk (blank of the registered size, or a copy of a preconfigured image)
 *   machine.json  spec, version, attached media, suspend info
 *   state.bin     device + memory state while suspended (absent otherwise)
 *   qmp.sock      QMP monitor (unix socket), vnc.sock (VNC, unix socket — never TCP)
 *   serial.sock   serial console (unix socket; the driver stays connected), serial.log its log
 *   qemu.pid      pid of the running VMM process (lets a restarted agent reattach)
 *   seed.iso      NoCloud seed written at each start and resume (network, host name, ssh keys)
 */

/** What the front-end registers. id and mac are issued by the front-end, never generated here. */
export interface MachineSpec {
  /** UUID issued by the front-end; also the directory name and the SMBIOS UUID. */
  id: string;
  /** Ethernet address issued by the front-end (unicast, "52:54:00:12:34:56"). */
  mac: string;
  vcpus: number;
  memoryMb: number;
  diskMb: number;
  /** Path of a preconfigured disk image to copy (any format qemu-img reads; qcow2 expected). */
  baseImage?: string;
}

/** A machine the driver holds, in the states the agent reports (libs/domain; 'absent' is the agent's word for one it does not hold). */
export type MachineState = Exclude<ReportedVmState, 'absent'>;

export interface MachineStatus {
  id: string;
  state: MachineState;
  /** Machine version: +1 each time a run ends (stop, suspend, guest power-off, crash). */
  version: number;
  pid?: number;
  /** Raw VMM run state when the process is alive (QEMU: running, paused, inmigrate, ...). */
  vmmStatus?: string;
  accel?: string;
  /** ISO currently in (or recorded for) the CD-ROM drive. */
  media?: string | null;
  /** Effective disk size in MiB (a preconfigured image larger than the registered size keeps its size). */
  diskMb: number;
  /** While the VMM process runs: the network it was started with (segment, forwarded ports). */
  network?: RunningNetwork;
}

/** One forwarded TCP port: hostPort on every host address → guestPort on the guest's uplink. */
export interface PortForward {
  guestPort: number;
  hostPort: number;
}

/**
 * A machine's network for one run of its VMM (docs/ARCHITECTURE.md §11). Every machine has the
 * same devices whatever is given here (a suspended machine must resume with the devices it was
 * saved with): nic0 on a private segment (or isolated), nic1 the uplink (user networking), and a
 * NoCloud seed drive the guest reads its addresses, host name and ssh keys from.
 */
export interface MachineNetwork {
  /** nic0 plugged into a local switch. Absent: nic0 is isolated (no peer, nothing configured). */
  private?: {
    /** The VDE switch's socket directory on this host. */
    switchDir: string;
    /** A name for the segment, recorded for the caller (MachineStatus.network.segment). */
    segment: string;
    /** The guest's address on the segment and the prefix length, written into the seed. */
    address: string;
    prefixLength: number;
  };
  /** Outbound traffic through the uplink: NAT'ed ('allow') or refused ('none'). */
  outbound: 'allow' | 'none';
  /** TCP ports forwarded from the host to the guest's uplink address. */
  forwards: PortForward[];
  /** OpenSSH public keys for the guest's root account. */
  sshKeys: string[];
  hostname: string;
}

/** What a status reports of a running machine's network. */
export interface RunningNetwork {
  segment?: string;
  forwards: PortForward[];
}

export interface DirectKernelBoot {
  kernel: string;
  initrd?: string;
  append?: string;
}

export interface StartOptions {
  /** Boot device order. 'disk' (default): disk, then CD-ROM. 'cdrom': CD-ROM first (install media). */
  bootFrom?: 'disk' | 'cdrom';
  /** Insert this ISO in the CD-ROM drive at start (same as attachMedia before start). */
  media?: string;
  /** Boot a kernel directly (tests, diagnostics). Production machines boot their disk. */
  directKernel?: DirectKernelBoot;
  /** The machine's network for this run. Absent: isolated nic0, restricted uplink, no forwards. */
  network?: MachineNetwork;
}

export interface ResumeOptions {
  /** The network for the new VMM process (forwarded ports may differ from the saved run's). */
  network?: MachineNetwork;
}

export interface CreateOptions {
  /** Version to record for the new machine (the front-end's; report §7.1.5). Default 1. */
  version?: number;
}

export interface StopOptions {
  /** How long the guest gets to power itself off after the ACPI power button. Default 30 s. */
  timeoutMs?: number;
  /** true: no power button, quit the VMM at once (a forced stop; the result says forced). */
  force?: boolean;
}

export interface StopResult {
  /** true when the guest ignored the power button and the VMM was quit/killed. */
  forced: boolean;
  /** false when the machine was not running (nothing done). */
  wasRunning: boolean;
}

export interface SuspendOptions {
  /** Attempts while the VMM refuses to save state (report: VMware refused while booting). */
  attempts?: number;
  /** Pause between attempts. */
  retryDelayMs?: number;
}

export interface SuspendResult {
  attempts: number;
  stateBytes: number;
  durationMs: number;
}

/** A machine arriving by migration (report §7): what the front-end registered and the version it named. */
export interface ArrivingMachine {
  id: string;
  version: number;
  machine: { mac: string; vcpus: number; memoryMb: number; diskMb: number };
}

/** Events emitted on VmmDriver.events. */
export interface VmmEvents {
  /** The VMM process of a machine started (QMP connected). */
  started: (e: { id: string; pid: number }) => void;
  /** An event QEMU reported on QMP (SHUTDOWN, POWERDOWN, RESET, STOP, RESUME, …). */
  qmp: (e: { id: string; event: string; data: Record<string, unknown> }) => void;
  /** The guest powered itself off (not as a result of stop()/suspend()/delete()). */
  poweredOff: (e: { id: string; reason: string }) => void;
  /** The VMM process of a machine ended, for whatever reason. */
  exited: (e: {
    id: string;
    /** 'unobserved': the process had already ended when a driver looked for it again (it ended
     *  while no agent was attached, e.g. the agent was down); the run is counted (version + 1). */
    reason: 'stopped' | 'suspended' | 'poweredOff' | 'deleted' | 'crashed' | 'unobserved';
    code: number | null;
    signal: string | null;
  }) => void;
  /** Bytes the guest wrote on its serial console (also logged to serial.log by the VMM). */
  serial: (e: { id: string; data: Buffer }) => void;
}

export class MachineNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`machine ${id} not found`);
    this.name = 'MachineNotFoundError';
  }
}

export class InvalidMachineStateError extends Error {
  constructor(
    readonly id: string,
    readonly state: MachineState,
    action: string,
  ) {
    super(`cannot ${action} machine ${id}: it is ${state}`);
    this.name = 'InvalidMachineStateError';
  }
}

export class SuspendFailedError extends Error {
  constructor(
    readonly id: string,
    readonly attempts: number,
    readonly lastError: string,
  ) {
    super(`suspend of ${id} failed after ${attempts} attempts (machine left running): ${lastError}`);
    this.name = 'SuspendFailedError';
  }
}

export interface VmmDriver {
  /** Name of the VMM ("qemu"). */
  readonly kind: string;
  /** Emits the events of VmmEvents. */
  readonly events: EventEmitter;

  /** Run `fn` holding the machine's lock, the one the driver's state-changing operations take:
   *  those called inside `fn` join it, other callers' wait until `fn` settles. Lets a caller check,
   *  then act (the agent's version check, then the command) without a lock of its own. */
  exclusive<T>(id: string, fn: () => Promise<T>): Promise<T>;

  /** Make the machine directory and its disk. Fails if the id already exists. */
  create(spec: MachineSpec, opts?: CreateOptions): Promise<MachineStatus>;
  /** Boot a stopped machine (not a suspended one: resume it). */
  start(id: string, opts?: StartOptions): Promise<MachineStatus>;
  /** ACPI power button, then a forced quit after opts.timeoutMs (report §6.2.3's auto-answer). */
  stop(id: string, opts?: StopOptions): Promise<StopResult>;
  /** Ask the guest to restart: Ctrl-Alt-Del on its keyboard, as a person at the console would.
   *  The VMM keeps running (the guest reboots inside it); throws unless the machine is running. */
  reboot(id: string): Promise<MachineStatus>;
  /** Hard reset (the reset line): the guest restarts at once inside the same VMM run, without
   *  being asked. Throws unless the machine is running. */
  reset(id: string): Promise<MachineStatus>;
  /** Save device + memory state to state.bin and end the VMM process. Retries, then throws
   *  SuspendFailedError leaving the machine running. */
  suspend(id: string, opts?: SuspendOptions): Promise<SuspendResult>;
  /** Restore from state.bin and continue running. */
  resume(id: string, opts?: ResumeOptions): Promise<MachineStatus>;
  /** Kill the machine if it runs and remove its directory. */
  delete(id: string): Promise<void>;
  /** Migration, destination (report §7.2): check the machine.json of a copy that arrived in `dir`
   *  (a directory named by the machine id, outside the machines directory) against what the
   *  front-end registered and rewrite it at version + 1 for this host. Resolves with that version. */
  acceptArrival(dir: string, arriving: ArrivingMachine): Promise<number>;
  /** Migration, destination, commit: move an accepted copy into the machines directory (a rename:
   *  same file system). Fails if the machine already exists here. */
  adoptMachine(id: string, fromDir: string): Promise<MachineStatus>;
  status(id: string): Promise<MachineStatus>;
  /** Ids of the machines stored here. */
  list(): Promise<string[]>;
  /** Find a VMM process left running by a previous agent and take control of it again.
   *  Returns false when the machine is not running. */
  reattach(id: string): Promise<boolean>;

  /** Insert an ISO in the CD-ROM drive (live if running; remembered for the next start). */
  attachMedia(id: string, isoPath: string): Promise<void>;
  /** Eject the CD-ROM (forced: the guest may have locked the tray). */
  ejectMedia(id: string): Promise<void>;
  /** Write the current screen to a file: PNG if the path ends in .png, PPM otherwise. */
  screendump(id: string, path: string): Promise<void>;

  /** Press keys together on the guest's keyboard (QEMU qcodes, e.g. ['ctrl', 'alt', 'delete']). */
  sendKeys(id: string, keys: string[]): Promise<void>;

  /** Type into the serial console. */
  serialWrite(id: string, data: string | Buffer): Promise<void>;
  /** Path of the machine's VNC unix socket (for the console relay). */
  vncSocketPath(id: string): string;
  /** Path of the serial console log. */
  serialLogPath(id: string): string;

  /** Drop connections without touching the VMM processes (agent shutdown). */
  detachAll(): Promise<void>;

  /** The machine's directory (migration: its files are linked into an export, it becomes a cache). */
  machineDir(id: string): string;
  /** The files that travel when the machine migrates (docs/ARCHITECTURE.md §7): machine.json,
   *  the disk, and the saved state if suspended. Throws InvalidMachineStateError unless the
   *  machine is stopped or suspended (its files are then quiescent). */
  migrationFiles(id: string): Promise<MigrationFiles>;
}

export interface MigrationFiles {
  status: MachineStatus & { state: 'stopped' | 'suspended' };
  /** Name inside the machine directory and absolute path. */
  files: { name: string; path: string }[];
}
