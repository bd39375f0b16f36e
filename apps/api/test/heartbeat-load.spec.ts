import { AGENT_ID_HEADER, sign } from '@virtuoso/contracts';
import { randomUUID } from 'node:crypto';
import { DataSource, type Logger } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentAuth } from '../src/agents/agent-auth.service';
import { HeartbeatAdmission } from '../src/agents/heartbeat-admission';
import { Agent as AgentRow } from '../src/agents/agent.entity';
import { HeartbeatStamps } from '../src/agents/heartbeat-stamps.service';
import { Reconciler, inShare } from '../src/agents/reconciler.service';
import { Database } from '../src/common/database.service';
import { APP_CONFIG } from '../src/config';
import { Metrics } from '../src/metrics/metrics.service';
import { Machine } from '../src/machines/machine.entity';
import { NetworkSync } from '../src/network/network-sync.service';
import { eventually } from './agent-process';
import { addAgentHost, startApp, type Agent, type TestApp } from './helpers';
import { testDatabase, type TestDatabase } from './test-database';

/**
 * What a heartbeat and a reconciler pass cost in statements (docs/ARCHITECTURE.md §12; the load is
 * measured by `npm run bench -- agents`): counted, not timed. A steady heartbeat is one transaction
 * and reads neither hosts nor machines; a reconciler pass reads the same number of times whatever
 * the number of hosts.
 */
const HEARTBEAT = '/api/agents/heartbeat';
const facts = { bogomips: 20_000, cpus: 8, memoryMb: 65_536, freeDiskMb: 500_000, accelerator: 'kvm', agentVersion: '0.1.0', hostname: 'load' };

interface SimulatedAgent {
  agentId: string;
  secret: string;
  hostId: string;
}

