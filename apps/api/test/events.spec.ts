import { quote } from '@virtuoso/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingPassService } from '../src/billing/billing-pass.service';
import { ManualClock, WALL_CLOCK } from '../src/common/clock';
import { Database } from '../src/common/database.service';
import { nowIso } from '../src/common/time';
import { EventLog } from '../src/events/event-log.service';
import { Machine } from '../src/machines/machine.entity';
import { MachineStore } from '../src/machines/machine-store.service';
import { HostsService, pricesOf } from '../src/providers/hosts.service';
import { Agent, TestApp, heardFrom, startApp, virt8, win2000Pro } from './helpers';

type User = Agent & { handle: string; userId: string };
interface Event {
  id: number | null;
  at: string;
  kind: string;
  message: string;
  machineId: string | null;
  hostId: string | null;
  version: number | null;
  data: Record<string, unknown> | null;
}

const S = 1000;
const D = 86_400_000;
const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

/**
 * The event log's histories and the operator's log (docs/ARCHITECTURE.md "Event log"), in process:
 * machines are moved the way the lifecycle moves them once their agent has answered
 * (MachineStore.write in a transaction, as billing.spec.ts does), so no VM is needed.
 */
describe('event log: histories, the operator log, retention', () => {
  let t: TestApp;
  const clock = new ManualClock(T0);
  const wallClock = new ManualClock(T0);
  let provider: User;
  let buyer: User;
  let operator: User;
  let hostId: string;
  let machineId: string;

  const db = () => t.app.get(Database);
  const move = (id: string, changes: (machine: Machine) => Partial<Machine>) =>
    db().transaction(async (em) => {
      const machine = await em.findOneByOrFail(Machine, { id });
      const written = await t.app.get(MachineStore).write(em, machine, changes(machine));
      if (!written) throw new Error(`lost a race moving ${id}`);
    });
  const store = (id: string, host: string) =>
    db().transaction(async (em) => {
      const machine = await em.findOneByOrFail(Machine, { id });
      const size = { speed: machine.speed, memory: machine.memory, disk: machine.disk };
      const { storagePrice, storageAmount, runningPrice, runningUnitAmount } = quote(pricesOf(await t.app.get(HostsService).reserve(em, host, size)), size);
      const prices = { storagePrice, storageAmount, runningPrice, runningUnitAmount };
      await t.app.get(MachineStore).write(em, machine, { state: 'stored', version: 1, hostId: host, ...prices, storedAt: nowIso(t.app.get(WALL_CLOCK)) });
    });
  const history = async (agent: Agent, path: string): Promise<Event[]> => {
    const response = await agent.get(path).query({ order: 'asc', limit: 500 });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    return response.body.items;
  };

  beforeAll(async () => {
    t = await startApp({ clock, wallClock, config: { eventRetentionDays: 30 } });
    provider = await t.signUp('provider');
    buyer = await t.signUp('buyer');
    operator = await t.signUp('buyer');
    // Sign-up makes no operator: the role is the user row's (the operator tool writes it).
    await t.database.query('UPDATE "users" SET "role" = ? WHERE "id" = ?', ['operator', operator.userId]);
    hostId = (await provider.post('/api/hosts').send(virt8({ storageUnitPrice: '0.1', speedUnitPrice: '0.0001' }))).body.id;
    machineId = (await buyer.post('/api/machines').send(win2000Pro({ memory: 64, disk: 100 }))).body.id;
  });
  afterAll(() => t.close());

  it("shows a buyer their machine's life: registered, stored, started, stopped, and what each billing pass charged it, read from the ledger", async () => {
    // The recording clock moves with the billing clock: the history merges events and charges by it.
    const at = (ms: number) => {
      clock.set(ms);
      wallClock.set(ms);
    };
    at(T0 + 1 * S);
    await store(machineId, hostId);
    at(T0 + 10 * S);
    await move(machineId, () => ({ state: 'running' }));
    at(T0 + 11_000 * S);
    // One pass charges three running slices (the first was charged at the start): one history entry for the machine.
    const pass = await t.app.get(BillingPassService).runPass();
    expect(pass.charges).toBe(3);
    at(T0 + 11_001 * S);
    await move(machineId, (m) => ({ state: 'stopped', version: m.version + 1, lastError: 'the guest stopped answering' }));
    const events = await history(buyer, `/api/machines/${machineId}/events`);
    expect(events.map((e) => e.kind)).toEqual([
      'machine.created',
      'billing.charged',
      'machine.stored',
      'billing.charged',
      'machine.state',
      'billing.charged',
      'billing.charged',
      'machine.state',
    ]);
    expect(events.map((e) => e.message)).toEqual([
      expect.stringContaining('registered'),
      expect.stringMatching(/^charged [\d.]+ for fee \(1 charge\)$/),
      expect.stringMatching(/registered → stored on host virt8 \(v1\)/),
      expect.stringMatching(/^charged [\d.]+ for storage \(1 charge\)$/),
      expect.stringMatching(/stored → running \(v1\)$/),
      expect.stringMatching(/^charged [\d.]+ for running \(1 charge\)$/),
      expect.stringMatching(/^charged [\d.]+ for running \(3 charges\)$/),
      expect.stringContaining('running → stopped (v2): the guest stopped answering'),
    ]);
    // Charges are the ledger's rows, not events: no number; the events keep theirs, in order.
    expect(events.filter((e) => e.kind === 'billing.charged').every((e) => (e.id === null && e.hostId !== null) || e.message.includes('fee'))).toBe(true);
    const ids = events.filter((e) => e.id !== null).map((e) => e.id!);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(events[6]).toMatchObject({ hostId, at: new Date(T0 + 11_000 * S).toISOString(), data: { charges: 3, total: expect.any(String) } });
    // The pass itself is one billing.pass event in the operator's log, not in the machine's history.
    const passes = (await operator.get('/api/operator/events').query({ kind: 'billing.pass' })).body.items as Event[];
    expect(passes).toHaveLength(1);
    expect(passes[0]).toMatchObject({ machineId: null, data: { meters: 1, charges: 3, batches: 1, total: events[6].data!.total } });
    expect(passes[0].message).toMatch(/^billing pass: charged [\d.]+ in 3 charges over 1 meter \(1 batch, \d+ ms\)$/);

    // Newest first by default, paged over both sources: every entry once, in order.
    const first = await buyer.get(`/api/machines/${machineId}/events`).query({ limit: 3 });
    expect(first.body.items.map((e: Event) => e.message)).toEqual(
      events
        .slice(-3)
        .reverse()
        .map((e) => e.message),
    );
    const pages: Event[] = [...first.body.items];
    let cursor: string | null = first.body.next;
    while (cursor !== null) {
      const response = await buyer.get(`/api/machines/${machineId}/events`).query({ limit: 3, cursor });
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      pages.push(...response.body.items);
      cursor = response.body.next;
    }
    expect(pages).toEqual([...events].reverse());
    // Ascending pages of 2 too.
    const ascending: Event[] = [];
    cursor = null;
    do {
      const response = await buyer.get(`/api/machines/${machineId}/events`).query({ order: 'asc', limit: 2, ...(cursor === null ? {} : { cursor }) });
      ascending.push(...response.body.items);
      cursor = response.body.next;
    } while (cursor !== null);
    expect(ascending).toEqual(events);
    const bad = await buyer.get(`/api/machines/${machineId}/events`).query({ cursor: '12' });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.fields)).toEqual(['cursor']);
  });

  it("shows a provider their host's history: machines arrived and left", async () => {
    await move(machineId, (m) => ({ state: 'deleted', version: m.version }));
    const events = await history(provider, `/api/hosts/${hostId}/events`);
    // Charges are the ledger's (the provider's statement); the pass is the operator's billing.pass.
    expect(events.map((e) => e.kind)).toEqual(['host.created', 'machine.stored', 'machine.state', 'machine.state', 'machine.state']);
    expect(events.at(-1)!.message).toMatch(/stopped → deleted/);
    // The machine's registration happened before it came to this host: not in the host's history.
    expect(events.every((e) => e.hostId === hostId)).toBe(true);
  });

  it("answers 404 for another user's machine or host history, and 403 to the other role", async () => {
    const otherBuyer = await t.signUp('buyer');
    const otherProvider = await t.signUp('provider');
    expect((await otherBuyer.get(`/api/machines/${machineId}/events`)).status).toBe(404);
    expect((await otherProvider.get(`/api/hosts/${hostId}/events`)).status).toBe(404);
    expect((await provider.get(`/api/machines/${machineId}/events`)).status).toBe(403);
    expect((await buyer.get(`/api/hosts/${hostId}/events`)).status).toBe(403);
    for (const who of [buyer, provider]) {
      const response = await who.get('/api/operator/events');
      expect(response.status).toBe(403);
      expect(response.body.message).toBe('this action is for operators');
    }
    // Another buyer's machine on the same host: its events are not in the first buyer's history.
    const theirs = (await otherBuyer.post('/api/machines').send(win2000Pro({ memory: 64, disk: 100 }))).body.id as string;
    await store(theirs, hostId);
    const mine = await history(buyer, `/api/machines/${machineId}/events`);
    expect(mine.some((e) => e.machineId === theirs)).toBe(false);
  });

  it("puts an agent's event about a machine in its buyer's history only when the agent's host holds it", async () => {
    const other = (await provider.post('/api/hosts').send(virt8({ name: 'elsewhere' }))).body.id as string;
    await heardFrom(t, [hostId, other]);
    const agentOf = async (id: string) =>
      (
        await t.database.query<{ id: string; providerId: string }>(
          'SELECT "id", "providerId" FROM "agents" WHERE "id" = (SELECT "agentId" FROM "hosts" WHERE "id" = ?)',
          [id],
        )
      )[0];
    const theirs = (await operator.get('/api/operator/events').query({ kind: 'machine.stored' })).body.items[0].machineId as string;
    const [{ ownerId }] = await t.database.query<{ ownerId: string }>('SELECT "ownerId" FROM "machines" WHERE "id" = ?', [theirs]);
    const entry = (seq: number, message: string) => ({ seq, at: new Date(T0).toISOString(), kind: 'qmp.STOP', machineId: theirs, message });
    const log = t.app.get(EventLog);
    await db().transaction(async (em) => log.recordJournal(em, await agentOf(hostId), [entry(1, 'from its host')]));
    await db().transaction(async (em) => log.recordJournal(em, await agentOf(other), [entry(1, 'from another host')]));
    const rows = await t.database.query<{ message: string; machineId: string | null; buyerId: string | null }>(
      'SELECT "message", "machineId", "buyerId" FROM "events" WHERE "kind" = ? ORDER BY "id"',
      ['qmp.STOP'],
    );
    expect(rows).toEqual([
      { message: 'from its host', machineId: theirs, buyerId: ownerId },
      { message: 'from another host', machineId: null, buyerId: null },
    ]);
  });

  it('gives the operator the global log, filtered by category, machine, host, user and time, paged by the last id', async () => {
    const all = (await operator.get('/api/operator/events').query({ order: 'asc', limit: 500 })).body.items as Array<Event & { id: number; buyerId: string }>;
    expect(all.length).toBeGreaterThanOrEqual(8);
    expect(all.map((e) => e.id)).toEqual([...all.map((e) => e.id)].sort((a, b) => a - b));
    const machines = (await operator.get('/api/operator/events').query({ kind: 'machine', order: 'asc' })).body.items as Event[];
    expect(machines.length).toBeGreaterThan(3);
    expect(machines.every((e) => e.kind.startsWith('machine.'))).toBe(true);
    const exact = (await operator.get('/api/operator/events').query({ kind: 'machine.stored' })).body.items as Event[];
    expect(exact.map((e) => e.kind)).toEqual(['machine.stored', 'machine.stored']);
    const ofMachine = (await operator.get('/api/operator/events').query({ machineId, order: 'asc' })).body.items as Event[];
    expect(ofMachine.map((e) => e.id)).toEqual(all.filter((e) => e.machineId === machineId).map((e) => e.id));
    const ofBuyer = (await operator.get('/api/operator/events').query({ userId: buyer.userId })).body.items as Event[];
    expect(ofBuyer.length).toBe(all.filter((e) => e.buyerId === buyer.userId).length);
    const ofHost = (await operator.get('/api/operator/events').query({ hostId })).body.items as Event[];
    expect(ofHost.length).toBe(all.filter((e) => e.hostId === hostId).length);
    expect((await operator.get('/api/operator/events').query({ to: new Date(T0).toISOString() })).body.items).toEqual([]);
    expect((await operator.get('/api/operator/events').query({ from: '2026-11-25T12:00:00Z' })).body.items).toHaveLength(Math.min(all.length, 100));
    // Paging: ascending pages of 3 cover the log once, in order.
    const seen: number[] = [];
    let cursor: number | null = null;
    do {
      const response = await operator.get('/api/operator/events').query({ order: 'asc', limit: 3, ...(cursor === null ? {} : { cursor }) });
      seen.push(...response.body.items.map((e: Event) => e.id));
      cursor = response.body.next;
    } while (cursor !== null);
    expect(seen).toEqual(all.map((e) => e.id));
  });

  it('answers 400 naming the parameter to bad filters and paging', async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ limit: '0' }, 'limit'],
      [{ limit: '501' }, 'limit'],
      [{ limit: 'ten' }, 'limit'],
      [{ cursor: '-1' }, 'cursor'],
      [{ order: 'up' }, 'order'],
      [{ machineId: 'nope' }, 'machineId'],
      [{ hostId: '1' }, 'hostId'],
      [{ userId: "1' OR 1=1" }, 'userId'],
      [{ from: 'yesterday' }, 'from'],
      [{ to: '2026-13-01' }, 'to'],
      [{ kind: 'machine state' }, 'kind'],
      [{ source: 'bank' }, 'source'],
    ];
    for (const [query, field] of cases) {
      const response = await operator.get('/api/operator/events').query(query);
      expect(response.status, JSON.stringify(query)).toBe(400);
      expect(Object.keys(response.body.fields), JSON.stringify(query)).toEqual([field]);
    }
    const response = await buyer.get(`/api/machines/${machineId}/events`).query({ limit: '0' });
    expect(response.status).toBe(400);
    expect(Object.keys(response.body.fields)).toEqual(['limit']);
  });

  it('names who moved a machine: the buyer whose request did it, nobody for the agent, the reconciler or a daemon', async () => {
    const evicting = (await provider.post('/api/hosts').send(virt8({ name: 'evicting', storageUnitPrice: '0.1', speedUnitPrice: '0.0001' }))).body.id;
    const id = (await buyer.post('/api/machines').send(win2000Pro({ name: 'acted-on', memory: 64, disk: 100 }))).body.id as string;
    // Stored the way the lifecycle settles it after the agent's answer, without a request: no actor.
    await store(id, evicting);
    // The provider's forced removal sends it back to registered: the provider moved it.
    expect((await provider.delete(`/api/hosts/${evicting}`).query({ force: 'true' }).send({ confirmName: 'evicting' })).status).toBe(204);
    // A buyer's delete of a machine on an agentless host cannot reach an agent; a registered one's is instant.
    const registered = (await buyer.post('/api/machines').send(win2000Pro({ name: 'deleted-by-buyer', memory: 64, disk: 100 }))).body.id as string;
    expect((await buyer.delete(`/api/machines/${registered}`).set('If-Match', '"0"')).status).toBe(204);
    const moves = (await operator.get('/api/operator/events').query({ kind: 'machine', order: 'asc', limit: 500 })).body.items as Array<
      Event & { userId: string | null }
    >;
    const of = (machine: string) => moves.filter((e) => e.machineId === machine).map((e) => [e.kind, e.userId]);
    expect(of(id)).toEqual([
      ['machine.created', buyer.userId],
      ['machine.stored', null],
      ['machine.state', provider.userId],
    ]);
    expect(of(registered)).toEqual([
      ['machine.created', buyer.userId],
      ['machine.state', buyer.userId],
    ]);
    expect(moves.find((e) => e.machineId === id && e.userId === provider.userId)!.message).toMatch(/stored → registered \(v1\): its host evicting was removed/);
  });

  it("records sign-ins, failed sign-ins (the same words whether the handle exists), top-ups: in the operator's log and the account's own history", async () => {
    const someone = await t.signUp('buyer');
    const signIn = (handle: string, password: string) => t.anonymous().post('/api/auth/signin').send({ handle, password });
    expect((await signIn(someone.handle, 'correct horse')).status).toBe(200);
    const wrongPassword = await signIn(someone.handle, 'wrong horse');
    const noSuchHandle = await signIn('nobody-by-this-name', 'wrong horse');
    // What the caller sees does not tell whether the handle exists.
    expect([wrongPassword.status, noSuchHandle.status]).toEqual([401, 401]);
    expect(wrongPassword.body.message).toBe(noSuchHandle.body.message);
    expect((await someone.post('/api/account/top-ups').send({ amount: '12.5' })).status).toBe(201);
    await t.app.get(EventLog).flush();

    const account = await history(someone, '/api/account/events');
    expect(account.map((e) => e.kind)).toEqual(['account.signed-in', 'account.sign-in-failed', 'account.topped-up']);
    expect(account[0].message).toMatch(new RegExp(`^${someone.handle} signed in from `));
    expect(account[1].message).toMatch(new RegExp(`^failed sign-in as "${someone.handle}" from `));
    expect(account[2]).toMatchObject({ message: `${someone.handle} added 12.5`, data: { amount: '12.5' } });
    // Another account's history has none of them.
    expect((await history(buyer, '/api/account/events')).map((e) => e.message).filter((m) => m.includes(someone.handle))).toEqual([]);

    const failed = (await operator.get('/api/operator/events').query({ kind: 'account.sign-in-failed', order: 'asc' })).body.items as Array<
      Event & { userId: string | null }
    >;
    expect(failed.map((e) => [e.message.replace(/ from .*$/, ''), e.userId])).toEqual([
      [`failed sign-in as "${someone.handle}"`, someone.userId],
      ['failed sign-in as "nobody-by-this-name"', null],
    ]);
    const ofSomeone = (await operator.get('/api/operator/events').query({ userId: someone.userId, kind: 'account', order: 'asc' })).body.items as Event[];
    expect(ofSomeone.map((e) => e.kind)).toEqual(['account.signed-in', 'account.sign-in-failed', 'account.topped-up']);
  });

  it("records a host's creation, price changes, removal and the join tokens made: in its provider's history and the operator's log", async () => {
    const id = (await provider.post('/api/hosts').send(virt8({ name: 'priced', storageUnitPrice: '0.1', speedUnitPrice: '0.0001' }))).body.id as string;
    expect((await provider.patch(`/api/hosts/${id}`).send({ storageUnitPrice: '0.25' })).status).toBe(200);
    const token = await provider.post('/api/agents/join-tokens').send({ hostId: id });
    expect(token.status, JSON.stringify(token.body)).toBe(201);
    const events = await history(provider, `/api/hosts/${id}/events`);
    expect(events.map((e) => e.kind)).toEqual(['host.created', 'host.changed', 'agent.join-token']);
    expect(events[0].message).toBe(`host priced added by ${provider.handle}`);
    expect(events[1]).toMatchObject({
      message: `host priced changed by ${provider.handle}: storageUnitPrice 0.1 → 0.25`,
      data: { storageUnitPrice: { from: '0.1', to: '0.25' } },
    });
    // The token itself is never recorded.
    expect(JSON.stringify(events[2])).not.toContain(token.body.token);
    expect(events[2].message).toContain(`made by ${provider.handle} for its host`);

    expect((await provider.delete(`/api/hosts/${id}`)).status).toBe(204);
    const removed = (await operator.get('/api/operator/events').query({ hostId: id, kind: 'host.removed' })).body.items as Array<Event & { userId: string }>;
    expect(removed.map((e) => [e.message, e.userId])).toEqual([[`host priced removed by ${provider.handle}`, provider.userId]]);
  });

  it('records every 5xx answer as an error: route pattern, status, cause, user and request id', async () => {
    // A machine stored on a host that has no agent: its start cannot be sent anywhere (503).
    const spare = (await provider.post('/api/hosts').send(virt8({ name: 'spare', storageUnitPrice: '0.1', speedUnitPrice: '0.0001' }))).body.id;
    const id = (await buyer.post('/api/machines').send(win2000Pro({ memory: 64, disk: 100 }))).body.id;
    await store(id, spare);
    const version = (await buyer.get(`/api/machines/${id}`)).body.version;
    const started = await buyer.post(`/api/machines/${id}/start`).set('If-Match', `"${version}"`).set('X-Request-Id', 'start-without-agent-1').send({});
    expect(started.status, JSON.stringify(started.body)).toBeGreaterThanOrEqual(500);
    await t.app.get(EventLog).flush();
    const errors = (await operator.get('/api/operator/events').query({ kind: 'error', userId: buyer.userId })).body.items as Event[];
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toBe(`POST /api/machines/:id/start answered ${started.status}: ${started.body.message}`);
    expect(errors[0].data).toEqual({ status: started.status, route: '/api/machines/:id/start', requestId: 'start-without-agent-1' });
    // A 4xx is the caller's mistake, not an error of the market.
    expect((await buyer.post(`/api/machines/${id}/start`).set('If-Match', '"999"').send({})).status).toBe(412);
    await t.app.get(EventLog).flush();
    expect((await operator.get('/api/operator/events').query({ kind: 'error', userId: buyer.userId })).body.items).toHaveLength(1);
  });

  it('notes every agent gone quiet offline in one pass, once each, with its host', async () => {
    const hosts: string[] = [];
    for (const name of ['quiet-1', 'quiet-2', 'quiet-3']) hosts.push((await provider.post('/api/hosts').send(virt8({ name }))).body.id);
    await heardFrom(t, hosts);
    // Last heard from at T0; the pass runs a minute later, past the offline threshold.
    await t.database.query('UPDATE "agents" SET "lastHeartbeatAt" = ? WHERE "id" IN (SELECT "agentId" FROM "hosts" WHERE "id" IN (?, ?, ?))', [
      new Date(T0).toISOString(),
      ...hosts,
    ]);
    wallClock.set(T0 + 60 * S);
    const log = t.app.get(EventLog);
    expect(await log.runPass()).toMatchObject({ offline: 3 });
    expect(await log.runPass()).toMatchObject({ offline: 0 });
    const noted = await t.database.query<{ hostId: string; message: string }>(
      'SELECT "hostId", "message" FROM "events" WHERE "kind" = ? AND "hostId" IN (?, ?, ?) ORDER BY "hostId"',
      ['host.offline', ...hosts],
    );
    expect(noted.map((row) => row.hostId)).toEqual([...hosts].sort());
    for (const row of noted) expect(row.message).toMatch(/^host quiet-\d went offline: no heartbeat since 2026-11-25T12:00:00\.000Z$/);
  });

  it('deletes events older than VIRTUOSO_EVENT_RETENTION_DAYS on the daemon pass', async () => {
    const log = t.app.get(EventLog);
    const before = (await operator.get('/api/operator/events').query({ limit: 500 })).body.items.length as number;
    wallClock.set(T0 + 29 * D);
    await db().transaction((em) => log.record(em, { kind: 'error', message: 'recent' }));
    expect((await log.runPass()).deleted).toBe(0);
    wallClock.set(T0 + 31 * D);
    expect((await log.runPass()).deleted).toBe(before);
    // (Sessions have expired by this clock: read the table.)
    // (The same pass noted the stand-in agents above offline: recorded now, kept.)
    const left = await t.database.query<{ message: string }>('SELECT "message" FROM "events" WHERE "kind" <> ? ORDER BY "id"', ['host.offline']);
    expect(left.map((e) => e.message)).toEqual(['recent']);
  });
});
