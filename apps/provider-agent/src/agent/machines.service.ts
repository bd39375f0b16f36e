import { Logger } from '@nestjs/common';
import { commandLog } from './command-log';
import { reportedRunning } from '@virtuoso/domain';
import type {
  TransferEndpoint,
  AgentEvent,
  AgentVmState,
  HostFacts,
  VmCommand,
  VmCreateCommand,
  VmMediaCommand,
  VmSendKeysCommand,
  VmResumeCommand,
  VmStartCommand,
  VmStopCommand,
  VmNetworkConfig,
} from '@virtuoso/contracts';
import { MachineNotFoundError, type MachineNetwork, type MachineStatus, type VmmDriver, type VmmEvents } from '../vmm/vmm-driver';
import type { NetworkConfig } from '../config';
import { PortAllocator, PortsExhaustedError } from '../network/ports';
import type { ArtifactCache } from './artifact-cache';
import { CommandError } from './errors';
import type { EventQueue } from './event-queue';
import { measureHostFacts } from './host-facts';
import type { LocalState } from './local-state';
import type { MachineCaches } from '../migration/caches';

/** What the machine commands need of migration (docs/ARCHITECTURE.md §7). */
export interface MachinesMigrationDeps {
  /** Caches of machines that migrated away: vm.delete of such an id removes its cache. */
  caches?: MachineCaches;
  /** The transfer endpoint reported in the host facts (absent: the agent serves no transfers). */
  transfer?: TransferEndpoint;
  /** A machine came to rest (stored here): its files are hashed in the background (migration/rest-hashes.ts). */
  atRest?: (machineId: string) => void;
}

/** What the machine commands need of guest networking (docs/ARCHITECTURE.md §11). */
export interface MachinesNetworkDeps {
  config: NetworkConfig;
  ports: PortAllocator;
  /** The local switch of a network (started if it is not running): its socket directory. Absent:
   *  this host cannot carry private segments. */
  switchFor?: (networkId: string) => Promise<string>;
  /** Whether this host can carry private segments (host facts). */
  vnetAvailable?: () => boolean;
  /** The set of running machines' segments changed (a switch nobody needs may stop). */
  onSegmentsChanged?: () => void;
}

/**
 * The agent's side of the machine commands (report §6.3): version checks, fetching images and
 * media, then the VMM driver. Lifecycle commands on one machine run one at a time, so the version
 * check and the action it guards cannot interleave with another command: each holds the driver's
 * lock of the machine (VmmDriver.exclusive), which the driver's own operations join.
 */
export class MachinesService {
  private readonly log = new Logger('Machines');
  private readonly deleting = new Set<string>();
  /** Called when an event is queued (the heartbeat sends it at once). */
  onEvent: () => void = () => undefined;

  constructor(
    private readonly driver: VmmDriver,
    private readonly state: LocalState,
    private readonly cache: ArtifactCache,
    private readonly events: EventQueue,
    private readonly dataDir: string,
    private readonly accelerator: string,
    private readonly migration: MachinesMigrationDeps = {},
    network?: MachinesNetworkDeps,
  ) {
    this.network = network ?? {
      config: { portRange: { first: 20000, last: 20999 }, outbound: 'none', publicHost: 'localhost' },
      ports: new PortAllocator({ first: 20000, last: 20999 }),
    };
  }

  private readonly network: MachinesNetworkDeps;
  /** Running machines plugged into a private segment: machine id → network id. */
  private readonly segments = new Map<string, string>();