describe('heartbeats and reconciler passes at scale', () => {
  let t: TestApp;
  let database: TestDatabase;
  let provider: Agent;
  let buyerId: string;
  let statements: string[] | null = null;
  let made = 0;

  beforeAll(async () => {
    const dir = (await import('node:fs')).mkdtempSync(`${(await import('node:os')).tmpdir()}/virtuoso-load-`);
    database = await testDatabase(dir);
    t = await startApp({ config: { ...database.config, agentOfflineMs: 3_600_000, reconcileAgentsPerPass: 2 } });
    provider = await t.signUp('provider');
    buyerId = (await t.signUp('buyer')).userId;
    // Every statement the app sends, while `statements` is a list.
    const dataSource = t.app.get(DataSource);
    const logger = dataSource.logger;
    const counting: Logger = Object.create(logger);
    counting.logQuery = (query, parameters, runner) => {
      statements?.push(query);
      return logger.logQuery(query, parameters, runner);
    };
    Object.defineProperty(dataSource, 'logger', { value: counting });
  });
  afterAll(async () => {
    await t?.close();
    await database?.drop();
  });

  const counted = async (work: () => Promise<unknown>): Promise<string[]> => {
    statements = [];
    try {
      await work();
      return statements;
    } finally {
      statements = null;
    }
  };
  const transactions = (list: string[]) => list.filter((sql) => /^\s*(BEGIN|START TRANSACTION)/i.test(sql)).length;
  const nonceInserts = (list: string[]) => list.filter((sql) => /INSERT INTO "agent_nonces"/.test(sql)).length;
  const reads = (list: string[], table: string) => list.filter((sql) => /^\s*SELECT/i.test(sql) && sql.includes(`"${table}"`)).length;

  /** An agent joined as a real one joins, serving a new host of the provider. */
  async function joinAgent(): Promise<SimulatedAgent> {
    const token = await provider.post('/api/agents/join-tokens').send({});
    expect(token.status).toBe(201);
    const joined = await t
      .anonymous()
      .post('/api/agents/join')
      .send({ joinToken: token.body.token, agentHost: '127.0.0.1', agentPort: token.body.agentPort, consolePort: token.body.consolePort, facts });
    expect(joined.status).toBe(201);
    const host = await addAgentHost(provider, joined.body.agentId, { name: `load-${++made}` });
    return { agentId: joined.body.agentId, secret: joined.body.secret, hostId: host.id };
  }

  /** Machines of the buyer running on the agent's host at `version`, as a store and a start leave them (forwards not yet reported). */
  async function runMachines(agent: SimulatedAgent, count: number, version = 3): Promise<string[]> {
    const now = new Date().toISOString();
    const ids = Array.from({ length: count }, () => randomUUID());
    await t.app
      .get(DataSource)
      .getRepository(Machine)
      .insert(
        ids.map((id, i) => ({
          id,
          ownerId: buyerId,
          name: `load-${made}-${i}`,
          processor: 'load',
          speed: 1000,
          os: 'linux',
          memory: 512,
          disk: 1024,
          preconfigured: false,
          image: null,
          configurationId: null,
          state: 'running' as const,
          previousState: null,
          version,
          revision: 1,
          askedStoragePerMonth: '10',
          askedRunningPerHour: '1',
          hostId: agent.hostId,
          storagePrice: '0.1',
          storageAmount: 30,
          runningPrice: '0.01',
          runningUnitAmount: 3600,
          macAddress: `52:54:02:${[made, i, count].map((n) => (n % 256).toString(16).padStart(2, '0')).join(':')}`,
          registrationFee: '0.05',
          lastError: null,
          mediaId: null,
          storedAt: now,
          transientSince: null,
          privateAddress: null,
          forwardPorts: [],
          forwards: [],
          lastHostPorts: [],
          createdAt: now,
          updatedAt: now,
        })),
      );
    return ids;
  }

  const vmsOf = (ids: string[], version = 3, firstPort = 20_000) =>
    ids.map((machineId, i) => ({ machineId, state: 'running', version, media: null, forwards: [{ guestPort: 22, hostPort: firstPort + i }] }));
  const envelope = (agent: SimulatedAgent, vms: unknown[]) => sign(agent.secret, agent.agentId, HEARTBEAT, { agentId: agent.agentId, facts, vms, events: [] });
  const send = async (body: object) => (await t.anonymous().post(HEARTBEAT).send(body)).status;
  const forwardsOf = async (id: string) => (await t.app.get(DataSource).getRepository(Machine).findOneByOrFail({ id })).forwards;
  /** The network sync a first heartbeat starts (the agent came online) and the stamps of steady ones, written: they must not be counted. */
  const settled = async () => {
    await t.app.get(NetworkSync).runPass();
    await t.app.get(HeartbeatStamps).flush();
  };

  /** `count` agents, each with `vms` running machines, that have sent their first heartbeat (recorded and settled). */
  async function beatingAgents(count: number, vms: number): Promise<{ agents: SimulatedAgent[]; machines: string[][] }> {
    const agents: SimulatedAgent[] = [];
    const machines: string[][] = [];
    // One after the other: a machine's MAC is made from the count of agents joined.
    for (let i = 0; i < count; i++) {
      agents.push(await joinAgent());
      machines.push(await runMachines(agents[i], vms));
    }
    for (const [i, agent] of agents.entries()) expect(await send(envelope(agent, vmsOf(machines[i])))).toBe(204);
    await settled();
    return { agents, machines };
  }

  /**
   * Holds up the nonces' writes (SQLite: a transaction ahead of them in the one connection's
   * queue; PostgreSQL: the table locked against inserts) until `release`; `holding` ends after it.
   */
  async function holdNonceWrites(): Promise<{ release: () => void; holding: Promise<void> }> {
    let release!: () => void;
    const held = new Promise<void>((done) => (release = done));
    let locked!: () => void;
    const lockTaken = new Promise<void>((done) => (locked = done));
    const holding = t.app.get(Database).transaction(async (em) => {
      if (em.connection.options.type === 'postgres') await em.query('LOCK TABLE "agent_nonces" IN EXCLUSIVE MODE');
      locked();
      await held;
    });
    await lockTaken;
    return { release, holding };
  }

  it('records a steady heartbeat with its nonce (one statement, no transaction) and one read of its running machines; a replay changes nothing', async () => {
    const agent = await joinAgent();
    const ids = await runMachines(agent, 8);
    expect(await send(envelope(agent, vmsOf(ids)))).toBe(204);
    await settled();
    expect(await forwardsOf(ids[0])).toEqual([{ guestPort: 22, hostPort: 20_000 }]);

    const steady = envelope(agent, vmsOf(ids));
    const sent = await counted(async () => expect(await send(steady)).toBe(204));
    // Its nonce alone: one statement, no transaction (on SQLite in the queue of transactions, Database.alone).
    expect(transactions(sent)).toBe(0);
    expect(nonceInserts(sent)).toBe(1);
    // One SELECT of the reported machines joined to the agent's host (the forwarded ports compared).
    expect(reads(sent, 'machines')).toBe(1);
    expect(reads(sent, 'hosts')).toBe(1);
    expect(sent.length).toBeLessThanOrEqual(6);
    // The same facts and machines as stored, from an online agent: the agent's row is not written
    // (its stamp follows with other agents', HeartbeatStamps).
    expect(sent.filter((sql) => /^\s*UPDATE\s+"agents"/i.test(sql))).toEqual([]);
    await t.app.get(HeartbeatStamps).flush();

    const before = await t.app.get(DataSource).getRepository(AgentRow).findOneByOrFail({ id: agent.agentId });
    expect(await send(steady)).toBe(401);
    const after = await t.app.get(DataSource).getRepository(AgentRow).findOneByOrFail({ id: agent.agentId });
    expect(after.lastHeartbeatAt).toBe(before.lastHeartbeatAt);

    // A changed report is read and recorded again.
    expect(await send(envelope(agent, vmsOf(ids, 3, 21_000)))).toBe(204);
    expect(await forwardsOf(ids[7])).toEqual([{ guestPort: 22, hostPort: 21_007 }]);
  });

  it('records the nonces of steady heartbeats that arrive while one is being written in one statement; of one message sent twice at once, one is refused', async () => {
    const { agents, machines } = await beatingAgents(3, 2);
    const dataSource = t.app.get(DataSource);
    const postgres = dataSource.options.type === 'postgres';
    // The first nonce's write is held up until every other message waits for it.
    const { release, holding } = await holdNonceWrites();
    const burst = Array.from({ length: 24 }, (_, i) => envelope(agents[i % 3], vmsOf(machines[i % 3])));
    const twice = burst[5];
    const group = (t.app.get(AgentAuth) as unknown as { nonceGroup: { waiting: unknown[] } }).nonceGroup;
    let statuses: number[] = [];
    const sent = await counted(async () => {
      const answers = Promise.all([...burst, twice].map(send));
      // One nonce in the held write, the other 24 waiting for it.
      while (group.waiting.length < burst.length) await new Promise((done) => setTimeout(done, 10));
      release();
      await holding;
      statuses = await answers;
    });
    expect(statuses.filter((status) => status === 204)).toHaveLength(burst.length);
    expect(statuses.filter((status) => status === 401)).toHaveLength(1);
    const [{ n }] = await dataSource.query(`SELECT COUNT(*) AS n FROM "agent_nonces" WHERE "nonce" = ${postgres ? '$1' : '?'}`, [twice.nonce]);
    expect(Number(n)).toBe(1);
    // The held one alone, then the 24 that waited together (NonceGroup; nonce-group.spec.ts pins the rules down).
    expect(nonceInserts(sent)).toBe(2);
    // Without BEGIN and COMMIT (the test's hold began before the count).
    expect(transactions(sent)).toBe(0);
  });

  it('answers 503 at once, recording nothing, to a heartbeat past VIRTUOSO_HEARTBEAT_CONCURRENCY in progress; its place is free again once one is answered', async () => {
    const { agents, machines } = await beatingAgents(4, 1);
    const config = t.app.get(APP_CONFIG);
    const admission = t.app.get(HeartbeatAdmission);
    const shed = async () => (await t.app.get(Metrics).heartbeatsShed.get()).values[0]?.value ?? 0;
    const shedBefore = await shed();
    const limit = config.heartbeatConcurrency;
    config.heartbeatConcurrency = 3;
    const dataSource = t.app.get(DataSource);
    const postgres = dataSource.options.type === 'postgres';
    // The nonces' writes are held up, so three heartbeats stay in progress.
    const { release, holding } = await holdNonceWrites();
    try {
      const answers = Promise.all([0, 1, 2].map((i) => send(envelope(agents[i], vmsOf(machines[i])))));
      while (admission.inFlight < 3) await new Promise((done) => setTimeout(done, 10));
      const fourth = envelope(agents[3], vmsOf(machines[3]));
      const refused = await t.anonymous().post(HEARTBEAT).send(fourth);
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.body.message).toMatch(/recording 3 heartbeats already; this one was not recorded/);
      expect(await shed()).toBe(shedBefore + 1);
      release();
      await holding;
      expect(await answers).toEqual([204, 204, 204]);
      const [{ n }] = await dataSource.query(`SELECT COUNT(*) AS n FROM "agent_nonces" WHERE "nonce" = ${postgres ? '$1' : '?'}`, [fourth.nonce]);
      expect(Number(n)).toBe(0);
      // Answered: the places are free; the same message, never recorded, is recorded now.
      expect(admission.inFlight).toBe(0);
      expect(await send(fourth)).toBe(204);
    } finally {
      release();
      config.heartbeatConcurrency = limit;
    }
  });

  it('keeps the last quarter of VIRTUOSO_HEARTBEAT_CONCURRENCY for agents it answered lately, named in their header: one not answered yet is shed there until it is', async () => {
    const { agents, machines } = await beatingAgents(4, 1);
    const newcomer = await joinAgent();
    const newcomerMachines = await runMachines(newcomer, 1);
    const config = t.app.get(APP_CONFIG);
    const admission = t.app.get(HeartbeatAdmission);
    const limit = config.heartbeatConcurrency;
    // Four places: three open to any heartbeat, the fourth kept for agents answered lately.
    config.heartbeatConcurrency = 4;
    const named = (agent: SimulatedAgent, vms: unknown[]) => t.anonymous().post(HEARTBEAT).set(AGENT_ID_HEADER, agent.agentId).send(envelope(agent, vms));
    const status = async (request: PromiseLike<{ status: number }>) => (await request).status;
    const inFlight = (count: number) => eventually(async () => admission.inFlight >= count, `${count} heartbeats in progress (one was not admitted)`, 10_000);
    /**
     * Three heartbeats held in progress (unnamed: the open places) while `whileHeld` sends more; it
     * hands back the answers of those admitted (held too), awaited once the hold ends.
     */
    const withThreeHeld = async (whileHeld: () => Promise<Array<Promise<number>>>) => {
      const { release, holding } = await holdNonceWrites();
      try {
        const held = Promise.all([0, 1, 2].map((i) => send(envelope(agents[i], vmsOf(machines[i])))));
        await inFlight(3);
        const admitted = await whileHeld();
        release();
        await holding;
        expect(await held).toEqual([204, 204, 204]);
        return await Promise.all(admitted);
      } finally {
        release();
      }
    };
    try {
      const first = await withThreeHeld(async () => {
        const shed = await named(newcomer, vmsOf(newcomerMachines));
        expect(shed.status).toBe(503);
        expect(shed.headers['retry-after']).toBe('1');
        expect(shed.body.message).toMatch(/recording 3 heartbeats already and keeps its last places for agents it answered lately/);
        // Unnamed, an agent answered before is a stranger too; named, it takes the fourth place.
        expect(await send(envelope(agents[3], vmsOf(machines[3])))).toBe(503);
        const admitted = status(named(agents[3], vmsOf(machines[3])));
        await inFlight(4);
        return [admitted];
      });
      expect(first).toEqual([204]);
      // Answered once, with room, the newcomer counts as answered lately: it gets the kept place.
      expect(await status(named(newcomer, vmsOf(newcomerMachines)))).toBe(204);
      const second = await withThreeHeld(async () => {
        const admitted = status(named(newcomer, vmsOf(newcomerMachines)));
        await inFlight(4);
        return [admitted];
      });
      expect(second).toEqual([204]);
      expect(admission.inFlight).toBe(0);
    } finally {
      config.heartbeatConcurrency = limit;
    }
  });

  it('stamps a steady heartbeat of an online agent a moment later with others, one back from offline at once; a stamp never moves back', async () => {
    const agent = await joinAgent();
    const ids = await runMachines(agent, 1);
    const stamps = t.app.get(HeartbeatStamps);
    const stampOf = async () => (await t.app.get(DataSource).getRepository(AgentRow).findOneByOrFail({ id: agent.agentId })).lastHeartbeatAt;
    const online = async () => (await provider.get('/api/agents')).body.find((a: { agentId: string }) => a.agentId === agent.agentId).online;
    const later = () => new Promise((resolve) => setTimeout(resolve, 5));
    // Never heard from: stamped at once.
    expect(await send(envelope(agent, vmsOf(ids)))).toBe(204);
    await settled();
    const first = await stampOf();
    expect(first).not.toBeNull();
    await later();
    // Steady and online: no write of the row in the request; the stamp follows.
    const sent = await counted(async () => expect(await send(envelope(agent, vmsOf(ids)))).toBe(204));
    expect(sent.filter((sql) => /^\s*UPDATE\s+"agents"/i.test(sql))).toEqual([]);
    await stamps.flush();
    const second = await stampOf();
    expect(second! > first!).toBe(true);

    // Silent past the offline threshold (3600 s here): offline; its next heartbeat, the same report, stamps it at once.
    await t.app
      .get(DataSource)
      .getRepository(AgentRow)
      .update({ id: agent.agentId }, { lastHeartbeatAt: new Date(Date.now() - 7_200_000).toISOString() });
    expect(await online()).toBe(false);
    expect(await send(envelope(agent, vmsOf(ids)))).toBe(204);
    expect((await stampOf())! > second!).toBe(true);
    expect(await online()).toBe(true);
    await settled();

    // Another replica wrote a newer stamp meanwhile: an older pending one does not move it back.
    const newer = new Date(Date.now() + 60_000).toISOString();
    await t.app.get(DataSource).getRepository(AgentRow).update({ id: agent.agentId }, { lastHeartbeatAt: newer });
    stamps.stamp(agent.agentId, new Date().toISOString());
    await stamps.flush();
    expect(await stampOf()).toBe(newer);
  });

  it('checks and records a report that differs from the stored one in full: new facts kept, unknown fields dropped, a bad field refused', async () => {
    const agent = await joinAgent();
    const ids = await runMachines(agent, 2);
    const row = () => t.app.get(DataSource).getRepository(AgentRow).findOneByOrFail({ id: agent.agentId });
    const sendReport = (report: object) => send(sign(agent.secret, agent.agentId, HEARTBEAT, { agentId: agent.agentId, events: [], ...report }));
    expect(await sendReport({ facts, vms: vmsOf(ids) })).toBe(204);
    const stored = await row();

    // A fact changed (the machines did not): recorded.
    expect(await sendReport({ facts: { ...facts, freeDiskMb: 400_000 }, vms: vmsOf(ids) })).toBe(204);
    expect(JSON.parse((await row()).facts).freeDiskMb).toBe(400_000);

    // An unknown field on a machine: not what is stored, so checked in full, and dropped.
    const extra = vmsOf(ids).map((vm) => ({ ...vm, futureField: 1 }));
    expect(await sendReport({ facts, vms: extra })).toBe(204);
    expect((await row()).vms).toBe(stored.vms);

    // A bad field next to machines equal to the stored ones: a 400 naming it, nothing recorded.
    const before = await row();
    const bad = await t
      .anonymous()
      .post(HEARTBEAT)
      .send(sign(agent.secret, agent.agentId, HEARTBEAT, { agentId: agent.agentId, events: [], facts: { ...facts, cpus: 'many' }, vms: vmsOf(ids) }));
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('cpus');
    expect(await row()).toEqual(before);
  });

  it('records forwards cleared by a move out of running and back (a failed stop) at the next, unchanged report', async () => {
    const agent = await joinAgent();
    const [id] = await runMachines(agent, 1);
    expect(await send(envelope(agent, vmsOf([id])))).toBe(204);
    await settled();
    expect(await forwardsOf(id)).toEqual([{ guestPort: 22, hostPort: 20_000 }]);
    // What MachineStore.write does on running → stopping → running (the stop failed): forwards cleared, version kept.
    await t.app.get(DataSource).getRepository(Machine).update({ id }, { forwards: [] });
    expect(await send(envelope(agent, vmsOf([id])))).toBe(204);
    expect(await forwardsOf(id)).toEqual([{ guestPort: 22, hostPort: 20_000 }]);
  });

  it('records forwards reported before the machine reached that version once it does, though the report is the same', async () => {
    const agent = await joinAgent();
    const [id] = await runMachines(agent, 1, 2);
    // The agent reports version 3 running before the front-end has recorded the start (version 2 here).
    expect(await send(envelope(agent, vmsOf([id], 3)))).toBe(204);
    await settled();
    expect(await forwardsOf(id)).toEqual([]);
    await t.app.get(DataSource).getRepository(Machine).update({ id }, { version: 3 });
    expect(await send(envelope(agent, vmsOf([id], 3)))).toBe(204);
    expect(await forwardsOf(id)).toEqual([{ guestPort: 22, hostPort: 20_000 }]);
  });

  it('reads as often in a reconciler pass (and its orphan check) with 6 hosts as with 2', async () => {
    const reconciler = t.app.get(Reconciler);
    const pass = () => counted(() => reconciler.runPass().then(() => reconciler.reclaimOrphans()));
    const fleet: SimulatedAgent[] = [];
    const grow = async (n: number) => {
      while (fleet.length < n) {
        const agent = await joinAgent();
        const ids = await runMachines(agent, 2);
        // One VM more than the host stores: an orphan, so that the check has something to look at.
        expect(await send(envelope(agent, [...vmsOf(ids), ...vmsOf([randomUUID()], 1, 20_500)]))).toBe(204);
        fleet.push(agent);
      }
      await settled();
    };
    await grow(2);
    const few = await pass();
    await grow(6);
    const many = await pass();
    expect(many.length).toBe(few.length);
  });

  it('compares one share of the agents a scheduled pass, each share in turn: every machine at rest its agent reports otherwise is settled within as many passes as shares', async () => {
    const dataSource = t.app.get(DataSource);
    const fleet: { agent: SimulatedAgent; machineId: string }[] = [];
    for (let i = 0; i < 4; i++) {
      const agent = await joinAgent();
      const [machineId] = await runMachines(agent, 1);
      // Running at version 3 since a minute ago, and its agent says stopped (an event that never arrived).
      await dataSource.getRepository(Machine).update({ id: machineId }, { updatedAt: new Date(Date.now() - 60_000).toISOString() });
      const report = [{ machineId, state: 'stopped', version: 4, media: null, forwards: [] }];
      expect(await send(envelope(agent, report))).toBe(204);
      fleet.push({ agent, machineId });
    }
    await settled();
    const [{ n }] = await dataSource.query('SELECT COUNT(*) AS n FROM "agents"');
    const shares = Math.ceil(Number(n) / 2);
    const stateOf = async (id: string) => (await dataSource.getRepository(Machine).findOneByOrFail({ id })).state;
    const reconciler = t.app.get(Reconciler);
    let settledBefore = new Set<string>();
    for (let pass = 0; pass < shares; pass++) {
      await reconciler.runScheduledPass();
      const settledNow = new Set<string>();
      for (const { machineId } of fleet) if ((await stateOf(machineId)) === 'stopped') settledNow.add(machineId);
      const newly = fleet.filter(({ machineId }) => settledNow.has(machineId) && !settledBefore.has(machineId));
      // What this pass settled is exactly the machines of one share's agents.
      const shareOfPass = [...Array(shares).keys()].filter((index) =>
        fleet.every(
          ({ agent, machineId }) =>
            settledBefore.has(machineId) || inShare(agent.agentId, { index, of: shares }) === newly.some((f) => f.machineId === machineId),
        ),
      );
      expect(shareOfPass.length, `pass ${pass} settled ${newly.length} of ${fleet.length}`).toBeGreaterThan(0);
      settledBefore = settledNow;
    }
    expect(settledBefore.size).toBe(fleet.length);
  });
});
