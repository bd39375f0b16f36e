import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerEntry } from '../src/accounts/ledger-entry.entity';
import { LedgerService } from '../src/accounts/ledger.service';
import { Machine } from '../src/machines/machine.entity';
import { Agent, TestApp, heardFrom, startApp, virt8, win2000Pro } from './helpers';

type User = Agent & { handle: string; userId: string };

/** Idempotency-Key on requests that create something or cost money, and the top-up limits. */
describe('Idempotency-Key', () => {
  let t: TestApp;
  let buyer: User;
  let provider: User;

  beforeAll(async () => {
    t = await startApp();
    buyer = await t.signUp('buyer');
    provider = await t.signUp('provider');
  });
  afterAll(async () => {
    await t?.close();
  });

  const balance = async (agent: Agent) => (await agent.get('/api/auth/me')).body.balance as string;
  const machinesOf = (userId: string) => t.app.get(DataSource).getRepository(Machine).findBy({ ownerId: userId });
  const feesOf = async (userId: string) =>
    (
      await t.app
        .get(DataSource)
        .getRepository(LedgerEntry)
        .findBy({ kind: 'fee', debitAccount: `user:${userId}` })
    ).map((entry) => entry.amount);

  it('registers once for a key sent twice: one machine, one fee, the same answer', async () => {
    const someone = await t.signUp('buyer');
    const first = await someone
      .post('/api/machines')
      .set('Idempotency-Key', 'click-1')
      .send(win2000Pro({ name: 'once' }));
    expect(first.status).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const second = await someone
      .post('/api/machines')
      .set('Idempotency-Key', 'click-1')
      .send(win2000Pro({ name: 'once' }));
    expect(second.status).toBe(201);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.body).toEqual(first.body);
    expect(second.headers.etag).toBe(first.headers.etag);
    expect((await machinesOf(someone.userId)).map((machine) => machine.id)).toEqual([first.body.id]);
    expect(await feesOf(someone.userId)).toEqual(['0.05']);
    expect(await balance(someone)).toBe('999.95');
    // Another key is another action; no key behaves as before.
    expect(
      (
        await someone
          .post('/api/machines')
          .set('Idempotency-Key', 'click-2')
          .send(win2000Pro({ name: 'once' }))
      ).status,
    ).toBe(201);
    expect((await someone.post('/api/machines').send(win2000Pro({ name: 'once' }))).status).toBe(201);
    expect(await feesOf(someone.userId)).toEqual(['0.05', '0.05', '0.05']);
    expect(await balance(someone)).toBe('999.85');
  });

  it('refuses the same key with another body or path (409), changing nothing', async () => {
    const first = await buyer
      .post('/api/machines')
      .set('Idempotency-Key', 'reused')
      .send(win2000Pro({ name: 'first' }));
    expect(first.status).toBe(201);
    const before = await t.snapshot();
    const otherBody = await buyer
      .post('/api/machines')
      .set('Idempotency-Key', 'reused')
      .send(win2000Pro({ name: 'second' }));
    expect(otherBody.status).toBe(409);
    expect(otherBody.body.message).toBe(
      'this Idempotency-Key was already used for another request (POST /api/machines with another body); use a new key for a new action',
    );
    expect(otherBody.body.fields).toHaveProperty('Idempotency-Key');
    const otherPath = await buyer.post('/api/account/top-ups').set('Idempotency-Key', 'reused').send({ amount: '1' });
    expect(otherPath.status).toBe(409);
    expect(await t.snapshot()).toEqual(before);
  });

  it('acts once for two concurrent requests with one key: the other gets 409 or the same answer', async () => {
    const someone = await t.signUp('buyer');
    const send = () =>
      someone
        .post('/api/machines')
        .set('Idempotency-Key', 'both-at-once')
        .send(win2000Pro({ name: 'racer' }));
    const answers = await Promise.all([send(), send()]);
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses[0]).toBe(201);
    expect([201, 409]).toContain(statuses[1]);
    const conflict = answers.find((answer) => answer.status === 409);
    if (conflict) expect(conflict.body.message).toBe('a request with this Idempotency-Key is still being handled; wait for its answer');
    expect(await machinesOf(someone.userId)).toHaveLength(1);
    expect(await feesOf(someone.userId)).toEqual(['0.05']);
  });

  it('replays an HTTP error and keeps the key per user', async () => {
    const poor = await startApp({ config: { signupCredit: '0.01' } });
    try {
      const someone = await poor.signUp('buyer');
      const refused = await someone.post('/api/machines').set('Idempotency-Key', 'k').send(win2000Pro());
      expect(refused.status).toBe(402);
      const again = await someone.post('/api/machines').set('Idempotency-Key', 'k').send(win2000Pro());
      expect(again.status).toBe(402);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.body).toEqual(refused.body);
      // Another user's same key is theirs.
      const rich = await poor.signUp('buyer');
      expect((await rich.post('/api/account/top-ups').send({ amount: '1' })).status).toBe(201);
      expect((await rich.post('/api/machines').set('Idempotency-Key', 'k').send(win2000Pro())).status).toBe(201);
    } finally {
      await poor.close();
    }
  });

  it('refuses a malformed key with 400 naming the header, changing nothing', async () => {
    const before = await t.snapshot();
    for (const key of ['', 'x'.repeat(201), 'with space', 'ünïcode']) {
      const response = await buyer.post('/api/machines').set('Idempotency-Key', key).send(win2000Pro());
      expect(response.status, key).toBe(400);
      expect(response.body.fields, key).toHaveProperty('Idempotency-Key');
    }
    expect(await t.snapshot()).toEqual(before);
  });

  it('covers top-ups, hosts, tokens and join tokens', async () => {
    const before = await balance(buyer);
    const topUp = () => buyer.post('/api/account/top-ups').set('Idempotency-Key', 'add-5').send({ amount: '5' });
    const first = await topUp();
    const second = await topUp();
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.body).toEqual(first.body);
    expect(await balance(buyer)).toBe(String(Number(before) + 5));

    const host = () =>
      provider
        .post('/api/hosts')
        .set('Idempotency-Key', 'host-1')
        .send(virt8({ name: 'idem-host' }));
    const h1 = await host();
    expect(h1.status, JSON.stringify(h1.body)).toBe(201);
    expect((await host()).body).toEqual(h1.body);
    expect(((await provider.get('/api/hosts')).body as Array<{ name: string }>).filter((row) => row.name === 'idem-host')).toHaveLength(1);

    const token = () => buyer.post('/api/auth/tokens').set('Idempotency-Key', 'token-1').send({ name: 'ci' });
    const t1 = await token();
    expect(t1.status, JSON.stringify(t1.body)).toBe(201);
    expect((await token()).body).toEqual(t1.body);
    expect(((await buyer.get('/api/auth/tokens')).body as unknown[]).length).toBe(1);

    const join = () => provider.post('/api/agents/join-tokens').set('Idempotency-Key', 'join-1').send({});
    const j1 = await join();
    expect(j1.status, JSON.stringify(j1.body)).toBe(201);
    expect((await join()).body).toEqual(j1.body);
  });
});