  /** Queue the driver's unrequested endings (guest power-off, crash, ended while away). */
  watchDriver(): void {
    // The journal (event-queue.ts): VM processes started and ended, QMP events.
    this.driver.events.on('started', (e: Parameters<VmmEvents['started']>[0]) =>
      this.events.note('vm.process.started', `VM process started (pid ${e.pid})`, e.id, { pid: e.pid }),
    );
    this.driver.events.on('exited', (e: Parameters<VmmEvents['exited']>[0]) =>
      this.events.note(
        'vm.process.ended',
        `VM process ended: ${e.reason}${e.signal ? ` (signal ${e.signal})` : e.code !== null ? ` (exit code ${e.code})` : ''}`,
        e.id,
        { reason: e.reason, code: e.code, signal: e.signal },
      ),
    );
    this.driver.events.on('qmp', (e: Parameters<VmmEvents['qmp']>[0]) => {
      // RTC_CHANGE follows the guest's clock adjustments: not an event of the machine's life.
      if (e.event === 'RTC_CHANGE') return;
      const data = JSON.stringify(e.data);
      this.events.note(`qmp.${e.event}`, `QMP ${e.event}${data !== '{}' ? ` ${data.slice(0, 300)}` : ''}`, e.id, { qmp: e.event });
    });
    // Whatever ended the run: its forwarded ports are free, it left its segment.
    this.driver.events.on('exited', (e: Parameters<VmmEvents['exited']>[0]) => {
      this.network.ports.release(e.id);
      if (this.segments.delete(e.id)) this.network.onSegmentsChanged?.();
    });
    this.driver.events.on('exited', (e: Parameters<VmmEvents['exited']>[0]) => {
      if (e.reason === 'stopped' || e.reason === 'suspended' || e.reason === 'deleted') return;
      if (this.deleting.has(e.id)) return;
      const kind: AgentEvent['kind'] = e.reason === 'poweredOff' ? 'poweredOff' : 'crashed';
      const detail =
        e.reason === 'poweredOff'
          ? 'guest-shutdown'
          : e.reason === 'unobserved'
            ? 'the VMM process ended while the agent was not running'
            : `the VMM process ended unexpectedly (${e.signal ? `signal ${e.signal}` : `exit code ${e.code}`})`;
      void this.driver
        .status(e.id)
        .then((st) => {
          const ev: AgentEvent = { machineId: e.id, kind, at: new Date().toISOString(), version: st.version, detail };
          this.events.push(ev);
          this.log.log(`machine ${e.id}: ${kind} (${detail}), version ${st.version}; queued for the front-end`);
          this.onEvent();
        })
        .catch((err) => this.log.error(`machine ${e.id} ended (${e.reason}) but its status is unreadable: ${(err as Error).message}`));
    });
  }

  /** After a restart: take control of the VMs still running (the driver's reattach). */
  async reattachAll(): Promise<{ running: string[]; stopped: string[] }> {
    const running: string[] = [];
    const stopped: string[] = [];
    for (const id of await this.driver.list()) {
      try {
        if (await this.driver.reattach(id)) {
          running.push(id);
          // Its ports stay held, its segment in use (machine.json recorded the run's network).
          const net = (await this.driver.status(id)).network;
          if (net) this.network.ports.adopt(id, net.forwards);
          if (net?.segment) this.segments.set(id, net.segment);
        } else stopped.push(id);
      } catch (e) {
        this.log.error(`machine ${id}: reattach failed: ${(e as Error).message}`);
      }
    }
    if (running.length) this.log.log(`found ${running.length} running machine(s) again: ${running.join(', ')}`);
    return { running, stopped };
  }

  facts(): HostFacts {
    const c = this.network.config;
    return {
      ...measureHostFacts(this.dataDir, this.accelerator, this.migration.transfer),
      network: {
        publicHost: c.publicHost,
        portRange: { ...c.portRange },
        portsInUse: this.network.ports.inUse(),
        outbound: c.outbound,
        vnet: this.network.vnetAvailable?.() ?? false,
      },
    };
  }

  /** Running machines per private segment (network id → count). */
  segmentUse(): Map<string, number> {
    const use = new Map<string, number>();
    for (const networkId of this.segments.values()) use.set(networkId, (use.get(networkId) ?? 0) + 1);
    return use;
  }

  /** Every machine's state (heartbeat, vm.list). */
  async list(): Promise<AgentVmState[]> {
    const out: AgentVmState[] = [];
    for (const id of await this.driver.list()) {
      if (this.deleting.has(id)) continue;
      try {
        out.push(this.toState(await this.driver.status(id)));
      } catch (e) {
        if (!(e instanceof MachineNotFoundError)) this.log.warn(`machine ${id}: status failed: ${(e as Error).message}`);
      }
    }
    return out;
  }

