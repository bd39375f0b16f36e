import { describe, expect, it } from 'vitest';
import { buildQemuArgs, qemuOptValue, stateLoadCommand, stateSaveCommand, uplinkMacFor, validateSpec } from './command-line';

const spec = { id: '0b5f7a8e-1c2d-4e5f-8a9b-0c1d2e3f4a5b', mac: '52:54:00:AB:CD:EF', vcpus: 1, memoryMb: 128, diskMb: 64 };

function opt(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));
}

describe('buildQemuArgs', () => {
  it('builds a locked-down command line with relative paths and no TCP ports', () => {
    const args = buildQemuArgs({ spec, accel: 'tcg' });
    expect(args).toContain('-nodefaults');
    expect(args).toContain('-no-user-config');
    expect(opt(args, '-machine')).toEqual(['pc']);
    expect(opt(args, '-accel')).toEqual(['tcg']);
    expect(opt(args, '-m')).toEqual(['128M']);
    expect(opt(args, '-smp')).toEqual(['1']);
    expect(opt(args, '-uuid')).toEqual([spec.id]);
    expect(opt(args, '-vnc')).toEqual(['unix:vnc.sock']);
    expect(opt(args, '-qmp')).toEqual(['unix:qmp.sock,server=on,wait=off']);
    // No network given: the same devices, nic0 isolated, the uplink restricted with nothing forwarded.
    expect(opt(args, '-netdev')).toEqual(['hubport,id=net0,hubid=0', 'user,id=net1,net=10.0.2.0/24,restrict=on']);
    const devices = opt(args, '-device');
    expect(devices).toContain('virtio-net-pci,netdev=net0,id=nic0,mac=52:54:00:ab:cd:ef,romfile=');
    expect(devices).toContain('virtio-blk-pci,drive=disk0,id=virtio-disk0,bootindex=1');
    expect(devices).toContain('ide-cd,drive=cd0,id=cdrom0,bus=ide.1,unit=0,bootindex=2');
    expect(opt(args, '-drive')).toContain('if=none,id=cd0,media=cdrom,readonly=on');
    expect(opt(args, '-chardev')[0]).toMatch(/^socket,id=serial0,path=serial.sock,server=on,wait=off,logfile=serial.log/);
    expect(args.join(' ')).not.toMatch(/tcp:|:59\d\d|websocket/);
    expect(args).not.toContain('-incoming');
    expect(args).not.toContain('-kernel');
  });

  it('puts the CD-ROM first and escapes commas in media paths', () => {
    const args = buildQemuArgs({ spec, accel: 'kvm', media: '/isos/a,b.iso', bootFrom: 'cdrom', machineType: 'q35' });
    expect(opt(args, '-accel')).toEqual(['kvm']);
    expect(opt(args, '-machine')).toEqual(['q35']);
    expect(opt(args, '-drive')).toContain('if=none,id=cd0,media=cdrom,readonly=on,format=raw,file=/isos/a,,b.iso');
    const devices = opt(args, '-device');
    expect(devices).toContain('ide-cd,drive=cd0,id=cdrom0,bus=ide.1,unit=0,bootindex=1');
    expect(devices).toContain('virtio-blk-pci,drive=disk0,id=virtio-disk0,bootindex=2');
  });

  it('resumes paused from a state file and supports direct kernel boots', () => {
    const args = buildQemuArgs({
      spec,
      accel: 'tcg',
      incomingState: { file: 'state.bin', compression: 'zstd' },
      directKernel: { kernel: '/k/vmlinux', initrd: '/k/initramfs.gz', append: 'console=ttyS0 quiet' },
    });
    expect(args).toContain('-S');
    expect(opt(args, '-incoming')).toEqual(['exec:zstd -q -d -c state.bin']);
    expect(opt(args, '-kernel')).toEqual(['/k/vmlinux']);
    expect(opt(args, '-initrd')).toEqual(['/k/initramfs.gz']);
    expect(opt(args, '-append')).toEqual(['console=ttyS0 quiet']);
  });
});

