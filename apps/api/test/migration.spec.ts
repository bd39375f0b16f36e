import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerEntry } from '../src/accounts/ledger-entry.entity';
import { Agent as AgentRow } from '../src/agents/agent.entity';
import { MigrationAgents } from '../src/migrations/migration-agents';
import { MigrationRecords } from '../src/migrations/migration-records';
import { MigrationWatch } from '../src/migrations/migration-watch.service';
import { Migration } from '../src/migrations/migration.entity';
import { Host } from '../src/providers/host.entity';
import { AgentProcess, eventually } from './agent-process';
import { Agent, TestApp, addAgentHost, startApp, win2000Pro } from './helpers';

type User = Agent & { handle: string; userId: string };
type MigrationBody = { id: string; phase: string; cleanedUp: boolean; toVersion: number | null; error: string | null; log: Array<{ text: string }> };

/**
 * Migration end to end (report §7.3; docs/ARCHITECTURE.md §7): the API and two REAL provider
 * agents, each with its own transfer sshd, a real blank qcow2 machine pulled by real rsync and
 * scp through a one-time forced-command key. After each outcome the invariants hold: the machine
 * lives on exactly one host, the front-end and the agents agree on its version, the reservations
 * and the ledger say where it is.
 */
describe.sequential('migration between two real agents', () => {
  let t: TestApp;
  let provider: User;
  let buyer: User;
  let operator: User;
  let a: AgentProcess;
  let b: AgentProcess;
  let hostA: { id: string; name: string };
  let hostB: { id: string; name: string };
  let machine: { id: string; name: string; version: number };
  const db = () => t.app.get(DataSource);

  beforeAll(async () => {
    t = await startApp({ listen: true });
    provider = await t.signUp('provider');
    buyer = await t.signUp('buyer');
    operator = await t.signUp('buyer');
    await t.database.query('UPDATE "users" SET "role" = ? WHERE "id" = ?', ['operator', operator.userId]);
    [a, b] = await Promise.all([
      AgentProcess.join(t, provider, { transfer: true, heartbeatMs: 300 }),
      AgentProcess.join(t, provider, { transfer: true, heartbeatMs: 300 }),
    ]);
    hostA = await addAgentHost(provider, a.agentId, { name: 'hostA' });
    hostB = await addAgentHost(provider, b.agentId, { name: 'hostB', speedUnitPrice: '.000005', storageUnitPrice: '.02' });
    await eventually(async () => {
      const rows = await db().getRepository(AgentRow).findBy({});
      return rows.length === 2 && rows.every((row) => row.transferSshPort !== null && row.lastHeartbeatAt !== null);
    }, 'both agents reporting their transfer sshd');
    machine = (await buyer.post('/api/machines').send(win2000Pro({ name: 'traveller', speed: 500, memory: 64, disk: 16 }))).body;
    const stored = await buyer.post(`/api/machines/${machine.id}/store`).send({ hostId: hostA.id });
    expect(stored.status, JSON.stringify(stored.body)).toBe(200);
    machine = stored.body;
  }, 120_000);
  afterAll(async () => {
    await Promise.all([a?.cleanup(), b?.cleanup()]);
    await t?.close();
  });

  const get = async (path = '') => (await buyer.get(`/api/machines/${machine.id}${path}`)).body;
  /** The version an agent's last heartbeat reports for the machine (undefined: it does not list it). */
  const reportedVersion = async (agent: AgentProcess) => {
    const row = await db().getRepository(AgentRow).findOneByOrFail({ id: agent.agentId });
    return (JSON.parse(row.vms) as Array<{ machineId: string; version: number; state: string }>).find(
      (vm) => vm.machineId === machine.id && vm.state !== 'absent',
    )?.version;
  };
  /** virtuoso_migrations_total of a method and outcome, as GET /api/metrics shows it (absent: 0). */
  const migrationsCounted = async (method: 'RSYNC' | 'SCP', outcome: 'committed' | 'rolled-back') => {
    const response = await operator.get('/api/metrics');
    expect(response.status).toBe(200);
    const series = `virtuoso_migrations_total{method="${method}",outcome="${outcome}"} `;
    const line = response.text.split('\n').find((l) => l.startsWith(series));
    return line ? Number(line.slice(series.length)) : 0;
  };
  const reservedSpeed = async (hostId: string) => (await db().getRepository(Host).findOneByOrFail({ id: hostId })).reservedSpeed;
  const settled = (id: string) =>
    eventually(
      async () => {
        const m = (await get('/migration')) as MigrationBody;
        return m.id === id && (m.phase === 'committed' || m.phase === 'rolled-back') && m.cleanedUp ? m : undefined;
      },
      'the migration to end and both agents to acknowledge it',
      60_000,
    );

  /** Migrates the machine to `to` by `method` through the API and checks every invariant of a commit. */
  async function migrate(
    from: { host: { id: string }; agent: AgentProcess },
    to: { host: { id: string; name: string }; agent: AgentProcess },
    method: 'RSYNC' | 'SCP',
  ) {
    const before = await get();
    const counted = await migrationsCounted(method, 'committed');
    const offers = (await buyer.get(`/api/machines/${machine.id}/migration-offers`)).body as Array<{ hostId: string; methods: string[]; storagePrice: string }>;
    const offer = offers.find((o) => o.hostId === to.host.id)!;
    expect(offer.methods).toContain(method);
    const started = await buyer.post(`/api/machines/${machine.id}/migrate`).set('If-Match', `"${before.version}"`).send({ hostId: to.host.id, method });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body).toMatchObject({ phase: 'preparing', fromVersion: before.version, method });
    expect((await get()).state).toBe('migrating');
    const m = await settled(started.body.id);
    console.log(`${method} ${before.host.name} → ${to.host.name}: ${m.log.map((l) => l.text).join('\n  ')}`);
    expect(m).toMatchObject({ phase: 'committed', toVersion: before.version + 1, error: null });
    expect(await migrationsCounted(method, 'committed')).toBe(counted + 1);
    const texts = m.log.map((l) => l.text);
    expect(
      texts.some((text) => text.startsWith(`<VMMP 1.0 REQ ${machine.id} ${before.version} 127.0.0.1 ${from.agent.sshPort} `) && text.endsWith(` ${method}>`)),
    ).toBe(true);
    expect(texts).toContain(`<VMMP 1.0 RESP ${machine.id} ${before.version + 1} SUCCESS>`);
    const after = await get();
    expect(after).toMatchObject({ state: before.state, version: before.version + 1, host: { id: to.host.id }, storagePrice: offer.storagePrice });
    // The destination's storage charge on arrival, at its price, credited to its host.
    const ledger = await db().getRepository(LedgerEntry).findBy({ machineId: machine.id, hostId: to.host.id });
    expect(ledger.some((entry) => entry.amount === offer.storagePrice)).toBe(true);
    // The buyer's statement names it as the charge on arrival.
    const statement = (await buyer.get(`/api/account/statement?kind=storage&machineId=${machine.id}`)).body as {
      items: Array<{ description: string; amount: string }>;
    };
    expect(statement.items[0]).toMatchObject({
      amount: `-${offer.storagePrice}`,
      description: `storage of ${machine.name} on ${to.host.name}, period 1, charged on arrival from ${before.host.name} (the unused part there is not refunded)`,
    });
    expect(await reservedSpeed(from.host.id)).toBe(0);
    expect(await reservedSpeed(to.host.id)).toBe(500);
    // The agents agree: the destination lists it at the new version, the origin no longer lists it and holds a cache.
    await eventually(
      async () => (await reportedVersion(to.agent)) === before.version + 1 && (await reportedVersion(from.agent)) === undefined,
      'the agents to agree',
    );
    expect(existsSync(join(from.agent.dataDir, 'caches', machine.id))).toBe(true);
    expect(existsSync(join(to.agent.dataDir, 'caches', machine.id))).toBe(false);
  }

  it('a stored machine migrates A → B by RSYNC and commits: version + 1, host B, its prices, storage charged at B, A released, A holds a cache', async () => {
    await migrate({ host: hostA, agent: a }, { host: hostB, agent: b }, 'RSYNC');
  }, 120_000);

  it('and back B → A by SCP, replacing A’s cache with the machine', async () => {
    await migrate({ host: hostB, agent: b }, { host: hostA, agent: a }, 'SCP');
  }, 120_000);

  it('a cancel rolls back: the machine is where it was, in its state and version, B released, no money moved, the agents agree', async () => {
    const before = await get();
    const entries = await db().getRepository(LedgerEntry).count();
    const [committed, rolledBack] = [await migrationsCounted('RSYNC', 'committed'), await migrationsCounted('RSYNC', 'rolled-back')];
    const started = await buyer.post(`/api/machines/${machine.id}/migrate`).send({ hostId: hostB.id, method: 'RSYNC' });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    // The destination stops answering while it prepares: the cancel comes before any copy.
    b.signal('SIGSTOP');
    try {
      const cancelled = await buyer.post(`/api/machines/${machine.id}/migration/cancel`);
      expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
      expect(cancelled.body).toMatchObject({ phase: 'rolled-back', error: 'cancelled by the buyer' });
      expect(await get()).toMatchObject({ state: before.state, version: before.version, host: { id: hostA.id } });
      expect(await reservedSpeed(hostB.id)).toBe(0);
    } finally {
      b.signal('SIGCONT');
    }
    const m = await settled(started.body.id);
    expect(m.phase).toBe('rolled-back');
    expect([await migrationsCounted('RSYNC', 'committed'), await migrationsCounted('RSYNC', 'rolled-back')]).toEqual([committed, rolledBack + 1]);
    // In the event log, the buyer moved it into migrating and, by the cancel, back out.
    const moves = (await operator.get('/api/operator/events').query({ machineId: machine.id, kind: 'machine.state', limit: 2 })).body.items as Array<{
      message: string;
      userId: string | null;
    }>;
    expect(moves.map((e) => [e.message.replace(/ \(v\d+\).*$/, ''), e.userId])).toEqual([
      [`${machine.name}: migrating → ${before.state}`, buyer.userId],
      [`${machine.name}: ${before.state} → migrating`, buyer.userId],
    ]);
    expect(await db().getRepository(LedgerEntry).count()).toBe(entries);
    await eventually(async () => (await reportedVersion(a)) === before.version && (await reportedVersion(b)) === undefined, 'the agents to agree');
    // Nothing is left exported: the machine starts on A again.
    const start = await buyer.post(`/api/machines/${machine.id}/start`);
    expect(start.status, JSON.stringify(start.body)).toBe(200);
    expect((await buyer.post(`/api/machines/${machine.id}/stop`).send({ force: true })).status).toBe(200);
  }, 120_000);

  it('a stopped machine migrates A → B by RSYNC onto the copy B kept from its earlier stay', async () => {
    expect((await get()).state).toBe('stopped');
    expect(existsSync(join(b.dataDir, 'caches', machine.id))).toBe(true);
    await migrate({ host: hostA, agent: a }, { host: hostB, agent: b }, 'RSYNC');
  }, 120_000);

  it("recovery (what boot runs): with the front-end unreachable when the destination answers, the migration is settled from the agents' status — verified at version + 1, so committed once", async () => {
    const before = await get();
    const started = await buyer.post(`/api/machines/${machine.id}/migrate`).send({ hostId: hostA.id, method: 'RSYNC' });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const server = t.app.getHttpServer();
    const port = (server.address() as AddressInfo).port;
    // The agents can no longer reach the front-end: the destination's HEARTBEATs and RESP wait.
    await new Promise<void>((done) => {
      server.close(() => done());
      server.closeAllConnections();
    });
    try {
      const agents = t.app.get(MigrationAgents);
      await eventually(
        async () => (await agents.status(hostA.id, started.body.id, machine.id))?.phase === 'verified',
        'the destination to verify its copy',
        60_000,
      );
      expect((await t.app.get(MigrationRecords).get(started.body.id)).phase).toBe('transferring');
      // A migration this (living) replica orchestrates is not recovery's; as after a restart, its orchestrator is gone.
      expect(await t.app.get(MigrationWatch).recover()).toBe(0);
      await t.app.get(DataSource).getRepository(Migration).update({ id: started.body.id }, { orchestratorReplicaId: randomUUID() });
      expect(await t.app.get(MigrationWatch).recover()).toBe(1);
      const m = await t.app.get(MigrationRecords).get(started.body.id);
      expect(m).toMatchObject({ phase: 'committed', toVersion: before.version + 1 });
      expect(m.log).toContain('the destination holds a verified copy at version');
    } finally {
      await new Promise<void>((done) => server.listen(port, '127.0.0.1', () => done()));
    }
    // The destination's RESP, resent, now changes nothing; the agents agree.
    const m = await settled(started.body.id);
    expect(m.phase).toBe('committed');
    expect(await get()).toMatchObject({ state: before.state, version: before.version + 1, host: { id: hostA.id } });
    await eventually(async () => (await reportedVersion(a)) === before.version + 1 && (await reportedVersion(b)) === undefined, 'the agents to agree');
    expect(await reservedSpeed(hostB.id)).toBe(0);
    expect(existsSync(join(b.dataDir, 'caches', machine.id))).toBe(true);
  }, 120_000);

  it('deleting the machine has its former host drop its cache', async () => {
    expect(existsSync(join(b.dataDir, 'caches', machine.id))).toBe(true);
    const deleted = await buyer.delete(`/api/machines/${machine.id}`);
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(204);
    await eventually(async () => !existsSync(join(b.dataDir, 'caches', machine.id)), "hostB's cache to be dropped");
    expect(existsSync(join(a.dataDir, 'machines', machine.id))).toBe(false);
  }, 60_000);

  it('a suspended guest migrates A → B by SCP and resumes at B where it stopped: its tick counter goes on, its MAC and private address kept', async () => {
    const tiny = ((await t.anonymous().get('/api/catalog')).body as Array<{ id: string; name: string }>).find((entry) => entry.name === 'tiny-linux')!;
    const registered = await buyer.post('/api/machines').send({
      name: 'tiny-traveller',
      processor: 'x',
      speed: 2000,
      os: 'x',
      memory: 128,
      disk: 64,
      askedStoragePerMonth: '100',
      askedRunningPerHour: '100',
      configurationId: tiny.id,
    });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    const id = registered.body.id as string;
    expect((await buyer.post(`/api/machines/${id}/store`).send({ hostId: hostA.id })).status).toBe(200);
    expect((await buyer.post(`/api/machines/${id}/start`)).status).toBe(200);
    const ticks = (log: string) => [...log.matchAll(/tick (\d+)\r?\n/g)].map((match) => Number(match[1]));
    await eventually(async () => ticks(a.serialLog(id)).includes(2), 'the guest to tick twice on A', 90_000);
    const suspended = await buyer.post(`/api/machines/${id}/suspend`);
    expect(suspended.status, JSON.stringify(suspended.body)).toBe(200);
    expect(suspended.body).toMatchObject({ state: 'suspended', version: 2 });
    const lastOnA = Math.max(...ticks(a.serialLog(id)));
    const networkOnA = (await buyer.get(`/api/machines/${id}/network`)).body as { mac: string; privateAddress: string | null };
    expect(networkOnA.privateAddress).toMatch(/^10\.\d+\.\d+\.10$/);

    const started = await buyer.post(`/api/machines/${id}/migrate`).send({ hostId: hostB.id, method: 'SCP' });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const m = await eventually(
      async () => {
        const body = (await buyer.get(`/api/machines/${id}/migration`)).body as MigrationBody;
        return (body.phase === 'committed' || body.phase === 'rolled-back') && body.cleanedUp ? body : undefined;
      },
      'the migration of the suspended machine to end',
      60_000,
    );
    expect(m).toMatchObject({ phase: 'committed', toVersion: 3 });
    expect((await buyer.get(`/api/machines/${id}`)).body).toMatchObject({ state: 'suspended', version: 3, host: { id: hostB.id } });

    const resumed = await buyer.post(`/api/machines/${id}/resume`);
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    expect(resumed.body).toMatchObject({ state: 'running', host: { id: hostB.id } });
    // Its MAC and private address went with it (guest networking, docs/ARCHITECTURE.md §11).
    expect((await buyer.get(`/api/machines/${id}/network`)).body).toMatchObject({ mac: networkOnA.mac, privateAddress: networkOnA.privateAddress });
    await eventually(async () => ticks(b.serialLog(id)).some((tick) => tick >= lastOnA + 2), 'the guest to tick on at B', 60_000);
    // It went on from where it stopped: no tick at B starts over.
    expect(Math.min(...ticks(b.serialLog(id)))).toBeGreaterThan(lastOnA);
    console.log(`suspended at tick ${lastOnA} on A, ticking at B: ${ticks(b.serialLog(id)).join(', ')}`);
    expect((await buyer.post(`/api/machines/${id}/stop`).send({ force: true })).status).toBe(200);
  }, 240_000);
});