describe('top-up limits', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp({ config: { topUpMaxAmount: '100', topUpDailyLimit: '250' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses over the per-request limit (400) and over the daily limit (429), naming the limit, changing nothing', async () => {
    const buyer = await t.signUp('buyer');
    const page = async () => (await buyer.get('/api/account/buyer')).body as { balance: string; topUpMaxAmount: string; topUpDailyRemaining: string };
    expect(await page()).toMatchObject({ balance: '1000', topUpMaxAmount: '100', topUpDailyRemaining: '250' });

    let before = await t.snapshot();
    const tooBig = await buyer.post('/api/account/top-ups').send({ amount: '100.000000000001' });
    expect(tooBig.status).toBe(400);
    expect(tooBig.body.message).toBe('amount must be at most 100: the top-up limit per request');
    expect(tooBig.body.fields).toHaveProperty('amount');
    expect((await buyer.post('/api/account/top-ups').send({ amount: '999999999999999' })).status).toBe(400);
    expect(await t.snapshot()).toEqual(before);

    expect((await buyer.post('/api/account/top-ups').send({ amount: '100' })).status).toBe(201);
    expect((await buyer.post('/api/account/top-ups').send({ amount: '100' })).status).toBe(201);
    expect(await page()).toMatchObject({ balance: '1200', topUpDailyRemaining: '50' });

    before = await t.snapshot();
    const overDay = await buyer.post('/api/account/top-ups').send({ amount: '50.5' });
    expect(overDay.status).toBe(429);
    expect(overDay.body.message).toBe('amount 50.5 is over the daily top-up limit of 250: 50 left today (UTC)');
    expect(await t.snapshot()).toEqual(before);

    expect((await buyer.post('/api/account/top-ups').send({ amount: '50' })).status).toBe(201);
    expect(await page()).toMatchObject({ balance: '1250', topUpDailyRemaining: '0' });
    expect((await buyer.post('/api/account/top-ups').send({ amount: '0.000000000001' })).status).toBe(429);
    // A retry of a top-up already made (same requestId) is not a new top-up: it answers again.
    const id = '6c0e2b8a-3f5d-4e7c-9b1a-2d4f6e8a0c1b';
    const other = await t.signUp('buyer');
    expect((await other.post('/api/account/top-ups').send({ amount: '100', requestId: id })).status).toBe(201);
    expect((await other.post('/api/account/top-ups').send({ amount: '100', requestId: id })).status).toBe(201);
    expect((await other.get('/api/account/buyer')).body).toMatchObject({ balance: '1100', topUpDailyRemaining: '150' });
  });

  // On PostgreSQL transactions run side by side (on SQLite one at a time): concurrent requests of
  // one buyer must each count the others, neither failing nor slipping past a limit.
  it('applies concurrent top-ups of one buyer one after another: exactly those under the daily limit, the balance exact', async () => {
    const buyer = await t.signUp('buyer');
    const answers = await Promise.all(Array.from({ length: 5 }, () => buyer.post('/api/account/top-ups').send({ amount: '90.000000000001' })));
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 201, 429, 429, 429]);
    for (const refused of answers.filter((answer) => answer.status === 429)) {
      expect(refused.body.message).toBe('amount 90.000000000001 is over the daily top-up limit of 250: 69.999999999998 left today (UTC)');
    }
    expect((await buyer.get('/api/account/buyer')).body).toMatchObject({ balance: '1180.000000000002', topUpDailyRemaining: '69.999999999998' });
    expect(await t.app.get(LedgerService).verify()).toMatchObject({ total: '0', mismatches: [], malformed: [] });
  });

  it('registers every one of concurrent machines of one buyer, each fee charged once, the balance exact', async () => {
    const buyer = await t.signUp('buyer');
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => buyer.post('/api/machines').send(win2000Pro({ name: `at-once-${i}` }))));
    expect(answers.map((answer) => [answer.status, answer.body.message])).toEqual(Array.from({ length: 8 }, () => [201, undefined]));
    const fees = await t.app
      .get(DataSource)
      .getRepository(LedgerEntry)
      .findBy({ kind: 'fee', debitAccount: `user:${buyer.userId}` });
    expect(fees.map((fee) => fee.amount)).toEqual(Array.from({ length: 8 }, () => '0.05'));
    expect((await buyer.get('/api/auth/me')).body.balance).toBe('999.6');
    expect(await t.app.get(LedgerService).verify()).toMatchObject({ total: '0', mismatches: [], malformed: [] });
  });
});