describe('buildQemuArgs: the network devices', () => {
  it('puts disk, seed, private NIC and uplink NIC in this order', () => {
    const args = buildQemuArgs({ spec, accel: 'tcg', nics: { switchDir: '/d/vnet/n/sw', outbound: 'allow', forwards: [] } });
    const devices = opt(args, '-device');
    expect(devices.map((d) => /id=([\w-]+)/.exec(d)?.[1])).toEqual(['virtio-disk0', 'cdrom0', 'virtio-seed0', 'nic0', 'nic1', 'rng0dev']);
    expect(devices).toContain('virtio-blk-pci,drive=seed0,id=virtio-seed0');
    expect(opt(args, '-drive')).toContain('if=none,id=seed0,file=seed.iso,format=raw,readonly=on');
    expect(devices).toContain(`virtio-net-pci,netdev=net1,id=nic1,mac=${uplinkMacFor(spec.mac)},romfile=`);
  });

  it("plugs nic0 into the network's VDE switch and lets the uplink out when outbound is allowed", () => {
    const args = buildQemuArgs({ spec, accel: 'tcg', nics: { switchDir: '/d/vnet/a,b/sw', outbound: 'allow', forwards: [] } });
    expect(opt(args, '-netdev')).toEqual(['vde,id=net0,sock=/d/vnet/a,,b/sw', 'user,id=net1,net=10.0.2.0/24,restrict=off']);
  });

  it('restricts the uplink when outbound is none and forwards each allocated port to the guest', () => {
    const args = buildQemuArgs({
      spec,
      accel: 'tcg',
      nics: {
        outbound: 'none',
        forwards: [
          { guestPort: 22, hostPort: 20005 },
          { guestPort: 80, hostPort: 20006 },
        ],
      },
    });
    expect(opt(args, '-netdev')).toEqual([
      'hubport,id=net0,hubid=0',
      'user,id=net1,net=10.0.2.0/24,restrict=on,hostfwd=tcp::20005-10.0.2.15:22,hostfwd=tcp::20006-10.0.2.15:80',
    ]);
  });

  it('refuses a port that is not one', () => {
    expect(() => buildQemuArgs({ spec, accel: 'tcg', nics: { outbound: 'none', forwards: [{ guestPort: 22, hostPort: 0 }] } })).toThrow(/port/);
  });

  it('gives the uplink a stable, locally administered unicast MAC different from the private one', () => {
    const up = uplinkMacFor('52:54:00:ab:cd:ef');
    expect(up).toBe(uplinkMacFor('52:54:00:AB:CD:EF'));
    expect(up).not.toBe('52:54:00:ab:cd:ef');
    expect(parseInt(up.slice(0, 2), 16) & 0x03).toBe(0x02);
  });
});

describe('helpers', () => {
  it('escapes option values', () => {
    expect(qemuOptValue('a,b,,c')).toBe('a,,b,,,,c');
  });
  it('builds state save/load commands', () => {
    expect(stateSaveCommand('s.bin', 'none')).toBe('exec:cat > s.bin');
    expect(stateLoadCommand('s.bin', 'none')).toBe('exec:cat s.bin');
    expect(stateSaveCommand('s.bin', 'zstd')).toMatch(/^exec:zstd .*-c > s\.bin$/);
  });
  it('validates specs', () => {
    expect(() => validateSpec(spec)).not.toThrow();
    expect(() => validateSpec({ ...spec, id: 'x,y' })).toThrow(/UUID/);
    expect(() => validateSpec({ ...spec, mac: '01:00:5e:00:00:01' })).toThrow(/unicast/);
    expect(() => validateSpec({ ...spec, mac: '52:54:00:00:00:0g' })).toThrow(/MAC/);
    expect(() => validateSpec({ ...spec, vcpus: 0 })).toThrow(/vcpus/);
    expect(() => validateSpec({ ...spec, memoryMb: 1.5 })).toThrow(/memoryMb/);
  });
});