  async vmState(id: string): Promise<AgentVmState> {
    return this.toState(await this.driver.status(id));
  }

  async create(cmd: VmCreateCommand): Promise<AgentVmState> {
    return this.locked(cmd.machineId, async () => {
      const existing = await this.driver.status(cmd.machineId).catch((e) => {
        if (e instanceof MachineNotFoundError) return undefined;
        throw e;
      });
      if (existing) {
        // A retried create (its reply was lost) finds the machine it made.
        if (existing.version === cmd.version && this.state.get(cmd.machineId)?.image?.sha256 === cmd.image?.sha256) {
          this.log.log(`machine ${cmd.machineId}: already stored (retried create)`);
          return this.toState(existing);
        }
        throw new CommandError('conflict', `machine ${cmd.machineId} already exists here (version ${existing.version})`);
      }
      let baseImage: string | undefined;
      if (cmd.image) {
        try {
          baseImage = await this.cache.image(cmd.image.name, cmd.image.sha256);
        } catch (e) {
          throw new CommandError('failed', `cannot fetch image ${cmd.image.name}: ${(e as Error).message}`);
        }
      }
      const t0 = Date.now();
      const st = await this.driver.create(
        { id: cmd.machineId, mac: cmd.mac, vcpus: cmd.vcpus, memoryMb: cmd.memoryMb, diskMb: cmd.diskMb, baseImage },
        { version: cmd.version },
      );
      this.state.set(cmd.machineId, { image: cmd.image, media: null, createdAt: new Date().toISOString() });
      this.migration.atRest?.(cmd.machineId);
      this.log.log(
        `machine ${cmd.machineId}: created (${cmd.image ? `image ${cmd.image.name}` : `blank ${cmd.diskMb} MB disk`}, version ${cmd.version}) in ${Date.now() - t0} ms`,
      );
      commandLog.info(
        { machineId: cmd.machineId, version: cmd.version, image: cmd.image?.name ?? null, diskMb: cmd.diskMb, ms: Date.now() - t0 },
        'machine created',
      );
      return this.toState(st);
    });
  }

  async start(cmd: VmStartCommand): Promise<AgentVmState> {
    return this.versioned(cmd, 'start', async () => {
      this.refuseWhileMigrating(cmd.machineId);
      const st = await this.withNetwork(cmd.machineId, cmd.network, (network) => this.driver.start(cmd.machineId, { bootFrom: cmd.bootFrom, network }));
      this.log.log(`machine ${cmd.machineId}: started${cmd.bootFrom === 'cdrom' ? ' from the CD-ROM' : ''} (pid ${st.pid}, ${st.accel})${describeNetwork(st)}`);
      return st;
    });
  }

  async stop(cmd: VmStopCommand): Promise<AgentVmState> {
    return this.versioned(cmd, 'stop', async () => {
      const r = await this.driver.stop(cmd.machineId, { timeoutMs: cmd.timeoutMs, force: cmd.force });
      const st = await this.driver.status(cmd.machineId);
      const how = cmd.force ? 'stopped (forced, as asked)' : r.forced ? 'stopped (forced after the timeout)' : 'stopped';
      this.log.log(`machine ${cmd.machineId}: ${r.wasRunning ? how : 'was not running'}, version ${st.version}`);
      return st;
    });
  }

  /** Ctrl-Alt-Del asked of the guest: it restarts inside the same run (version unchanged). */
  async reboot(cmd: VmCommand): Promise<AgentVmState> {
    return this.versioned(cmd, 'reboot', async () => {
      const st = await this.driver.reboot(cmd.machineId);
      this.log.log(`machine ${cmd.machineId}: reboot asked of the guest (Ctrl-Alt-Del)`);
      return st;
    });
  }

  /** The reset line: the guest restarts at once inside the same run (version unchanged). */
  async reset(cmd: VmCommand): Promise<AgentVmState> {
    return this.versioned(cmd, 'reset', async () => {
      const st = await this.driver.reset(cmd.machineId);
      this.log.log(`machine ${cmd.machineId}: reset`);
      return st;
    });
  }

