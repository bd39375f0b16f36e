import type { DirectKernelBoot, MachineSpec, PortForward } from '../vmm-driver';

/** File names inside a machine directory. QEMU runs with cwd = the machine directory and gets
 *  only these relative names, which keeps unix socket paths short (sun_path is 108 bytes) and the
 *  command line independent of where machines are stored. */
export const MACHINE_FILES = {
  disk: 'disk.qcow2',
  config: 'machine.json',
  state: 'state.bin',
  stateTmp: 'state.bin.partial',
  qmp: 'qmp.sock',
  vnc: 'vnc.sock',
  serial: 'serial.sock',
  serialLog: 'serial.log',
  pid: 'qemu.pid',
  qemuLog: 'qemu.log',
  /** NoCloud seed (seed-image.ts), written afresh at each start and resume. */
  seed: 'seed.iso',
} as const;

/** The guest's side of QEMU user networking (slirp's defaults): the uplink NIC's static address,
 *  the host as gateway (outbound NAT, and the host's own loopback when outbound is allowed) and
 *  slirp's DNS forwarder. */
export const UPLINK = { address: '10.0.2.15', prefixLength: 24, gateway: '10.0.2.2', dns: '10.0.2.3' } as const;

/** The NICs of one run (docs/ARCHITECTURE.md §11). */
export interface QemuNicConfig {
  /** nic0 plugs into the VDE switch with this socket directory; absent: nic0 is isolated. */
  switchDir?: string;
  outbound: 'allow' | 'none';
  forwards: PortForward[];
}

export type Accel = 'tcg' | 'kvm';
export type MachineType = 'pc' | 'q35';
export type StateCompression = 'zstd' | 'none';

export interface QemuLaunchConfig {
  spec: Pick<MachineSpec, 'id' | 'mac' | 'vcpus' | 'memoryMb'>;
  accel: Accel;
  /** 'pc' (i440fx + PIIX IDE) is the default: the guest image loads ata_piix for the CD-ROM. */
  machineType?: MachineType;
  /** ISO in the CD-ROM at start (absolute path), or none: an empty drive. */
  media?: string | null;
  bootFrom?: 'disk' | 'cdrom';
  directKernel?: DirectKernelBoot;
  /** Resume from a saved state file (relative to the machine dir). */
  incomingState?: { file: string; compression: StateCompression };
  /** Absent: nic0 isolated, the uplink restricted, nothing forwarded. */
  nics?: QemuNicConfig;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** Throws on a spec QEMU would misread (or that could inject options into the command line). */
export function validateSpec(spec: MachineSpec): void {
  if (!UUID_RE.test(spec.id)) throw new Error(`invalid machine id (UUID expected): ${spec.id}`);
  if (!MAC_RE.test(spec.mac)) throw new Error(`invalid MAC address: ${spec.mac}`);
  if (parseInt(spec.mac.slice(0, 2), 16) & 1) throw new Error(`MAC must be unicast: ${spec.mac}`);
  const int = (n: number, min: number, max: number, what: string) => {
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`invalid ${what}: ${n}`);
  };
  int(spec.vcpus, 1, 256, 'vcpus');
  int(spec.memoryMb, 16, 4 * 1024 * 1024, 'memoryMb');
  int(spec.diskMb, 1, 64 * 1024 * 1024, 'diskMb');
}

/** The MAC of a machine's uplink NIC (QEMU user networking): the market's MAC (which the private
 *  NIC carries) made locally administered, so the two never clash and the uplink's is stable. */
export function uplinkMacFor(mac: string): string {
  const bytes = mac.toLowerCase().split(':');
  bytes[0] = ((parseInt(bytes[0], 16) | 0x02) & 0xfe).toString(16).padStart(2, '0');
  if (bytes.join(':') === mac.toLowerCase()) bytes[0] = ((parseInt(bytes[0], 16) ^ 0x04) & 0xfe).toString(16).padStart(2, '0');
  return bytes.join(':');
}

/** nic0's backend: a port of the network's VDE switch on this host, or a hub of its own
 *  (isolated: frames go nowhere; the device is there all the same). */
export function privateNetdev(nics: QemuNicConfig): string {
  if (!nics.switchDir) return 'hubport,id=net0,hubid=0';
  return `vde,id=net0,sock=${qemuOptValue(nics.switchDir)}`;
}

/** nic1's backend: user networking, restricted (no outbound) unless the host allows outbound;
 *  forwarded ports listen on every host address (hostfwd works with restrict=on too). */
export function uplinkNetdev(nics: QemuNicConfig): string {
  const port = (n: number) => {
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`invalid TCP port: ${n}`);
    return n;
  };
  const fwd = nics.forwards.map((f) => `,hostfwd=tcp::${port(f.hostPort)}-${UPLINK.address}:${port(f.guestPort)}`).join('');
  return `user,id=net1,net=10.0.2.0/24,restrict=${nics.outbound === 'allow' ? 'off' : 'on'}${fwd}`;
}

