// Migration between two provider agents on this machine (report §7; docs/ARCHITECTURE.md §7), each
// figure against the bare tool copying the same files from the same origin sshd in the same run:
//  1. RSYNC migration with no cache at the destination ÷ raw `rsync -a` into an empty dir (goal ≤ 1.10);
//  2. SCP migration ÷ raw `scp -O -r` (goal ≤ 1.10);
//  3. RSYNC re-migration after 10 MB changed at the host the machine went to, back to a host holding
//     its cache: time and bytes sent (goals: under 2 s, under 2× the change);
//  4. the front-end's own overhead: POST → commit minus the copy the destination reports.
// The machine: a blank 1 GiB disk stored on host A, then about 200 MB of random data written into
// its qcow2 with qemu-io. The raw tools run through a key of the bench's own, appended to the
// origin agent's authorized_keys with the forced command the agent gives a migration's key, over a
// directory of hard links to the machine's files, with the ssh options of the agent's pull; the
// median of BENCH_MIGRATION_RAW_ROUNDS (3) runs each.
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { api, freePort, repo, signUpWithToken, startApi } from './api-server.mjs';

export const name = 'migration';

const ROUNDS = Number(process.env.BENCH_MIGRATION_RAW_ROUNDS ?? 3);
/** How long a machine rests (stopped, or just arrived) before the next copy of it. */
const REST_MS = 3_000;
const DISK_MB = 1024;
/** About 200 MB of data: 4 random runs of 50 MiB at spread offsets. */
const DATA = [64, 320, 576, 832].map((mb) => ({ offset: mb << 20, length: 50 << 20 }));
/** The change before the re-migration: 10 MiB, half inside the data, half over unallocated space. */
const CHANGE = [
  { offset: (64 + 10) << 20, length: 5 << 20 },
  { offset: 200 << 20, length: 5 << 20 },
];
const CHANGE_BYTES = CHANGE.reduce((n, c) => n + c.length, 0);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (bytes) => (bytes / 1e6).toFixed(1);
const ms = (x) => `${Math.round(x)} ms`;

