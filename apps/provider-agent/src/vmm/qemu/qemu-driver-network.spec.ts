import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guestImage } from '../guest-image';
import { newSpec, waitForSerial } from '../test-support/helpers';
import type { MachineNetwork } from '../vmm-driver';
import { freePorts } from '../../agent/test-support/agent-process';
import { MACHINE_FILES as F } from './command-line';
import { QemuDriver } from './qemu-driver';

/**
 * The driver's network devices with real QEMU and a real VDE switch the test starts: the private
 * NIC is a port of the switch for the run only, the seed is written at start and
 * resume, the forwarded ports listen on the host while the run lasts.
 */
const img = guestImage();
const direct = { kernel: img.vmlinux, initrd: img.initramfs, append: 'console=ttyS0 quiet' };

let root: string;
let switchDir: string;
let vdeSwitch: ChildProcess;
let driver: QemuDriver;
const created: string[] = [];

/** Ports of the switch in use: vde_switch makes one data socket `NNN.M` per plugged port. */
function switchPorts(): number {
  return readdirSync(switchDir).filter((n) => /^\d+\.\d+$/.test(n)).length;
}

async function switchPortsBecome(n: number): Promise<number> {
  for (let i = 0; i < 150 && switchPorts() !== n; i++) await new Promise((r) => setTimeout(r, 20));
  return switchPorts();
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

async function network(address: string): Promise<MachineNetwork> {
  const [a, b] = await freePorts(2);
  return {
    private: { switchDir, segment: 'net-a', address, prefixLength: 24 },
    outbound: 'none',
    forwards: [
      { guestPort: 22, hostPort: a! },
      { guestPort: 80, hostPort: b! },
    ],
    sshKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOe3c3d0ZXN0a2V5dGVzdGtleXRlc3RrZXl0ZXN0a2V5 buyer@laptop'],
    hostname: 'web-1',
  };
}

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'vzn-'));
  switchDir = path.join(root, 'sw');
  vdeSwitch = spawn('vde_switch', ['-s', switchDir, '-m', '0700'], { stdio: ['pipe', 'ignore', 'ignore'] });
  for (let i = 0; i < 100 && !existsSync(path.join(switchDir, 'ctl')); i++) await new Promise((r) => setTimeout(r, 20));
  driver = new QemuDriver({ machinesDir: path.join(root, 'm') });
});

afterAll(async () => {
  for (const id of created) await driver.delete(id).catch(() => undefined);
  await driver.detachAll();
  vdeSwitch?.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

describe('QemuDriver network devices with real QEMU and a VDE switch', () => {
  it('plugs the private NIC into the switch for the run, forwards the ports, writes the seed; the port and forwards end with the run', async () => {
    const spec = newSpec({ memoryMb: 96 });
    await driver.create(spec);
    created.push(spec.id);
    const dir = driver.machineDir(spec.id);
    const net1 = await network('10.64.3.10');

    const st = await driver.start(spec.id, { directKernel: direct, network: net1 });
    expect(st.network).toEqual({ segment: 'net-a', forwards: net1.forwards });
    expect(switchPorts()).toBe(1);
    for (const f of net1.forwards) expect(await accepts(f.hostPort)).toBe(true);
    // The seed: an ISO 9660 volume labelled cidata holding the run's address, host name and key.
    const seed = readFileSync(path.join(dir, F.seed));
    expect(seed.subarray(0x8028, 0x8034).toString('latin1').trim()).toBe('cidata');
    const text = seed.toString('latin1');
    expect(text).toContain('10.64.3.10/24');
    expect(text).toContain('local-hostname: web-1');
    expect(text).toContain('buyer@laptop');
    await waitForSerial(driver, spec.id, /VIRTUOSO-GUEST-READY/);

    // Suspend: the run ends (plug gone, ports closed); resume: a new run with new ports.
    await driver.suspend(spec.id);
    expect(await switchPortsBecome(0)).toBe(0);
    expect((await driver.status(spec.id)).network).toBeUndefined();
    for (const f of net1.forwards) expect(await accepts(f.hostPort)).toBe(false);
    const net2 = await network('10.64.3.11');
    const resumed = await driver.resume(spec.id, { network: net2 });
    expect(resumed.state).toBe('running');
    expect(resumed.network).toEqual({ segment: 'net-a', forwards: net2.forwards });
    expect(switchPorts()).toBe(1);
    expect(readFileSync(path.join(dir, F.seed), 'latin1')).toContain('10.64.3.11/24');
    for (const f of net2.forwards) expect(await accepts(f.hostPort)).toBe(true);

    // Stop: the plug ends and leaves the switch, the ports close, machine.json forgets the run's network.
    await driver.stop(spec.id, { force: true });
    expect(await switchPortsBecome(0)).toBe(0);
    for (const f of net2.forwards) expect(await accepts(f.hostPort)).toBe(false);
    expect(JSON.parse(readFileSync(path.join(dir, F.config), 'utf8')).lastRun.network).toBeUndefined();
    expect((await driver.status(spec.id)).network).toBeUndefined();
  });

  it('without a network: the same devices, nothing plugged, nothing forwarded', async () => {
    const spec = newSpec({ memoryMb: 64 });
    await driver.create(spec);
    created.push(spec.id);
    const st = await driver.start(spec.id, { directKernel: direct });
    expect(st.network).toBeUndefined();
    expect(switchPorts()).toBe(0);
    expect(existsSync(path.join(driver.machineDir(spec.id), F.seed))).toBe(true);
    await driver.stop(spec.id, { force: true });
  });
});
