// Guest networking (docs/ARCHITECTURE.md §11): two tiny-linux guests of one buyer on two provider
// agents on this machine, each figure against its floor in the same run:
//  1. TCP throughput from guest alpha (agent A) to guest beta (agent B) across the buyer's private
//     segment (VDE switch → vde_plug over the hub's ssh → VDE switch) ÷ the same two guests over
//     QEMU's plain user networking with a port forward (alpha → 10.0.2.2:<beta's forwarded port>,
//     i.e. the host's loopback → beta's hostfwd). TCG limits both: the ratio says what the segment
//     costs, the absolute figures only what this machine does.
//  2. Latency: ping from alpha to beta across the segment (two hosts) ÷ ping from alpha to gamma,
//     a third guest on alpha's own host and switch (no ssh on the path).
// Every command runs in the guests over ssh through their forwarded ports, as a buyer would.
// BENCH_NETWORK_MB (default 16) megabytes per transfer (received into the guest's RAM), BENCH_NETWORK_ROUNDS
// (5) rounds, medians.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { api, freePort, repo, signUpWithToken, startApi } from './api-server.mjs';

export const name = 'network';

const execFileP = promisify(execFile);
const MB = Number(process.env.BENCH_NETWORK_MB ?? 16);
const ROUNDS = Number(process.env.BENCH_NETWORK_ROUNDS ?? 5);
const PINGS = 20;
const LISTEN_PORT = 5001;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function waitFor(check, timeoutMs, what, everyMs = 200) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