  async suspend(cmd: VmCommand): Promise<AgentVmState> {
    return this.versioned(cmd, 'suspend', async () => {
      const r = await this.driver.suspend(cmd.machineId);
      const st = await this.driver.status(cmd.machineId);
      this.log.log(`machine ${cmd.machineId}: suspended in ${r.durationMs} ms (${r.stateBytes} bytes, ${r.attempts} attempt(s)), version ${st.version}`);
      return st;
    });
  }

  async resume(cmd: VmResumeCommand): Promise<AgentVmState> {
    return this.versioned(cmd, 'resume', async () => {
      this.refuseWhileMigrating(cmd.machineId);
      const st = await this.withNetwork(cmd.machineId, cmd.network, (network) => this.driver.resume(cmd.machineId, { network }));
      this.log.log(`machine ${cmd.machineId}: resumed${describeNetwork(st)}`);
      return st;
    });
  }

  async delete(cmd: VmCommand, beforeDelete?: () => void): Promise<AgentVmState> {
    return this.locked(cmd.machineId, async () => {
      let st: MachineStatus;
      try {
        st = await this.driver.status(cmd.machineId);
      } catch (e) {
        if (!(e instanceof MachineNotFoundError)) throw e;
        this.state.delete(cmd.machineId);
        // A machine that migrated away left its files here as a cache: deleting the machine removes it.
        if (this.migration.caches?.remove(cmd.machineId)) this.log.log(`machine ${cmd.machineId}: cache removed`);
        return { machineId: cmd.machineId, state: 'absent', version: cmd.version, media: null };
      }
      this.refuseWhileMigrating(cmd.machineId);
      this.checkVersion(cmd, st, 'delete');
      beforeDelete?.();
      this.deleting.add(cmd.machineId);
      try {
        await this.driver.delete(cmd.machineId);
      } finally {
        this.deleting.delete(cmd.machineId);
      }
      this.state.delete(cmd.machineId);
      this.log.log(`machine ${cmd.machineId}: deleted`);
      return { machineId: cmd.machineId, state: 'absent', version: st.version, media: null };
    });
  }

  async attachMedia(cmd: VmMediaCommand): Promise<AgentVmState> {
    return this.versioned(cmd, 'attach media to', async () => {
      this.refuseWhileMigrating(cmd.machineId);
      let iso: string;
      try {
        iso = await this.cache.media(cmd.media.id, cmd.media.sha256);
      } catch (e) {
        throw new CommandError('failed', `cannot fetch media ${cmd.media.id}: ${(e as Error).message}`);
      }
      await this.driver.attachMedia(cmd.machineId, iso);
      this.state.update(cmd.machineId, (r) => (r.media = { id: cmd.media.id, sha256: cmd.media.sha256, path: iso }));
      this.log.log(`machine ${cmd.machineId}: media ${cmd.media.id} in the CD-ROM drive`);
      return this.driver.status(cmd.machineId);
    });
  }

  async ejectMedia(cmd: VmCommand): Promise<AgentVmState> {
    return this.versioned(cmd, 'eject media of', async () => {
      this.refuseWhileMigrating(cmd.machineId);
      await this.driver.ejectMedia(cmd.machineId);
      this.state.update(cmd.machineId, (r) => (r.media = null));
      this.log.log(`machine ${cmd.machineId}: CD-ROM ejected`);
      return this.driver.status(cmd.machineId);
    });
  }

  /** Not serialized with lifecycle commands: Ctrl-Alt-Del must get through while a stop waits. */
  async sendKeys(cmd: VmSendKeysCommand): Promise<AgentVmState> {
    const st = await this.driver.status(cmd.machineId);
    if (cmd.version !== undefined) this.checkVersion({ machineId: cmd.machineId, version: cmd.version }, st, 'send keys to');
    if (!reportedRunning(st.state)) throw new CommandError('conflict', `cannot send keys to machine ${cmd.machineId}: it is ${st.state}`);
    await this.driver.sendKeys(cmd.machineId, cmd.keys);
    this.log.log(`machine ${cmd.machineId}: keys ${cmd.keys.join('-')} sent`);
    return this.toState(await this.driver.status(cmd.machineId));
  }

