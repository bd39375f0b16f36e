// How many provider agents one API replica holds (docs/ARCHITECTURE.md §12 "Outgrowing one machine"):
// a simulator of agents speaking the real protocol, no QEMU. Each simulated agent is made as a
// provider makes one: a join token through the API, the join (POST /api/agents/join, with facts),
// a host for it (POST /api/hosts); BENCH_AGENTS_VMS (8) running machines are stored on each host
// (written straight into the database: storing them through the API would need real agents), and
// every heartbeat reports them with their forwarded ports, as a real agent's does. Then it beats
// like the real agent (apps/provider-agent heartbeat.ts): a SignedEnvelope (libs/contracts'
// signing, the agent's own secret, channel /api/agents/heartbeat) every HEARTBEAT_INTERVAL_MS
// (± 20 % at random, libs/contracts' nextHeartbeatDelay) after the previous one was answered, on
// the connection it keeps (as the real agent's fetch does, within the API's Keep-Alive hint).
//
// Steps of increasing N; per step, after a warm-up of two intervals (new agents' first heartbeats
// write more) and until the set-up's backlog has drained (2-s windows until one meets the goal, at
// most 60 s: "settle s"), a window of BENCH_AGENTS_SECONDS (10) s: heartbeats/s, latency p50/p95/p99/max,
// errors (non-2xx or no answer within 10 s, the agent's own timeout; of them, how many the replica
// shed: answered 503 at once, past VIRTUOSO_HEARTBEAT_CONCURRENCY in progress), and the simulator's own
// event-loop delay (p99): when that is large the simulator, not the API, was the bottleneck.
// Where the CPU went in the window: the API's CPU time per heartbeat (all replicas; with two, each
// replica's own next to it: its CPU ÷ the heartbeats it answered), how much of a core each
// replica's main thread used (its event loop: near 1.00 it is saturated; well below while
// heartbeats wait, they wait for something else — sqlite3's thread, a lock), and how many of the machine's
// cores were busy — the API replicas, the simulator, and the rest (PostgreSQL, anything else
// running). When the machine's cores are all busy, a missed step says more about the machine
// (the simulator and PostgreSQL share its cores with the replicas) than about a replica.
// A mode stops at the first step with p95 ≥ 100 ms or more than 1 % errors in two windows running. Modes (BENCH_AGENTS_MODES):
//   sqlite      one replica on SQLite
//   postgres    one replica on PostgreSQL (a private cluster, tools/postgres/cluster.mjs)
//   postgres-2  a second replica on the same database; the simulator splits the agents between the
//               two directly (every other agent). Its steps start at the largest N one replica held.
// Then: the largest N with p95 < 100 ms per mode, and the ratio two replicas ÷ one.
// BENCH_AGENTS_STEPS (comma-separated N), BENCH_AGENTS_QUICK=1 (a smoke test: small steps, short
// windows), BENCH_AGENTS_PROFILE=<dir> (a CPU profile of every API process, written at its stop),
// BENCH_AGENTS_REPLICA_CPU=<share of a core> (each replica capped at it by the kernel's CPU
// controller, tools/bench/cpu-cap.mjs; root): on a machine of few cores the simulator and
// PostgreSQL take the cores a second replica would use, so uncapped two replicas cannot show what
// they hold on machines of their own; capped, each stands for such a machine, and the rest of the
// machine (its "rest" and "simulator" columns) must stay below its cores for the figure to hold.
import { request, Agent as HttpAgent } from 'node:http';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';
import { api, freePort, percentile, repo, signUpWithToken, startApi } from './api-server.mjs';
import { capCpu } from './cpu-cap.mjs';

export const name = 'agents';

const require = createRequire(join(repo, 'apps/api/dist/main.js'));
const QUICK = ['1', 'true', 'yes'].includes(String(process.env.BENCH_AGENTS_QUICK ?? '').toLowerCase());
const STEPS = (process.env.BENCH_AGENTS_STEPS ?? (QUICK ? '20,60' : '250,500,750,1000,1500,2000,2500,3000,4000'))
  .split(',')
  .map((n) => Number(n.trim()))
  .filter((n) => Number.isInteger(n) && n > 0);