/** Escape a value for QEMU's comma-separated option syntax (",": doubled). */
export function qemuOptValue(v: string): string {
  return v.replace(/,/g, ',,');
}

/** Shell command run by QEMU's `exec:` migration transport (QEMU 7.2 has no `file:` URI). */
export function stateSaveCommand(file: string, compression: StateCompression): string {
  return compression === 'zstd' ? `exec:zstd -q -1 -T1 -c > ${file}` : `exec:cat > ${file}`;
}

export function stateLoadCommand(file: string, compression: StateCompression): string {
  return compression === 'zstd' ? `exec:zstd -q -d -c ${file}` : `exec:cat ${file}`;
}

/** The qemu-system-x86_64 argument vector for a machine (to run with cwd = machine dir). */
export function buildQemuArgs(cfg: QemuLaunchConfig): string[] {
  const { spec } = cfg;
  const f = MACHINE_FILES;
  const cdFirst = cfg.bootFrom === 'cdrom';
  const nics: QemuNicConfig = cfg.nics ?? { outbound: 'none', forwards: [] };
  const args: string[] = [
    '-name',
    `virtuoso-${spec.id}`,
    '-nodefaults',
    '-no-user-config',
    '-machine',
    cfg.machineType ?? 'pc',
    '-accel',
    cfg.accel,
    '-m',
    `${spec.memoryMb}M`,
    '-smp',
    String(spec.vcpus),
    '-uuid',
    spec.id,
    '-rtc',
    'base=utc',
    // Disk: virtio-blk on the machine's qcow2.
    '-drive',
    `if=none,id=disk0,file=${f.disk},format=qcow2,cache=writeback,discard=unmap`,
    '-device',
    `virtio-blk-pci,drive=disk0,id=virtio-disk0,bootindex=${cdFirst ? 2 : 1}`,
    // CD-ROM: always present (empty unless install media is attached) so media can be hot-changed.
    '-drive',
    cfg.media ? `if=none,id=cd0,media=cdrom,readonly=on,format=raw,file=${qemuOptValue(cfg.media)}` : 'if=none,id=cd0,media=cdrom,readonly=on',
    '-device',
    `ide-cd,drive=cd0,id=cdrom0,bus=ide.1,unit=0,bootindex=${cdFirst ? 1 : 2}`,
    // NoCloud seed (read-only, /dev/vdb in the guest): addresses, host name, ssh keys.
    '-drive',
    `if=none,id=seed0,file=${f.seed},format=raw,readonly=on`,
    '-device',
    'virtio-blk-pci,drive=seed0,id=virtio-seed0',
    // nic0, the private segment, with the front-end's MAC; nic1, the uplink. romfile= empty:
    // iPXE's DHCP tries would add ~7.6 s to boot.
    '-netdev',
    privateNetdev(nics),
    '-device',
    `virtio-net-pci,netdev=net0,id=nic0,mac=${spec.mac.toLowerCase()},romfile=`,
    '-netdev',
    uplinkNetdev(nics),
    '-device',
    `virtio-net-pci,netdev=net1,id=nic1,mac=${uplinkMacFor(spec.mac)},romfile=`,
    // Entropy from the host: a fresh guest makes its ssh host key at first boot, and without it
    // waits for its own random pool (about 1.2 s of a TCG vCPU, measured with tiny-linux).
    '-object',
    'rng-random,id=rng0,filename=/dev/urandom',
    '-device',
    'virtio-rng-pci,rng=rng0,id=rng0dev',
    '-vga',
    'std',
    // Console: VNC on a unix socket only — never a TCP port.
    '-vnc',
    `unix:${f.vnc}`,
    // Serial: the driver keeps a client connected (an unread socket stalls the guest);
    // QEMU itself appends everything to serial.log.
    '-chardev',
    `socket,id=serial0,path=${f.serial},server=on,wait=off,logfile=${f.serialLog},logappend=on`,
    '-serial',
    'chardev:serial0',
    '-qmp',
    `unix:${f.qmp},server=on,wait=off`,
  ];
  if (cfg.directKernel) {
    args.push('-kernel', cfg.directKernel.kernel);
    if (cfg.directKernel.initrd) args.push('-initrd', cfg.directKernel.initrd);
    if (cfg.directKernel.append) args.push('-append', cfg.directKernel.append);
  }
  if (cfg.incomingState) {
    // -S: stay paused after loading; the driver sends `cont` once the state is in.
    args.push('-S', '-incoming', stateLoadCommand(cfg.incomingState.file, cfg.incomingState.compression));
  }
  return args;
}