  /** Is the machine's VMM process up (console relay)? */
  async isRunning(id: string): Promise<{ running: boolean; state: string }> {
    try {
      const st = await this.driver.status(id);
      return { running: reportedRunning(st.state), state: st.state };
    } catch (e) {
      if (e instanceof MachineNotFoundError) return { running: false, state: 'absent' };
      throw e;
    }
  }

  // ---------------------------------------------------------------------------------------------

  private toState(st: MachineStatus): AgentVmState {
    const rec = this.state.get(st.id);
    let media: string | null = null;
    if (st.media) media = rec?.media && rec.media.path === st.media ? rec.media.id : st.media.split('/').pop()!;
    const forwards = reportedRunning(st.state) && st.network?.forwards.length ? { forwards: st.network.forwards } : {};
    return { machineId: st.id, state: st.state, version: st.version, media, ...forwards };
  }

  /**
   * A run with the front-end's network (start, resume): host ports held for its forwarded guest
   * ports, the network's local switch up, then the run. The ports are freed if the run does not
   * start (and, once it runs, when it ends: watchDriver).
   */
  private async withNetwork(
    id: string,
    config: VmNetworkConfig | undefined,
    run: (n: MachineNetwork | undefined) => Promise<MachineStatus>,
  ): Promise<MachineStatus> {
    if (!config) return run(undefined);
    // A machine already running keeps its ports (the driver refuses the command).
    if (reportedRunning((await this.driver.status(id)).state)) return run(undefined);
    const { ports, switchFor } = this.network;
    let forwards;
    try {
      forwards = await ports.allocate(id, config.forwardPorts, config.preferredHostPorts);
    } catch (e) {
      if (e instanceof PortsExhaustedError) throw new CommandError('failed', e.message);
      throw e;
    }
    try {
      let priv: MachineNetwork['private'];
      if (config.private) {
        if (!switchFor) throw new CommandError('failed', 'this host cannot carry private networks (VDE is not installed or the agent has no transfer sshd)');
        const { networkId, address, prefixLength } = config.private;
        // Counted on its segment from now on, so that no convergence stops the switch meanwhile.
        this.segments.set(id, networkId);
        priv = { switchDir: await switchFor(networkId), segment: networkId, address, prefixLength };
      }
      const network: MachineNetwork = { private: priv, outbound: this.network.config.outbound, forwards, sshKeys: config.sshKeys, hostname: config.hostname };
      return await run(network);
    } catch (e) {
      ports.release(id);
      if (this.segments.delete(id)) this.network.onSegmentsChanged?.();
      throw e;
    }
  }

  /** While exported to a destination the machine's files must stay as they are (docs/ARCHITECTURE.md §7). */
  private refuseWhileMigrating(id: string): void {
    if (this.state.get(id)?.migration) throw new CommandError('conflict', `machine ${id} is being migrated`);
  }

  private checkVersion(cmd: VmCommand, st: MachineStatus, action: string): void {
    if (st.version !== cmd.version) {
      throw new CommandError(
        'conflict',
        `cannot ${action} machine ${cmd.machineId}: the agent holds version ${st.version}, the command is for version ${cmd.version}`,
      );
    }
  }

  private versioned(cmd: VmCommand, action: string, fn: () => Promise<MachineStatus>): Promise<AgentVmState> {
    return this.locked(cmd.machineId, async () => {
      const st = await this.driver.status(cmd.machineId);
      this.checkVersion(cmd, st, action);
      return this.toState(await fn());
    });
  }

  /** The driver's lock of the machine: its operations called from `fn` run inside it. */
  private locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.driver.exclusive(id, fn);
  }
}

function describeNetwork(st: MachineStatus): string {
  const n = st.network;
  if (!n) return '';
  const fwd = n.forwards.map((f) => `${f.hostPort}→${f.guestPort}`).join(', ');
  return `${n.segment ? `, on network ${n.segment}` : ''}${fwd ? `, ports ${fwd}` : ''}`;
}