function startAgent(label, frontend, joinToken, portRange) {
  const dataDir = mkdtempSync(join(tmpdir(), `vzbn-${label}-`));
  return Promise.all([freePort(), freePort(), freePort()]).then(([port, consolePort, sshPort]) => {
    const logs = process.env.BENCH_AGENT_LOGS ? 'inherit' : 'ignore';
    const child = spawn(
      process.execPath,
      [
        'apps/provider-agent/dist/main.js',
        ...['--frontend', frontend, '--join', joinToken, '--data', dataDir, '--port', String(port)],
        ...['--console-port', String(consolePort), '--ssh-port', String(sshPort), '--port-range', portRange, '--outbound', 'allow'],
      ],
      { cwd: repo, stdio: ['ignore', logs, logs] },
    );
    return {
      label,
      dataDir,
      async stop() {
        if (child.exitCode === null) {
          child.kill('SIGTERM');
          await new Promise((r) => child.once('exit', r));
        }
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  });
}

export async function run() {
  const server = await startApi({ port: 18093 });
  const scratch = mkdtempSync(join(tmpdir(), 'vzbn-scratch-'));
  const agents = [];
  const machines = [];
  let buyer;
  try {
    const provider = await signUpWithToken(server.base, 'bench-net-provider', 'provider');
    buyer = await signUpWithToken(server.base, 'bench-net-buyer', 'buyer');
    const key = join(scratch, 'buyer');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    await api(server.base, buyer, 'POST', '/api/account/ssh-keys', { name: 'bench', publicKey: readFileSync(`${key}.pub`, 'utf8').trim() });

    const hosts = {};
    for (const [label, range] of [
      ['A', '23000-23009'],
      ['B', '23100-23109'],
    ]) {
      const joinToken = await api(server.base, provider, 'POST', '/api/agents/join-tokens', {});
      agents.push(await startAgent(label, server.base, joinToken.token, range));
      const joined = await waitFor(
        async () => (await api(server.base, provider, 'GET', `/api/agents/join-tokens/${joinToken.id}`)).agent,
        30_000,
        `agent ${label} to join`,
      );
      const f = joined.facts;
      hosts[label] = await api(server.base, provider, 'POST', '/api/hosts', {
        name: `bench-net-${label}`,
        processor: 'QEMU TCG',
        agentId: joined.agentId,
        speed: f.bogomips,
        speedUnit: 1000,
        speedUnitPrice: '0.00001',
        memory: Math.min(f.memoryMb, 4096),
        memoryUnit: 4,
        memoryUnitPrice: '0.00001',
        runningUnitAmount: 3600,
        storage: Math.min(f.freeDiskMb, 20_000),
        storageUnit: 100,
        storageUnitPrice: '0.01',
        storageAmount: 30,
        connectionSpeed: 'loopback',
      });
    }
    await waitFor(
      async () => {
        const list = await api(server.base, provider, 'GET', '/api/hosts');
        return Object.values(hosts).every((h) => list.find((x) => x.id === h.id)?.network?.vnet);
      },
      30_000,
      'both hosts reporting they carry private networks',
    );

    const catalog = await (await fetch(`${server.base}/api/catalog`)).json();
    const tiny = catalog.find((entry) => entry.name === 'tiny-linux');
    const guests = {};
    for (const [guest, host] of [
      ['alpha', 'A'],
      ['beta', 'B'],
      ['gamma', 'A'],
    ]) {
      let m = await api(server.base, buyer, 'POST', '/api/machines', {
        name: guest,
        processor: 'x',
        speed: 500,
        os: 'tiny-linux',
        memory: 128,
        disk: 64,
        askedStoragePerMonth: '1000',
        askedRunningPerHour: '1000',
        configurationId: tiny.id,
      });
      machines.push(m.id);
      m = await api(server.base, buyer, 'POST', `/api/machines/${m.id}/store`, { hostId: hosts[host].id });
      // beta also forwards the benchmark's port: the user-networking path goes through it.
      if (guest === 'beta') await api(server.base, buyer, 'PUT', `/api/machines/${m.id}/network/ports`, { ports: [LISTEN_PORT] });
      guests[guest] = m;
    }
    const t0 = Date.now();
    await Promise.all(Object.values(guests).map((m) => api(server.base, buyer, 'POST', `/api/machines/${m.id}/start`)));
    const net = {};
    const ssh = async (guest, command) => {
      const n = net[guest];
      const port = n.forwards.find((f) => f.guestPort === 22).hostPort;
      const opts = [
        '-i',
        key,
        '-p',
        String(port),
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'BatchMode=yes',
        '-o',
        'LogLevel=ERROR',
      ];
      return (await execFileP('ssh', [...opts, `root@${n.publicHost}`, command], { timeout: 300_000 })).stdout;
    };
    for (const guest of Object.keys(guests)) {
      net[guest] = await waitFor(
        async () => {
          const n = await api(server.base, buyer, 'GET', `/api/machines/${guests[guest].id}/network`);
          return n.sshCommand ? n : undefined;
        },
        60_000,
        `${guest}'s ssh port`,
      );
      await waitFor(async () => (await ssh(guest, 'echo up')).includes('up'), 180_000, `${guest} to take ssh`, 1000);
    }
    console.log(`three guests started and answering ssh in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // The segment has to be joined (spoke uplink to the hub) before it carries anything.
    await waitFor(async () => (await ssh('alpha', `ping -c 1 -W 2 ${net.beta.privateAddress}`)).includes('1 packets received'), 60_000, 'alpha to reach beta');

    const forwarded = net.beta.forwards.find((f) => f.guestPort === LISTEN_PORT).hostPort;
    /**
     * MB/s of one transfer alpha → target:port, timed by beta (its uptime clock) from the first byte
     * to the last (into its RAM file system: busybox's wc and dd would be the bottleneck); beta counts
     * what arrived, and a short count fails the run. (busybox nc ends when its stdin ends: the
     * listener's stdin is kept open by `tail -f /dev/null`.)
     */
    const transfer = async (target, port) => {
      await ssh(
        'beta',
        `rm -f /tmp/rx; (tail -f /dev/null | nc -l -p ${LISTEN_PORT} 2>/dev/null | { dd bs=1 count=1 of=/dev/null 2>/dev/null; s=$(cut -d' ' -f1 /proc/uptime); cat > /tmp/rx.data; e=$(cut -d' ' -f1 /proc/uptime); n=$(stat -c %s /tmp/rx.data); rm -f /tmp/rx.data; echo "$s $e $((n + 1))" > /tmp/rx.part; mv /tmp/rx.part /tmp/rx; pkill -f 'tail -f /dev/null'; } &); sleep 0.5`,
      );
      await ssh('alpha', `dd if=/dev/zero bs=65536 count=${MB * 16} 2>/dev/null | nc ${target} ${port}`);
      const [s, e, received] = (
        await waitFor(async () => (await ssh('beta', 'cat /tmp/rx 2>/dev/null')).trim() || undefined, 120_000, 'beta to count the bytes')
      )
        .split(' ')
        .map(Number);
      if (received !== MB * 1048576) throw new Error(`beta received ${received} bytes of ${MB * 1048576} from ${target}:${port}`);
      return (MB * 1.048576) / (e - s);
    };
    const segment = [];
    const userNet = [];
    for (let round = 0; round < ROUNDS; round++) {
      segment.push(await transfer(net.beta.privateAddress, LISTEN_PORT));
      userNet.push(await transfer('10.0.2.2', forwarded));
    }
    const pingAvg = async (to) => {
      const out = await ssh('alpha', `ping -c ${PINGS} -i 0.2 -W 2 ${to}`);
      const m = /= [\d.]+\/([\d.]+)\//.exec(out);
      if (!m) throw new Error(`ping printed no average: ${out}`);
      return Number(m[1]);
    };
    const across = await pingAvg(net.beta.privateAddress);
    const local = await pingAvg(net.gamma.privateAddress);

    const seg = median(segment);
    const usr = median(userNet);
    console.log(`throughput alpha (A) → beta (B), ${MB} MB per run, median of ${ROUNDS}:`);
    console.log(`  private segment across the two agents: ${seg.toFixed(1)} MB/s (runs: ${segment.map((x) => x.toFixed(1)).join(', ')})`);
    console.log(`  user networking + port forward:        ${usr.toFixed(1)} MB/s (runs: ${userNet.map((x) => x.toFixed(1)).join(', ')})`);
    console.log(`  ratio segment ÷ user networking: ${(seg / usr).toFixed(3)}`);
    console.log(
      `ping, average of ${PINGS}: alpha → beta across the segment (two hosts) ${across.toFixed(3)} ms; alpha → gamma on one switch ${local.toFixed(3)} ms; ratio ${(across / local).toFixed(2)}`,
    );
  } finally {
    for (const id of machines) await api(server.base, buyer, 'POST', `/api/machines/${id}/stop`, { force: true }).catch(() => undefined);
    for (const agent of agents) await agent.stop();
    // The agents' switches outlive the agents by design (running guests stay plugged): end them here.
    for (const agent of agents) {
      try {
        execFileSync('pkill', ['-f', `vde_switch.*${agent.dataDir}`], { stdio: 'ignore' });
      } catch {
        /* none left */
      }
    }
    await server.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}