async function waitFor(check, timeoutMs, what, everyMs = 20) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Runs a tool to completion; rejects with its stderr on a non-zero exit. Resolves with its stdout. */
function runTool(file, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${file} exited ${code}: ${err.trim().slice(-400)}`))));
  });
}

/** Writes `length` random bytes at `offset` of a qcow2 (through qemu-io, so the image stays consistent). */
function writeRandom(disk, scratch, { offset, length }) {
  const src = join(scratch, `random-${offset}`);
  writeFileSync(src, randomBytes(length));
  execFileSync('qemu-io', ['-f', 'qcow2', '-c', `write -s ${src} ${offset} ${length}`, disk], { stdio: 'ignore' });
  rmSync(src);
}

class BenchAgent {
  constructor(label, dataDir, ports) {
    Object.assign(this, { label, dataDir, ...ports });
  }

  static async start(label, frontend, joinToken) {
    const dataDir = mkdtempSync(join(tmpdir(), `vzbm-${label}-`));
    const [port, consolePort, sshPort] = [await freePort(), await freePort(), await freePort()];
    const agent = new BenchAgent(label, dataDir, { port, consolePort, sshPort });
    agent.child = spawn(
      process.execPath,
      [
        'apps/provider-agent/dist/main.js',
        '--frontend',
        frontend,
        '--join',
        joinToken,
        '--data',
        dataDir,
        '--port',
        String(port),
        '--console-port',
        String(consolePort),
        '--ssh-port',
        String(sshPort),
      ],
      { cwd: repo, stdio: ['ignore', process.env.BENCH_AGENT_LOGS ? 'inherit' : 'ignore', process.env.BENCH_AGENT_LOGS ? 'inherit' : 'ignore'] },
    );
    return agent;
  }

  machineDir(id) {
    return join(this.dataDir, 'machines', id);
  }

  async stop() {
    if (this.child.exitCode === null) {
      this.child.kill('SIGTERM');
      await new Promise((r) => this.child.once('exit', r));
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/**
 * The bare tools against one origin agent's sshd: two keys of the bench's own (one per forced
 * command, as the agent writes them) over a directory of hard links to the machine's files.
 */
class RawCopy {
  constructor(origin, machineId, scratch) {
    this.origin = origin;
    this.machineId = machineId;
    this.scratch = scratch;
    const dir = join(scratch, `raw-${origin.label}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    // The export directory: on the origin's data dir (same file system as the machine, for hard links).
    this.exportDir = join(origin.dataDir, 'bench-raw', machineId);
    rmSync(join(origin.dataDir, 'bench-raw'), { recursive: true, force: true });
    mkdirSync(this.exportDir, { recursive: true });
    for (const f of readdirSync(origin.machineDir(machineId))) {
      if (['machine.json', 'disk.qcow2', 'state.bin'].includes(f)) linkSync(join(origin.machineDir(machineId), f), join(this.exportDir, f));
    }
    const hostKey = readFileSync(join(origin.dataDir, 'ssh', 'ssh_host_ed25519_key.pub'), 'utf8')
      .trim()
      .split(/\s+/)
      .slice(0, 2)
      .join(' ');
    this.knownHosts = join(dir, 'known_hosts');
    writeFileSync(this.knownHosts, `[127.0.0.1]:${origin.sshPort} ${hostKey}\n`);
    this.keys = {};
    for (const method of ['SCP', 'RSYNC']) {
      const key = join(dir, `key-${method}`);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `bench-raw-${method}`, '-f', key]);
      const pub = readFileSync(`${key}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
      const command = method === 'RSYNC' ? `/usr/bin/rrsync -ro ${this.exportDir}` : `/usr/bin/scp -r -f ${this.exportDir}`;
      // Not a `virtuoso-migration-` comment: the agent keeps lines that are not its own.
      appendFileSync(join(origin.dataDir, 'ssh', 'authorized_keys'), `restrict,command="${command}" ${pub} bench-raw-${method}\n`);
      this.keys[method] = key;
    }
    this.dir = dir;
  }

  /** The ssh options of the agent's pull (apps/provider-agent/src/migration/pull.ts). */
  sshOptions(method) {
    return [
      '-i',
      this.keys[method],
      '-o',
      `UserKnownHostsFile=${this.knownHosts}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=3',
      '-o',
      'ServerAliveInterval=2',
      '-o',
      'ServerAliveCountMax=3',
      '-c',
      'aes128-gcm@openssh.com',
    ];
  }

  /** One copy into an empty directory; its wall time in ms. */
  async copy(method) {
    const into = join(this.dir, 'into');
    rmSync(into, { recursive: true, force: true });
    mkdirSync(into);
    const remote = `${userInfo().username}@127.0.0.1`;
    const t0 = performance.now();
    if (method === 'SCP') {
      await runTool('scp', ['-O', '-r', '-p', '-P', String(this.origin.sshPort), ...this.sshOptions('SCP'), `${remote}:${this.machineId}`, into + '/']);
    } else {
      const ssh = ['ssh', '-p', String(this.origin.sshPort), ...this.sshOptions('RSYNC')].join(' ');
      await runTool('rsync', ['-a', '-e', ssh, `${remote}:/`, join(into, this.machineId) + '/']);
    }
    const took = performance.now() - t0;
    const got = statSync(join(into, this.machineId, 'disk.qcow2')).size;
    if (got !== statSync(join(this.exportDir, 'disk.qcow2')).size) throw new Error(`raw ${method} copied ${got} bytes of disk.qcow2`);
    rmSync(into, { recursive: true, force: true });
    return took;
  }

  async median(method) {
    const runs = [];
    for (let i = 0; i < ROUNDS; i++) runs.push(await this.copy(method));
    return { median: median(runs), runs };
  }

  /**
   * Takes the bench's keys away again (the agent's own lines stay as they are). The links stay
   * until the agent's data dir goes: removing a link changes the file's ctime, which would void
   * the hashes its agent recorded at rest (a file whose identity changed is hashed again).
   */
  close() {
    const file = join(this.origin.dataDir, 'ssh', 'authorized_keys');
    const kept = readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !/ bench-raw-(SCP|RSYNC)$/.test(l));
    writeFileSync(file, kept.map((l) => l + '\n').join(''));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function run() {
  const server = await startApi({ port: 18092 });
  const scratch = mkdtempSync(join(tmpdir(), 'vzbm-scratch-'));
  const agents = [];
  try {
    const provider = await signUpWithToken(server.base, 'bench-mig-provider', 'provider');
    const buyer = await signUpWithToken(server.base, 'bench-mig-buyer', 'buyer');
    const hosts = {};
    for (const label of ['A', 'B']) {
      const joinToken = await api(server.base, provider, 'POST', '/api/agents/join-tokens', {});
      const agent = await BenchAgent.start(label, server.base, joinToken.token);
      agents.push(agent);
      const joined = await waitFor(
        async () => (await api(server.base, provider, 'GET', `/api/agents/join-tokens/${joinToken.id}`)).agent,
        30_000,
        `agent ${label} to join`,
      );
      agent.agentId = joined.agentId;
      const f = joined.facts;
      const host = await api(server.base, provider, 'POST', '/api/hosts', {
        name: `bench-mig-${label}`,
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
      hosts[label] = { ...host, agent };
      if (f.freeDiskMb < 4 * DISK_MB) throw new Error(`agent ${label} measured ${f.freeDiskMb} MB of free disk; the benchmark needs ${4 * DISK_MB}`);
    }
    // The transfer endpoints arrive with the agents' heartbeats.
    await sleep(1500);

    let machine = await api(server.base, buyer, 'POST', '/api/machines', {
      name: 'bench-traveller',
      processor: 'Pentium3',
      speed: 500,
      os: 'linux',
      memory: 64,
      disk: DISK_MB,
      askedStoragePerMonth: '1000',
      askedRunningPerHour: '1000',
    });
    machine = await api(server.base, buyer, 'POST', `/api/machines/${machine.id}/store`, { hostId: hosts.A.id });
    /**
     * The data is written as a guest would, then the machine runs and stops (the blank disk's
     * QEMU sits in its BIOS): a machine at rest, whose files its agent hashes in the background
     * (rest-hashes.ts); the bench lets it rest REST_MS before anything else reads its files.
     */
    const comeToRest = async () => {
      machine = await api(server.base, buyer, 'POST', `/api/machines/${machine.id}/start`);
      machine = await api(server.base, buyer, 'POST', `/api/machines/${machine.id}/stop`, { force: true });
      await sleep(REST_MS);
    };
    // The raw tools' links are made before the machine comes to rest (a link changes a file's ctime).
    const rawA = new RawCopy(hosts.A.agent, machine.id, scratch);
    const diskA = join(hosts.A.agent.machineDir(machine.id), 'disk.qcow2');
    for (const run of DATA) writeRandom(diskA, scratch, run);
    await comeToRest();
    console.log(
      `machine: ${DISK_MB} MiB qcow2 with ${mb(DATA.reduce((n, d) => n + d.length, 0))} MB of random data; the file is ${mb(statSync(diskA).size)} MB`,
    );

    /** POST migrate → committed (and both agents acknowledged): the figures of one migration. */
    // Polled every 250 ms, not faster: the copy shares this machine's cores with the bench. The
    // commit's moment is the API's own finishedAt (same clock), not when the poll sees it.
    const migrate = async (to, method) => {
      const postedAt = Date.now();
      const started = await api(server.base, buyer, 'POST', `/api/machines/${machine.id}/migrate`, { hostId: hosts[to].id, method });
      const done = await waitFor(
        async () => {
          const m = await api(server.base, buyer, 'GET', `/api/machines/${machine.id}/migration`);
          if (m.id !== started.id) return null;
          if (m.phase === 'rolled-back') throw new Error(`the ${method} migration rolled back: ${m.error}`);
          return m.phase === 'committed' && m.cleanedUp ? m : null;
        },
        120_000,
        `the ${method} migration to commit`,
        250,
      );
      machine = await api(server.base, buyer, 'GET', `/api/machines/${machine.id}`);
      const committedMs = Date.parse(done.finishedAt) - postedAt;
      // BENCH_MIGRATION_LOG=1: the migration's log, timed from the POST (where the time goes).
      if (process.env.BENCH_MIGRATION_LOG) for (const l of done.log) console.log(`  +${Date.parse(l.at) - postedAt} ms ${l.text.slice(0, 160)}`);
      return { method, to, committedMs, transferMs: done.transferMs, bytes: done.bytesTransferred, bytesTotal: done.bytesTotal, version: done.toVersion };
    };
    const describe = (m) =>
      `${m.method} → ${m.to}: POST → commit ${ms(m.committedMs)}, ` +
      `copy as the destination reports it ${ms(m.transferMs)}, ${mb(m.bytes)} MB received of ${mb(m.bytesTotal)} MB; front-end overhead ${ms(m.committedMs - m.transferMs)}`;
    const ratio = (what, ours, raw) => `${what} ${(ours / raw).toFixed(3)}`;

    // 1. RSYNC A → B, no cache at B.
    const rawRsync = await rawA.median('RSYNC');
    rawA.close();
    const rsync = await migrate('B', 'RSYNC');
    console.log(describe(rsync));
    console.log(`raw rsync -a into an empty dir, median of ${ROUNDS}: ${ms(rawRsync.median)} [${rawRsync.runs.map(ms).join(', ')}]`);
    console.log(
      `RSYNC (no cache) ÷ raw rsync: ${ratio('copy', rsync.transferMs, rawRsync.median)}, ${ratio('POST → commit', rsync.committedMs, rawRsync.median)} (goal ≤ 1.10)`,
    );

    // 2. SCP B → A (A holds a cache now; scp does not use it). The machine just arrived at B: it rests.
    const rawB = new RawCopy(hosts.B.agent, machine.id, scratch);
    await sleep(REST_MS);
    const rawScp = await rawB.median('SCP');
    rawB.close();
    const scp = await migrate('A', 'SCP');
    console.log(describe(scp));
    console.log(`raw scp -O -r, median of ${ROUNDS}: ${ms(rawScp.median)} [${rawScp.runs.map(ms).join(', ')}]`);
    console.log(`SCP ÷ raw scp: ${ratio('copy', scp.transferMs, rawScp.median)}, ${ratio('POST → commit', scp.committedMs, rawScp.median)} (goal ≤ 1.10)`);

    // 3. 10 MiB changed at A, RSYNC A → B, which holds the machine's cache since it left B.
    const diskBack = join(hosts.A.agent.machineDir(machine.id), 'disk.qcow2');
    await sleep(REST_MS);
    for (const c of CHANGE) writeRandom(diskBack, scratch, c);
    await comeToRest();
    const back = await migrate('B', 'RSYNC');
    console.log(describe(back));
    console.log(
      `RSYNC re-migration after ${mb(CHANGE_BYTES)} MB changed: ${ms(back.committedMs)} POST → commit (goal under 2000 ms), ` +
        `${mb(back.bytes)} MB sent = ${(back.bytes / CHANGE_BYTES).toFixed(2)}× the change (goal under 2×)`,
    );
    console.log(
      `front-end overhead (POST → commit minus the copy): RSYNC ${ms(rsync.committedMs - rsync.transferMs)}, SCP ${ms(scp.committedMs - scp.transferMs)}, RSYNC back ${ms(back.committedMs - back.transferMs)}`,
    );
  } finally {
    for (const a of agents) await a.stop().catch(() => {});
    await server.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}
