import type { DirectKernelBoot, MachineSpec } from '../vmm-driver';

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
    // NIC with the front-end's MAC. romfile= empty: iPXE's DHCP tries would add ~7.6 s to boot.
    '-netdev',
    'user,id=net0,restrict=on',
    '-device',
    `virtio-net-pci,netdev=net0,id=nic0,mac=${spec.mac.toLowerCase()},romfile=`,
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