const WINDOW_MS = Number(process.env.BENCH_AGENTS_SECONDS ?? (QUICK ? 4 : 10)) * 1000;
const VMS = Number(process.env.BENCH_AGENTS_VMS ?? 8);
const MODES = (process.env.BENCH_AGENTS_MODES ?? 'sqlite,postgres,postgres-2').split(',').map((m) => m.trim());
const PROFILE_DIR = process.env.BENCH_AGENTS_PROFILE;
const REPLICA_CPU = process.env.BENCH_AGENTS_REPLICA_CPU ? Number(process.env.BENCH_AGENTS_REPLICA_CPU) : null;
const P95_GOAL_MS = 100;
const MAX_ERROR_RATE = 0.01;
const AGENTS_PER_PROVIDER = 500;
const SETUP_CONCURRENCY = 8;
const HEARTBEAT_TIMEOUT_MS = 10_000;
/** Longest wait for a step's set-up backlog to drain before its window. */
const SETTLE_MS = 60_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function run() {
  const { AGENT_ID_HEADER, HEARTBEAT_INTERVAL_MS, HEARTBEAT_PATH, nextHeartbeatDelay, sign } = require('@virtuoso/contracts');
  const results = {};
  console.log(
    `${VMS} running machines per agent, a heartbeat every ${HEARTBEAT_INTERVAL_MS} ms each; steps ${STEPS.join(', ')}; ` +
      `${WINDOW_MS / 1000} s measured per step; goal p95 < ${P95_GOAL_MS} ms` +
      (REPLICA_CPU === null ? '' : `; each API replica capped at ${REPLICA_CPU} of a core`),
  );
  const env = {
    VIRTUOSO_QUOTA_HOSTS: '1000000',
    VIRTUOSO_BCRYPT_COST: '4',
    ...(process.env.BENCH_AGENTS_NO_DAEMONS ? { VIRTUOSO_RECONCILE_INTERVAL_SECONDS: '3600', VIRTUOSO_NETWORK_SYNC_INTERVAL_SECONDS: '3600' } : {}),
  };
  if (MODES.includes('sqlite')) {
    const a = await startReplica('sqlite', env);
    const fleet = new Fleet({ sign, AGENT_ID_HEADER, HEARTBEAT_INTERVAL_MS, HEARTBEAT_PATH, nextHeartbeatDelay }, [a], {
      dbPath: join(a.dataDir, 'virtuoso.sqlite'),
    });
    try {
      results.sqlite = await steps('one replica, SQLite', fleet, STEPS);
    } finally {
      await fleet.close();
      await a.stop();
    }
  }
  if (MODES.includes('postgres') || MODES.includes('postgres-2')) {
    const { startCluster } = await import('../postgres/cluster.mjs');
    const cluster = await startCluster({ label: 'virtuoso-bench-agents' });
    const replicas = [];
    let second = null;
    let fleet;
    try {
      await cluster.createDatabase('bench');
      const pgEnv = { ...env, VIRTUOSO_DATABASE_URL: cluster.url('bench') };
      replicas.push(await startReplica('pg-a', pgEnv));
      // The second replica boots now, on an idle machine, and serves no agent until the two-replica
      // steps (started later, its boot competed with a saturated first replica and could take
      // minutes). With the leader election (docs/ARCHITECTURE.md §12) it runs no daemon meanwhile.
      if (MODES.includes('postgres-2')) {
        try {
          second = await startReplica('pg-b', pgEnv);
        } catch (error) {
          console.log(`\n-- two replicas, PostgreSQL: the second replica did not start: ${error.message}`);
        }
      }
      fleet = new Fleet({ sign, AGENT_ID_HEADER, HEARTBEAT_INTERVAL_MS, HEARTBEAT_PATH, nextHeartbeatDelay }, replicas, { databaseUrl: cluster.url('bench') });
      if (MODES.includes('postgres')) results.postgres = await steps('one replica, PostgreSQL', fleet, STEPS);
      if (MODES.includes('postgres-2')) {
        if (second) {
          replicas.push(second);
          fleet.useReplicas(replicas);
          const from = results.postgres?.best ?? 0;
          const twoSteps = STEPS.filter((n) => n >= from);
          results.postgres2 = await steps('two replicas, PostgreSQL', fleet, twoSteps.length ? twoSteps : STEPS.slice(-1));
        }
      }
    } finally {
      await fleet?.close();
      for (const replica of new Set([...replicas, ...(second ? [second] : [])])) await replica.stop();
      await cluster.stop();
    }
  }

  console.log('\nlargest N with heartbeat p95 < 100 ms:');
  const label = (r) => (r ? `${r.best ?? 'none'}${r.best !== null && r.best === r.tried ? ' (the largest step tried: more may hold)' : ''}` : 'not run');
  console.log(`  one replica, SQLite:       ${label(results.sqlite)}`);
  console.log(`  one replica, PostgreSQL:   ${label(results.postgres)}`);
  console.log(`  two replicas, PostgreSQL:  ${label(results.postgres2)}`);
  if (results.postgres?.best && results.postgres2?.best) {
    console.log(
      `  two ÷ one (PostgreSQL): ${(results.postgres2.best / results.postgres.best).toFixed(2)} (goal ≥ 1.6)` +
        (REPLICA_CPU === null ? '' : `, each replica capped at ${REPLICA_CPU} of a core`),
    );
  }
}

