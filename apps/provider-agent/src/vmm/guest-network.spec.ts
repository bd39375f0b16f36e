import { type ChildProcessWithoutNullStreams, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guestImage } from './guest-image';
import { uplinkMacFor } from './qemu/command-line';
import { writeSeedImage } from './qemu/seed-image';

/**
 * The tiny-linux guest's networking (tools/guest-image/README.md, "Networking and ssh"), proved
 * with raw QEMU command lines shaped like the agent's: disk0 virtio-blk,
 * the NoCloud seed as a second virtio disk, nic0 on a private L2 segment (a vde_switch this test
 * runs), nic1 on QEMU user networking with a forwarded ssh port. The guests are driven through
 * their serial consoles (busybox shell).
 */
const img = guestImage();
const SUBNET = '10.64.0';

let dir: string;
let switchDir: string;
let switchPidFile: string;
let http: Server;
let httpPort: number;
const httpSeen: string[] = [];
let key: string;
let otherKey: string;
const guests: Guest[] = [];
let a: Guest;
let b: Guest;
let closed: Guest;
/** A plug on the switch that only listens: every frame on the segment (vde_plug's stream format). */
let tap: ChildProcessWithoutNullStreams;
const tapped: Buffer[] = [];

/** A QEMU process whose serial console is its stdio (read as latin1 text, written as commands). */
class Guest {
  out = '';
  stderr = '';
  readonly proc: ChildProcessWithoutNullStreams;
  constructor(
    readonly name: string,
    /** nic0's MAC (the private segment's). */
    readonly mac: string,
    /** Host port forwarded to the guest's port 22. */
    readonly sshPort: number,
    args: string[],
    cwd: string,
  ) {
    this.proc = spawn('qemu-system-x86_64', args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (d: Buffer) => (this.out += d.toString('latin1')));
    this.proc.stderr.on('data', (d: Buffer) => (this.stderr += d.toString('latin1')));
    this.proc.stdin.on('error', () => undefined);
  }

