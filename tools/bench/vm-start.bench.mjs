// Measured in one run on this machine:
//  1. the API's start request → the guest's serial marker, divided by a bare qemu-system-x86_64 boot
//     of the same image with the same devices (goal ≤ 1.05);
//  2. the provider agent's resident memory with 0 and with 5 running VMs.
// The host and the machines are sized from what the agent measured (its facts), so that the timed
// machine and four more always fit whatever this machine's bogomips, memory and free disk: the host
// sells all the measured bogomips, and each machine is the preconfigured tiny-linux edited down to
// a fifth of them (and at most one CPU's worth, so it gets one vCPU like the bare boot).
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, repo, signUpWithToken, startApi } from './api-server.mjs';

export const name = 'vm-start';

const MARKER = 'VIRTUOSO-GUEST-READY';
const ROUNDS = Number(process.env.BENCH_VM_ROUNDS ?? 3);
const imageDir = process.env.VIRTUOSO_IMAGE_DIR ?? join(repo, '.cache/guest-image');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function waitFor(check, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

/** A bare QEMU boot of the image with the driver's devices, timed to the serial marker. */
async function bareBoot(image) {
  const dir = mkdtempSync(join(tmpdir(), 'vzb-'));
  copyFileSync(image, join(dir, 'disk.qcow2'));
  const t0 = performance.now();
  const qemu = spawn(
    'qemu-system-x86_64',
    [
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
      '-drive',
      'if=none,id=disk0,file=disk.qcow2,format=qcow2,cache=writeback',
      '-device',
      'virtio-blk-pci,drive=disk0,bootindex=1',
      '-drive',
      'if=none,id=cd0,media=cdrom,readonly=on',
      '-device',
      'ide-cd,drive=cd0,bus=ide.1,unit=0',
      '-netdev',
      'user,id=net0,restrict=on',
      '-device',
      'virtio-net-pci,netdev=net0,romfile=',
      '-vga',
      'std',
      '-display',
      'none',
      '-serial',
      'stdio',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  let out = '';
  const ms = await new Promise((resolve, reject) => {
    qemu.stdout.on('data', (d) => {
      out += d;
      if (out.includes(MARKER)) resolve(performance.now() - t0);
    });
    qemu.on('exit', () => reject(new Error('bare qemu exited before the marker')));
  });
  qemu.removeAllListeners('exit');
  qemu.kill('SIGKILL');
  await new Promise((r) => qemu.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

export async function run() {
  const image = join(imageDir, 'tiny-linux.qcow2');
  if (!existsSync(image)) throw new Error(`no guest image at ${image}: run bash tools/guest-image/build.sh`);
  const server = await startApi({ port: 18091, env: { VIRTUOSO_IMAGE_DIR: imageDir } });
  const agentDir = mkdtempSync(join(tmpdir(), 'vzba-'));
  let agent;
  try {
    const provider = await signUpWithToken(server.base, 'bench-vm-provider', 'provider');
    const buyer = await signUpWithToken(server.base, 'bench-vm-buyer', 'buyer');
    const joinToken = await api(server.base, provider, 'POST', '/api/agents/join-tokens', {});
    agent = spawn(
      process.execPath,
      [
        'apps/provider-agent/dist/main.js',
        '--frontend',
        server.base,
        '--join',
        joinToken.token,
        '--data',
        agentDir,
        '--port',
        '17191',
        '--console-port',
        '17192',
      ],
      { cwd: repo, stdio: 'ignore' },
    );
    const joined = await waitFor(
      async () => (await api(server.base, provider, 'GET', `/api/agents/join-tokens/${joinToken.id}`)).agent,
      30_000,
      'the agent to join',
    );
    const f = joined.facts;
    const tiny = (await api(server.base, buyer, 'GET', '/api/catalog')).find((c) => c.preconfigured);
    const VMS = 5;
    const speed = Math.floor(Math.min(f.bogomips / VMS, f.bogomips / Math.max(1, f.cpus)));
    const memory = Math.min(f.memoryMb, 4096);
    const storage = Math.min(f.freeDiskMb, 10_000);
    if (speed < 1 || memory < VMS * tiny.memory || storage < VMS * tiny.disk) {
      throw new Error(
        `this machine is too small for ${VMS} ${tiny.name} machines (each ${tiny.memory} MB of memory and ${tiny.disk} MB of disk): ` +
          `the agent measured ${f.bogomips} bogomips, ${f.memoryMb} MB of memory and ${f.freeDiskMb} MB of free disk`,
      );
    }
    console.log(
      `agent facts: ${f.bogomips} bogomips over ${f.cpus} CPUs, ${f.memoryMb} MB memory, ${f.freeDiskMb} MB free disk, ${f.accelerator}; machines of ${speed} bogomips`,
    );
    const host = await api(server.base, provider, 'POST', '/api/hosts', {
      name: 'bench-host',
      processor: 'QEMU TCG',
      agentId: joined.agentId,
      speed: f.bogomips,
      speedUnit: 1000,
      speedUnitPrice: '0.00001',
      memory,
      memoryUnit: 4,
      memoryUnitPrice: '0.00001',
      runningUnitAmount: 3600,
      storage,
      storageUnit: 100,
      storageUnitPrice: '0.01',
      storageAmount: 30,
      connectionSpeed: 'loopback',
    });
    await sleep(1500); // settle: first heartbeat, page cache
    const idleRss = rssMb(agent.pid);

    const register = async (n) => {
      const m = await api(server.base, buyer, 'POST', '/api/machines', {
        name: `bench-${n}`,
        processor: tiny.processor,
        speed,
        os: tiny.os,
        memory: tiny.memory,
        disk: tiny.disk,
        askedStoragePerMonth: '1000',
        askedRunningPerHour: '1000',
        configurationId: tiny.id,
      });
      // A preconfigured machine is registered at its catalog size; its speed may then be edited.
      if (m.speed !== speed) await api(server.base, buyer, 'PATCH', `/api/machines/${m.id}`, { speed });
      return api(server.base, buyer, 'POST', `/api/machines/${m.id}/store`, { hostId: host.id });
    };

    // 1. start → marker through the whole system, alternated with bare boots of the same image.
    const machine = await register(0);
    const serialLog = join(agentDir, 'machines', machine.id, 'serial.log');
    const ours = [];
    const bare = [];
    for (let round = 0; round < ROUNDS; round++) {
      bare.push(await bareBoot(image));
      const before = existsSync(serialLog) ? readFileSync(serialLog).length : 0;
      const t0 = performance.now();
      await api(server.base, buyer, 'POST', `/api/machines/${machine.id}/start`);
      ours.push(
        await waitFor(
          () => (existsSync(serialLog) && readFileSync(serialLog).subarray(before).includes(MARKER) ? performance.now() - t0 : 0),
          60_000,
          'the serial marker',
        ),
      );
      await api(server.base, buyer, 'POST', `/api/machines/${machine.id}/stop`, undefined).catch(() => {});
    }
    const ratio = median(ours) / median(bare);
    console.log(`start request → serial marker, ${ROUNDS} rounds: ours median ${median(ours).toFixed(0)} ms [${ours.map((x) => x.toFixed(0)).join(', ')}]`);
    console.log(`bare qemu-system-x86_64 boot of the same image:      median ${median(bare).toFixed(0)} ms [${bare.map((x) => x.toFixed(0)).join(', ')}]`);
    console.log(`ratio ${ratio.toFixed(3)} (goal ≤ 1.05)`);

    // 2. agent memory with 0 and with 5 running VMs.
    // The timed machine and four more: the host holds five machines of a fifth of its bogomips.
    const five = [machine];
    for (let n = 1; n < VMS; n++) five.push(await register(n));
    for (const m of five) await api(server.base, buyer, 'POST', `/api/machines/${m.id}/start`);
    await sleep(3000);
    const busyRss = rssMb(agent.pid);
    console.log(`provider agent resident memory: ${idleRss.toFixed(1)} MB with 0 VMs, ${busyRss.toFixed(1)} MB with 5 running VMs`);
    for (const m of five) {
      const now = await api(server.base, buyer, 'GET', `/api/machines/${m.id}`);
      if (now.state === 'running') await api(server.base, buyer, 'POST', `/api/machines/${m.id}/stop`).catch(() => {});
      await api(server.base, buyer, 'DELETE', `/api/machines/${m.id}`).catch(() => {});
    }
  } finally {
    agent?.kill('SIGTERM');
    if (agent) await new Promise((r) => agent.once('exit', r));
    await server.stop();
    rmSync(agentDir, { recursive: true, force: true });
  }
}