/** One API process; with BENCH_AGENTS_PROFILE, profiled (tools/bench/cpu-profile-preload.mjs). */
async function startReplica(label, env) {
  const port = await freePort();
  const profileFile = PROFILE_DIR ? join(PROFILE_DIR, `api-${label}-${Date.now()}.cpuprofile`) : null;
  if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
  const nodeArgs = profileFile ? ['--import', pathToFileURL(join(repo, 'tools/bench/cpu-profile-preload.mjs')).href] : [];
  const server = await startApi({ port, env: { ...env, ...(profileFile ? { BENCH_CPU_PROFILE_FILE: profileFile } : {}) }, nodeArgs });
  // Capped once up (its boot is not what is measured).
  let uncap = () => {};
  try {
    if (REPLICA_CPU !== null) uncap = capCpu(server.child.pid, label, REPLICA_CPU);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return {
    ...server,
    label,
    async stop() {
      if (profileFile && server.child.exitCode === null) {
        server.child.kill('SIGUSR2');
        await sleep(3000);
        console.log(`  CPU profile of ${label}: ${profileFile}`);
      }
      await server.stop();
      uncap();
    },
  };
}

/** Runs the steps; stops after the first one that misses the goal. */
async function steps(title, fleet, ns) {
  console.log(`\n-- ${title}`);
  console.log(
    pad([
      'agents',
      'hb/s',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'max ms',
      'errors',
      'API CPU ms/hb',
      'per replica',
      'cores API',
      'main thread',
      'simulator',
      'rest',
      'of',
      'client lag p99',
      'set-up s',
      'settle s',
    ]),
  );
  let best = null;
  let tried = null;
  for (const n of ns) {
    const setupStarted = performance.now();
    try {
      await fleet.grow(n);
    } catch (error) {
      console.log(`  could not set up ${n} agents: ${error.message}`);
      break;
    }
    const setupS = (performance.now() - setupStarted) / 1000;
    fleet.beatAll(n);
    // Two intervals: the new agents' first heartbeats (their forwarded ports written, the network
    // sync they start) and what the set-up left behind settle before the window.
    await sleep(2 * fleet.intervalMs + 1000);
    // Then until the backlog the set-up left (the new agents' first, fully checked heartbeats beside
    // the old ones') has drained: short windows until one meets the goal, for at most SETTLE_MS. A
    // step beyond what the API holds never drains, and is measured after SETTLE_MS all the same.
    const settleStarted = performance.now();
    while (performance.now() - settleStarted < SETTLE_MS) {
      const probe = await fleet.measure(2000);
      if (probe.count > 0 && probe.errors === 0 && probe.p95 < P95_GOAL_MS) break;
    }
    const settleS = (performance.now() - settleStarted) / 1000;
    tried = n;
    const meets = (m) => m.count > 0 && m.p95 < P95_GOAL_MS && m.errors <= MAX_ERROR_RATE * (m.count + m.errors);
    // A step that misses is measured once more: on a machine busy with other work, a spike of
    // theirs should not end the run; it misses only when both windows do.
    let m = await fleet.measure(WINDOW_MS);
    if (!meets(m)) {
      console.log(row(n, m, setupS, settleS) + '  (measured again)');
      m = await fleet.measure(WINDOW_MS);
    }
    const ok = meets(m);
    console.log(row(n, m, setupS, settleS) + (ok ? '' : '  ← misses the goal'));
    if (!ok) break;
    best = n;
  }
  return { best, tried };
}

function row(n, m, setupS, settleS) {
  return pad([
    n,
    (m.count / (WINDOW_MS / 1000)).toFixed(0),
    fmt(m.p50),
    fmt(m.p95),
    fmt(m.p99),
    fmt(m.max),
    m.errors ? `${m.errors}${m.shed ? ` (${m.shed} shed: 503)` : ''}${m.firstError ? ` (${m.firstError})` : ''}` : '0',
    fmt(m.apiCpuMs / (m.count + m.errors)),
    m.perReplica.length > 1 ? m.perReplica.map((r) => fmt(r.cpuMs / r.heartbeats)).join(' / ') : '',
    fmt2(m.apiCpuMs / m.wallMs),
    m.perReplica.map((r) => fmt2(r.mainMs / m.wallMs)).join(' / '),
    fmt2(m.simulatorCpuMs / m.wallMs),
    fmt2(Math.max(0, m.machine.busyCores - (m.apiCpuMs + m.simulatorCpuMs) / m.wallMs)),
    m.machine.cores,
    fmt(m.lagP99),
    setupS.toFixed(1),
    settleS.toFixed(1),
  ]);
}

const fmt2 = (v) => (v === undefined || v === null || Number.isNaN(v) ? '-' : v.toFixed(2));
const fmt = (v) => (v === undefined || v === null || Number.isNaN(v) ? '-' : v.toFixed(1));
const pad = (cells) => cells.map((c) => String(c).padStart(9)).join(' ');

/** The simulated agents of one run, their providers and buyer, and the API replicas they beat against. */
class Fleet {
  constructor(protocol, replicas, database) {
    this.protocol = protocol;
    this.intervalMs = protocol.HEARTBEAT_INTERVAL_MS;
    this.replicas = replicas;
    this.database = database;
    this.agents = [];
    this.providers = [];
    /** The window being measured: { samples, errors, shed, firstError, inFlight }, or null. */
    this.window = null;
    this.closed = false;
    this.useReplicas(replicas);
  }

  /**
   * Splits the agents between `replicas` (every other agent). Each agent keeps its own connection
   * between heartbeats, as the real agent's fetch does: the API's Keep-Alive hint (15 s) outlasts
   * the longest wait between heartbeats.
   */
  useReplicas(replicas) {
    this.replicas = replicas;
    this.agents.forEach((agent, i) => {
      const base = replicas[i % replicas.length].base;
      if (agent.base === base && agent.http) return;
      agent.http?.destroy();
      agent.base = base;
      agent.http = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    });
  }

  async dataSource() {
    if (this.ds) return this.ds;
    const { DataSource } = require('typeorm');
    const { dataSourceOptions } = require('./database/data-source-options.js');
    const options = dataSourceOptions({ dbPath: this.database.dbPath ?? '', databaseUrl: this.database.databaseUrl ?? '' });
    // The API made (or migrated) the schema: this connection only writes rows.
    this.ds = new DataSource({ ...options, synchronize: false, migrationsRun: false, ...(options.type === 'sqlite' ? { enableWAL: true } : {}) });
    await this.ds.initialize();
    if (options.type === 'sqlite') await this.ds.query('PRAGMA busy_timeout = 30000');
    return this.ds;
  }

  /** Makes agents (and their providers, hosts and machines) until there are `n`. */
  async grow(n) {
    const base = this.replicas[0].base;
    if (!this.buyer) {
      const token = await signUpWithToken(base, `bench-agents-buyer`, 'buyer');
      this.buyer = { token, id: (await api(base, token, 'GET', '/api/auth/me')).id };
    }
    while (this.providers.length * AGENTS_PER_PROVIDER < n) {
      this.providers.push(await signUpWithToken(base, `bench-agents-p${this.providers.length}`, 'provider'));
    }
    const made = [];
    let next = this.agents.length;
    const worker = async () => {
      while (next < n) {
        const index = next++;
        made.push(await this.makeAgent(index, this.replicas[index % this.replicas.length].base));
      }
    };
    await Promise.all(Array.from({ length: SETUP_CONCURRENCY }, worker));
    if (made.length) await this.storeMachines(made);
    made.sort((a, b) => a.index - b.index);
    this.agents.push(...made);
  }

  async makeAgent(index, base) {
    const provider = this.providers[Math.floor(index / AGENTS_PER_PROVIDER)];
    const token = await retried(() => api(base, provider, 'POST', '/api/agents/join-tokens', {}));
    const facts = {
      bogomips: 20_000,
      cpus: 8,
      memoryMb: 65_536,
      freeDiskMb: 500_000,
      accelerator: 'kvm',
      agentVersion: '0.1.0',
      hostname: `bench-host-${index}`,
      network: { publicHost: '127.0.0.1', portRange: { first: 20_000, last: 20_999 }, portsInUse: VMS, outbound: 'allow', vnet: false },
    };
    const joined = await retried(async () => {
      const res = await fetch(`${base}/api/agents/join`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ joinToken: token.token, agentHost: '127.0.0.1', agentPort: token.agentPort, consolePort: token.consolePort, facts }),
      });
      if (!res.ok) throw new Error(`POST /api/agents/join: ${res.status} ${await res.text()}`);
      return res.json();
    });
    const host = await retried(() =>
      this.madeOnce(base, provider, `bench-host-${index}`, {
        processor: 'bench',
        agentId: joined.agentId,
        speed: facts.bogomips,
        speedUnit: 1000,
        speedUnitPrice: '0.00001',
        memory: 32_768,
        memoryUnit: 4,
        memoryUnitPrice: '0.00001',
        runningUnitAmount: 3600,
        storage: 100_000,
        storageUnit: 100,
        storageUnitPrice: '0.01',
        storageAmount: 30,
        connectionSpeed: 'bench',
      }),
    );
    const vms = Array.from({ length: VMS }, (_, i) => ({
      machineId: randomUUID(),
      state: 'running',
      version: 3,
      media: null,
      forwards: [{ guestPort: 22, hostPort: 20_000 + i }],
    }));
    return {
      index,
      agentId: joined.agentId,
      secret: joined.secret,
      hostId: host.id,
      facts,
      vms,
      base,
      http: new HttpAgent({ keepAlive: true, maxSockets: 1 }),
      timer: null,
      running: false,
    };
  }

  /**
   * POST /api/hosts, for `retried`: an attempt that failed with a 5xx or no answer may still have
   * made the host, so a retry that finds the name taken (409) takes that host.
   */
  async madeOnce(base, provider, name, body) {
    try {
      return await api(base, provider, 'POST', '/api/hosts', { name, ...body });
    } catch (error) {
      if (!/: 409 /.test(error.message)) throw error;
      const mine = await api(base, provider, 'GET', '/api/hosts');
      const made = mine.find((host) => host.name === name);
      if (!made) throw error;
      return made;
    }
  }

  /** The agents' machines, running on their hosts, as the store and start would have left them. */
  async storeMachines(agents) {
    const ds = await this.dataSource();
    const { Machine } = require('./machines/machine.entity.js');
    const now = new Date().toISOString();
    const rows = agents.flatMap((agent) =>
      agent.vms.map((vm, i) => ({
        id: vm.machineId,
        ownerId: this.buyer.id,
        name: `bench-${agent.index}-${i}`,
        processor: 'bench',
        speed: 1000,
        os: 'linux',
        memory: 512,
        disk: 1024,
        preconfigured: false,
        image: null,
        configurationId: null,
        state: 'running',
        previousState: null,
        version: vm.version,
        revision: 1,
        askedStoragePerMonth: '10',
        askedRunningPerHour: '1',
        hostId: agent.hostId,
        storagePrice: '0.1',
        storageAmount: 30,
        runningPrice: '0.01',
        runningUnitAmount: 3600,
        macAddress: macOf(agent.index * 64 + i),
        registrationFee: '0.05',
        lastError: null,
        mediaId: null,
        storedAt: now,
        transientSince: null,
        privateAddress: null,
        forwardPorts: [],
        forwards: [],
        lastHostPorts: vm.forwards.map((f) => f.hostPort),
        createdAt: now,
        updatedAt: now,
      })),
    );
    for (let at = 0; at < rows.length; at += 200) {
      await ds
        .createQueryBuilder()
        .insert()
        .into(Machine)
        .values(rows.slice(at, at + 200))
        .execute();
    }
  }

  /**
   * Exactly the first `n` agents beat: those not beating yet start, spread over one interval; any
   * beyond `n` (a previous mode's larger step) stop.
   */
  beatAll(n) {
    this.agents.forEach((agent, i) => {
      if (i >= n) {
        agent.running = false;
        clearTimeout(agent.timer);
      } else if (!agent.running) {
        agent.running = true;
        agent.timer = setTimeout(() => this.beat(agent), Math.random() * this.intervalMs);
      }
    });
  }

  beat(agent) {
    if (this.closed || !agent.running) return;
    const { sign, HEARTBEAT_PATH, AGENT_ID_HEADER } = this.protocol;
    const hb = { agentId: agent.agentId, facts: agent.facts, vms: agent.vms, events: [] };
    const body = JSON.stringify(sign(agent.secret, agent.agentId, HEARTBEAT_PATH, hb));
    const started = performance.now();
    // A heartbeat counts in the window it started in, however late it ends.
    const window = this.window;
    if (window) window.inFlight++;
    let ended = false;
    const done = (error) => {
      if (ended) return;
      ended = true;
      const ms = performance.now() - started;
      if (window) {
        window.inFlight--;
        if (error) {
          window.errors++;
          // Answered 503 at once: the replica was recording VIRTUOSO_HEARTBEAT_CONCURRENCY already (HeartbeatAdmission).
          if (error.startsWith('503 ')) window.shed++;
          else window.firstError ??= error;
        } else window.samples.push(ms);
        window.byBase.set(agent.base, (window.byBase.get(agent.base) ?? 0) + 1);
      }
      if (!this.closed && agent.running) agent.timer = setTimeout(() => this.beat(agent), this.protocol.nextHeartbeatDelay(this.intervalMs));
    };
    const url = new URL(HEARTBEAT_PATH, agent.base);
    const req = request(
      url,
      {
        method: 'POST',
        agent: agent.http,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), [AGENT_ID_HEADER]: agent.agentId },
        timeout: HEARTBEAT_TIMEOUT_MS,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => done(res.statusCode >= 200 && res.statusCode < 300 ? null : `${res.statusCode} ${text.slice(0, 120)}`));
        res.on('error', (e) => done(e.message));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${HEARTBEAT_TIMEOUT_MS} ms`)));
    req.on('error', (e) => done(e.message));
    req.end(body);
  }

  /** Latencies of the heartbeats that start within the next `ms` (waiting for the last to end). */
  async measure(ms) {
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const cpuBefore = this.replicas.map((replica) => cpuMsOf(replica.child.pid));
    // A Node process's main thread has the thread id of the process: its event loop.
    const mainBefore = this.replicas.map((replica) => cpuMsOf(replica.child.pid, replica.child.pid));
    const simulatorBefore = process.cpuUsage();
    const machineBefore = machineCpu();
    const started = performance.now();
    const window = (this.window = { samples: [], errors: 0, shed: 0, firstError: null, inFlight: 0, byBase: new Map() });
    await sleep(ms);
    this.window = null;
    // Heartbeats started in the window may still be in flight: they count, so wait for them (each
    // ends by its timeout at the latest).
    const end = Date.now() + HEARTBEAT_TIMEOUT_MS + 2000;
    while (window.inFlight > 0 && Date.now() < end) await sleep(50);
    lag.disable();
    const wallMs = performance.now() - started;
    const simulator = process.cpuUsage(simulatorBefore);
    const machineAfter = machineCpu();
    const perReplica = this.replicas.map((replica, i) => ({
      cpuMs: cpuMsOf(replica.child.pid) - cpuBefore[i],
      mainMs: cpuMsOf(replica.child.pid, replica.child.pid) - mainBefore[i],
      heartbeats: window.byBase.get(replica.base) ?? 0,
    }));
    const apiCpuMs = perReplica.reduce((sum, replica) => sum + replica.cpuMs, 0);
    const sorted = window.samples.sort((a, b) => a - b);
    return {
      count: sorted.length,
      errors: window.errors,
      shed: window.shed,
      firstError: window.firstError,
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
      max: sorted.at(-1),
      lagP99: lag.percentile(99) / 1e6,
      apiCpuMs,
      perReplica,
      wallMs,
      simulatorCpuMs: (simulator.user + simulator.system) / 1000,
      machine: {
        cores: machineAfter.cores,
        busyCores:
          machineAfter.total > machineBefore.total
            ? ((machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total)) * machineAfter.cores
            : NaN,
      },
    };
  }

  async close() {
    this.closed = true;
    for (const agent of this.agents) clearTimeout(agent.timer);
    for (const agent of this.agents) agent.http?.destroy();
    if (this.ds?.isInitialized) await this.ds.destroy();
  }
}

/**
 * A set-up request again after a 5xx or no answer (up to 3 times): on SQLite the bench's own writes of machine
 * rows (a second writer on the file) can make an API write fail with SQLITE_BUSY meanwhile; and a
 * busy machine may time out. Never used for measured heartbeats, whose errors count.
 */
async function retried(call) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      // A 5xx, or no answer at all (undici's "fetch failed": a connection reset or refused).
      if (attempt >= 3 || !/: 5\d\d |fetch failed/.test(error.message)) throw error;
      await sleep(500 * attempt);
    }
  }
}

/**
 * CPU time (user + system) a process has used so far, from /proc (Linux): what the API spends per
 * heartbeat is steadier than its latency on a machine busy with other work.
 */
function cpuMsOf(pid, thread) {
  try {
    const fields = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8')
      .split(') ')[1]
      .split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

/** The machine's CPU time so far (Linux /proc/stat, in ticks): all of it, and the busy part (not idle, not waiting for I/O). */
function machineCpu() {
  try {
    const lines = readFileSync('/proc/stat', 'utf8').split('\n');
    const ticks = lines[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    return { total, busy: total - ticks[3] - ticks[4], cores: lines.filter((line) => /^cpu\d+ /.test(line)).length };
  } catch {
    return { total: 0, busy: 0, cores: NaN };
  }
}

/** A unique locally administered MAC address per simulated machine. */
function macOf(n) {
  const bytes = [0x52, 0x54, 0x01, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