describe('balance checks under concurrent requests', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ config: { registrationFee: '300' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  // On PostgreSQL transactions run side by side (on SQLite one at a time): each registration must
  // check the balance the others left, so that no two fees pass one check.
  it('charges concurrent registration fees only while the balance covers them (402 after), never below zero', async () => {
    const buyer = await t.signUp('buyer');
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => buyer.post('/api/machines').send(win2000Pro({ name: `fee-${i}` }))));
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 201, 201, 402, 402, 402, 402, 402, 402, 402]);
    for (const refused of answers.filter((answer) => answer.status === 402)) {
      expect(refused.body.message).toBe('balance 100 is below the registration fee 300');
    }
    expect((await buyer.get('/api/auth/me')).body.balance).toBe('100');
    expect(await t.app.get(LedgerService).verify()).toMatchObject({ total: '0', mismatches: [], malformed: [] });
  });
});

describe('store search offers only hosts whose agent is online', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp({ config: { agentOfflineMs: 3_600_000 } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('lists online hosts only; the marketplace keeps offline ones marked; storing on an offline host is a 503 that reserves nothing', async () => {
    const provider = await t.signUp('provider');
    const buyer = await t.signUp('buyer');
    // The offline host is the cheaper one: before, it came first and was pre-selected.
    const offline = (await provider.post('/api/hosts').send(virt8({ name: 'cheap-offline' }))).body as { id: string };
    const online = (await provider.post('/api/hosts').send(virt8({ name: 'dear-online', speedUnitPrice: '0.00002' }))).body as { id: string };
    await heardFrom(t, [online.id]);
    const spec = { speed: 4000, memory: 256, disk: 1000, askedStoragePerMonth: '60', askedRunningPerHour: '10.11' };
    const search = await buyer.post('/api/market/search').send(spec);
    expect(search.status).toBe(200);
    expect(search.body.map((offer: { hostName: string }) => offer.hostName)).toEqual(['dear-online']);
    expect(search.headers['x-total-count']).toBe('1');
    const machine = (await buyer.post('/api/machines').send(win2000Pro())).body as { id: string };
    const offers = await buyer.get(`/api/machines/${machine.id}/offers`);
    expect(offers.body.map((offer: { hostId: string }) => offer.hostId)).toEqual([online.id]);

    const market = (await buyer.get('/api/market/hosts')).body as Array<{ name: string; online: boolean }>;
    expect(market.map(({ name, online }) => ({ name, online }))).toEqual([
      { name: 'cheap-offline', online: false },
      { name: 'dear-online', online: true },
    ]);

    const before = await t.snapshot();
    const store = await buyer.post(`/api/machines/${machine.id}/store`).send({ hostId: offline.id });
    expect(store.status).toBe(503);
    expect(store.body.message).toBe('host cheap-offline is offline (it has no agent); choose another host');
    expect(await t.snapshot()).toEqual(before);
  });

  it('explains an empty search: size, price or offline, and what would fit, on both searches', async () => {
    const app = await startApp({ config: { agentOfflineMs: 3_600_000 } });
    try {
      const provider = await app.signUp('provider');
      const buyer = await app.signUp('buyer');
      // win2000Pro on virt8's prices: (4 + 64) × 0.00001 × 3600 = 2.448 per hour, 10 × 0.01 × 30 = 3 per month.
      const spec = { speed: 4000, memory: 256, disk: 1000, askedStoragePerMonth: '60', askedRunningPerHour: '2' };
      const explain = (body: Record<string, unknown>) => buyer.post('/api/market/search/explain').send(body);

      expect((await explain(spec)).body).toMatchObject({ reason: 'none', message: 'No host is in the market yet.' });
      const host = (await provider.post('/api/hosts').send(virt8({ name: 'only' }))).body as { id: string };
      expect((await explain(spec)).body).toEqual({
        reason: 'offline',
        message: '1 host could hold it, but its agent is offline: try again later.',
        hostsThatFitSize: 0,
        cheapestStoragePerMonth: null,
        cheapestRunningPerHour: null,
      });
      await heardFrom(app, [host.id]);
      const price = await explain(spec);
      expect(price.status).toBe(200);
      expect(price.body).toEqual({
        reason: 'price',
        message: '1 host can hold it, the cheapest at 3 per month and 2.448 per hour: raise your asked running price to at least 2.448 per hour.',
        hostsThatFitSize: 1,
        cheapestStoragePerMonth: '3',
        cheapestRunningPerHour: '2.448',
      });
      // virt8 has 512 MB: a 1024 MB machine does not fit anywhere.
      expect((await explain({ ...spec, memory: 1024 })).body).toMatchObject({
        reason: 'size',
        message: 'No online host has 1024 MB memory free; the largest free is 512 MB memory: choose a smaller size.',
      });
      const bad = await explain({ ...spec, memory: 'lots' });
      expect(bad.status).toBe(400);
      expect(bad.body.fields).toHaveProperty('memory');

      const machine = (await buyer.post('/api/machines').send(win2000Pro({ askedRunningPerHour: '2' }))).body as { id: string };
      expect((await buyer.get(`/api/machines/${machine.id}/offers`)).body).toEqual([]);
      expect((await buyer.get(`/api/machines/${machine.id}/offers/explain`)).body).toEqual(price.body);
      expect((await provider.post('/api/market/search/explain').send(spec)).status).toBe(403);
    } finally {
      await app.close();
    }
  });
});