  /** Wait until `re` matches the console output after `from`. */
  async waitFor(re: RegExp, from = 0, timeoutMs = 90_000): Promise<RegExpExecArray & { end: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = this.out.slice(from);
      const m = re.exec(text);
      if (m) return Object.assign(m, { index: from + m.index, end: from + m.index + m[0].length });
      if (this.proc.exitCode !== null) throw new Error(`${this.name}: QEMU exited (${this.proc.exitCode}): ${this.stderr}`);
      if (Date.now() > deadline) {
        throw new Error(`${this.name}: no ${re} within ${timeoutMs} ms; console tail: ${JSON.stringify(text.slice(-600))}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Newlines until a fresh prompt (busybox's prompt asks for the cursor position and may eat the
   *  first input). */
  private async prompt(): Promise<void> {
    for (let i = 0; i < 30; i++) {
      const from = this.out.length;
      this.proc.stdin.write('\n');
      try {
        await this.waitFor(/virtuoso# /, from, 2_000);
        return;
      } catch {
        /* shell not there yet */
      }
    }
    throw new Error(`${this.name}: no shell prompt on the serial console`);
  }

  /** Run a shell command on the console; its output (with the tick lines of the counter that runs in
   *  the guest interleaved) and exit status. The echoed command line never matches the end marker:
   *  it shows `$?`, the output shows the number. */
  async run(command: string, timeoutMs = 30_000): Promise<{ output: string; rc: number }> {
    await this.prompt();
    const from = this.out.length;
    this.proc.stdin.write(`${command}; echo "@@rc=$?@@"\n`);
    const m = await this.waitFor(/@@rc=(\d+)@@/, from, timeoutMs);
    return { output: this.out.slice(from, m.index), rc: Number(m[1]) };
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createTcpServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function randomMac(): string {
  return `52:54:00:${[...randomBytes(3)].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
}

interface GuestPlan {
  name: string;
  hostname: string;
  privateAddress?: string;
  /** Outbound allowed: restrict=off and a default route through 10.0.2.2. */
  outbound: boolean;
  /** nic0 on the test's switch; otherwise an isolated hub (the agent's "no private network"). */
  onSwitch: boolean;
}

async function boot(plan: GuestPlan): Promise<Guest> {
  const gdir = path.join(dir, plan.name);
  mkdirSync(gdir);
  const mac = randomMac();
  const sshPort = await freePort();
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', img.qcow2, 'disk.qcow2'], { cwd: gdir });
  await writeSeedImage(path.join(gdir, 'seed.iso'), {
    instanceId: `test-${plan.name}`,
    hostname: plan.hostname,
    sshKeys: [readFileSync(`${key}.pub`, 'utf8').trim()],
    nics: [
      { name: 'private', mac, address: plan.privateAddress && `${plan.privateAddress}/24` },
      {
        name: 'uplink',
        mac: uplinkMacFor(mac),
        address: '10.0.2.15/24',
        gateway: plan.outbound ? '10.0.2.2' : undefined,
        nameservers: ['10.0.2.3'],
      },
    ],
  });
  const args = [
    '-nodefaults',
    '-no-user-config',
    '-machine',
    'pc',
    '-accel',
    'tcg',
    '-m',
    '128M',
    '-smp',
    '1',
    '-display',
    'none',
    '-kernel',
    img.vmlinux,
    '-initrd',
    img.initramfs,
    '-append',
    'console=ttyS0 quiet',
    '-drive',
    'if=none,id=disk0,file=disk.qcow2,format=qcow2',
    '-device',
    'virtio-blk-pci,drive=disk0,id=virtio-disk0',
    '-drive',
    'if=none,id=seed0,file=seed.iso,format=raw,readonly=on',
    '-device',
    'virtio-blk-pci,drive=seed0,id=virtio-seed0',
    '-netdev',
    plan.onSwitch ? `vde,id=net0,sock=${switchDir}` : 'hubport,id=net0,hubid=0',
    '-device',
    `virtio-net-pci,netdev=net0,id=nic0,mac=${mac},romfile=`,
    '-netdev',
    `user,id=net1,restrict=${plan.outbound ? 'off' : 'on'},hostfwd=tcp:127.0.0.1:${sshPort}-:22`,
    '-device',
    `virtio-net-pci,netdev=net1,id=nic1,mac=${uplinkMacFor(mac)},romfile=`,
    '-chardev',
    'stdio,id=serial0,signal=off',
    '-serial',
    'chardev:serial0',
  ];
  const guest = new Guest(plan.name, mac, sshPort, args, gdir);
  guests.push(guest);
  return guest;
}

function ssh(identity: string, port: number, command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'ssh',
      [
        '-i',
        identity,
        '-p',
        String(port),
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'BatchMode=yes',
        '-o',
        'IdentitiesOnly=yes',
        '-o',
        'ConnectTimeout=20',
        'root@127.0.0.1',
        command,
      ],
      { timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  // Short paths: unix socket names are limited to 107 bytes.
  dir = mkdtempSync(path.join(os.tmpdir(), 'vgn-'));
  switchDir = path.join(dir, 'sw');
  switchPidFile = path.join(dir, 'sw.pid');
  execFileSync('vde_switch', ['-s', switchDir, '-p', switchPidFile, '-d']);
  tap = spawn('vde_plug', [switchDir], { stdio: ['pipe', 'pipe', 'pipe'] });
  tap.stdout.on('data', (d: Buffer) => tapped.push(d));
  await new Promise((r) => setTimeout(r, 300));
  expect(tap.exitCode).toBeNull();

  http = createHttpServer((req, res) => {
    httpSeen.push(req.url ?? '');
    res.end('hello from the host\n');
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  httpPort = (http.address() as { port: number }).port;

  key = path.join(dir, 'key');
  otherKey = path.join(dir, 'other-key');
  for (const k of [key, otherKey]) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'guest-network-test', '-f', k]);

  // All three boot at once (TCG: about one busy host core each).
  [a, b, closed] = await Promise.all([
    boot({ name: 'a', hostname: 'guest-a', privateAddress: `${SUBNET}.10`, outbound: true, onSwitch: true }),
    boot({ name: 'b', hostname: 'guest-b', privateAddress: `${SUBNET}.11`, outbound: true, onSwitch: true }),
    boot({ name: 'closed', hostname: 'guest-closed', outbound: false, onSwitch: false }),
  ]);
  await Promise.all(guests.map((g) => g.waitFor(/VIRTUOSO-GUEST-READY/)));
}, 150_000);

afterAll(async () => {
  for (const g of guests) {
    if (g.proc.exitCode === null) {
      g.proc.kill('SIGKILL');
      await new Promise((r) => g.proc.once('exit', r));
    }
  }
  if (tap && tap.exitCode === null) {
    tap.kill('SIGKILL');
    await new Promise((r) => tap.once('exit', r));
  }
  if (switchPidFile && existsSync(switchPidFile)) {
    const pid = Number(readFileSync(switchPidFile, 'utf8').trim());
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
  }
  await new Promise((r) => (http ? http.close(r) : r(undefined)));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('tiny-linux guest networking (raw QEMU, a vde_switch, NoCloud seed)', () => {
  it('each guest configures its private address from the seed on the NIC with the seed MAC', async () => {
    for (const [g, address] of [
      [a, `${SUBNET}.10`],
      [b, `${SUBNET}.11`],
    ] as const) {
      const m = await g.waitFor(new RegExp(`VIRTUOSO-NET (\\S+) ${address.replace(/\./g, '\\.')}\\r?\\n`));
      const ifname = m[1];
      const { output, rc } = await g.run(`ip addr show dev ${ifname}`);
      expect(rc).toBe(0);
      expect(output).toContain(`link/ether ${g.mac}`);
      expect(output).toContain(`inet ${address}/24`);
      // The uplink too: slirp's guest address, the default route only when outbound is allowed.
      expect(g.out).toMatch(/VIRTUOSO-NET \S+ 10\.0\.2\.15\r?\n/);
      const route = await g.run('ip route');
      expect(route.output).toContain('default via 10.0.2.2');
      const hostname = await g.run('cat /etc/hostname');
      expect(hostname.output).toContain(g === a ? 'guest-a' : 'guest-b');
    }
    const closedRoute = await closed.run('ip route; cat /sys/class/net/eth0/statistics/rx_packets');
    expect(closedRoute.rc).toBe(0);
    expect(closedRoute.output).not.toContain('default via');
    expect(closed.out).not.toMatch(/VIRTUOSO-NET \S+ 10\.64\./);
  });

  it('each guest announces its private address on the segment with a gratuitous ARP', async () => {
    await Promise.all([a, b].map((g) => g.waitFor(/VIRTUOSO-GUEST-READY/)));
    for (const [g, address] of [
      [a, `${SUBNET}.10`],
      [b, `${SUBNET}.11`],
    ] as const) {
      const mac = Buffer.from(g.mac.replace(/:/g, ''), 'hex');
      const ip = Buffer.from(address.split('.').map(Number));
      // Ethernet type 0x0806, 8 bytes of ARP header, then sender MAC, sender IP, target MAC, target
      // IP: gratuitous when the sender IP is the target IP.
      const announce = (frames: Buffer) => {
        const at = frames.indexOf(Buffer.concat([mac, ip]));
        return at >= 0 && frames.subarray(at + 16, at + 20).equals(ip) && frames.subarray(at - 10, at - 8).equals(Buffer.from([0x08, 0x06]));
      };
      await expect.poll(() => announce(Buffer.concat(tapped)), { timeout: 20_000 }).toBe(true);
    }
  });

  it('guest A pings guest B on the segment, and a TCP connection carries a line of text', async () => {
    const ping = await a.run(`ping -c 3 -W 5 ${SUBNET}.11`, 40_000);
    expect(ping.output).toMatch(/3 packets transmitted, 3 packets received/);
    expect(ping.rc).toBe(0);

    const listen = await b.run(`nc -l -p 7777 >/tmp/received & sleep 1; netstat -ltn | grep -c ':7777 '`);
    expect(listen.output).toMatch(/\n1\r?\n/);
    const line = `across-the-segment-${randomBytes(4).toString('hex')}`;
    const send = await a.run(`echo ${line} | timeout 10 nc ${SUBNET}.11 7777; true`, 30_000);
    expect(send.rc).toBe(0);
    const received = await b.run('sleep 1; cat /tmp/received');
    expect(received.output).toContain(`\n${line}`);
    const rx = await b.run('cat /sys/class/net/eth0/statistics/rx_packets');
    expect(Number(/\n(\d+)\r?\n/.exec(rx.output)?.[1])).toBeGreaterThan(0);
  });

  it('outbound allowed: the guest reaches a server on the host loopback at 10.0.2.2; restrict=on does not', async () => {
    const token = `outbound-${randomBytes(6).toString('hex')}`;
    // (`timeout`, not wget's -T: busybox 1.35's `wget -T` crashes.)
    const got = await a.run(`timeout 20 wget -q -O - http://10.0.2.2:${httpPort}/${token}`, 40_000);
    expect(got.rc).toBe(0);
    expect(got.output).toContain('hello from the host');
    expect(httpSeen).toContain(`/${token}`);

    // The closed guest has the same uplink address (so nothing but restrict=on stops it).
    expect(closed.out).toMatch(/VIRTUOSO-NET \S+ 10\.0\.2\.15\r?\n/);
    const refused = `refused-${randomBytes(6).toString('hex')}`;
    const blocked = await closed.run(`timeout 5 wget -q -O - http://10.0.2.2:${httpPort}/${refused}`, 40_000);
    expect(blocked.rc).not.toBe(0);
    expect(blocked.output).toContain("can't connect to remote host (10.0.2.2)");
    expect(httpSeen).not.toContain(`/${refused}`);
  });

  it('ssh through the forwarded port: the seed key logs in as root, another key is refused', async () => {
    await Promise.all([a.waitFor(/VIRTUOSO-SSHD-READY/), closed.waitFor(/VIRTUOSO-SSHD-READY/)]);
    const ok = await ssh(key, a.sshPort, 'cat /etc/hostname');
    expect(ok.stderr).not.toContain('Permission denied');
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim()).toBe('guest-a');

    const refused = await ssh(otherKey, a.sshPort, 'cat /etc/hostname');
    expect(refused.code).toBe(255);
    expect(refused.stderr).toContain('Permission denied (publickey)');
    expect(refused.stdout).toBe('');

    // Forwarded ports work with outbound closed too (restrict=on keeps hostfwd).
    const viaClosed = await ssh(key, closed.sshPort, 'cat /etc/hostname');
    expect(viaClosed.stdout.trim()).toBe('guest-closed');
  });
});
