import { moneyToUnits } from '@virtuoso/domain';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerEntry } from '../src/accounts/ledger-entry.entity';
import { LedgerService } from '../src/accounts/ledger.service';
import { HostIncome } from '../src/billing/host-income.entity';
import { AgentProcess } from './agent-process';
import { Agent, TestApp, addAgentHost, heardFrom, retireHost, startApp, thenCleanUp, virt8, win2000Pro } from './helpers';

type User = Agent & { handle: string; userId: string };

/**
 * A buyer's machines through the API. Storing and every action after it go to a REAL provider
 * agent process that creates and runs real QEMU machines: these are blank
 * (SeaBIOS only), so stops are forced after the test's 1 s stop timeout. Each test adds the host it
 * needs with a new agent and deletes it at the end (deleting a host retires its agent).
 * Failure behaviour (unreachable agent, refusals, the reconciler) is in failures.spec.ts.
 */
describe('buyer machines', () => {
  let t: TestApp;
  let provider: User;
  let buyer: User;

  beforeAll(async () => {
    t = await startApp({ listen: true });
    provider = await t.signUp('provider');
    buyer = await t.signUp('buyer');
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Runs `test` with a host served by a new agent, then deletes its machines and the host (which retires that agent). */
  const withHost = async (overrides: Record<string, unknown>, test: (host: { id: string; name: string }) => Promise<void>) => {
    const hostAgent = await AgentProcess.join(t, provider);
    try {
      const host = await addAgentHost(provider, hostAgent.agentId, overrides);
      await thenCleanUp(
        () => test(host),
        () => retireHost(provider, buyer, host.id),
      );
    } finally {
      await hostAgent.cleanup();
    }
  };

  const register = async (agent: Agent, overrides: Record<string, unknown> = {}) => {
    const response = await agent.post('/api/machines').send(win2000Pro(overrides));
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body as { id: string; version: number; state: string };
  };
  const balance = async (agent: Agent) => (await agent.get('/api/auth/me')).body.balance as string;

  it('registers a configuration: charges the 0.05 fee exactly, with a ledger entry to the market', async () => {
    const before = await balance(buyer);
    const machine = await register(buyer, { askedStoragePerMonth: '6e1' });
    expect(machine).toMatchObject({
      ...win2000Pro({ askedStoragePerMonth: '60' }),
      state: 'registered',
      version: 0,
      allowedActions: ['edit', 'searchProviders', 'store', 'delete'],
      host: null,
      storagePrice: null,
      runningPrice: null,
      preconfigured: false,
      image: null,
      registrationFee: '0.05',
      lastError: null,
    });
    expect(machine).toHaveProperty('macAddress');
    expect((machine as unknown as { macAddress: string }).macAddress).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(before).toBe('1000');
    expect(await balance(buyer)).toBe('999.95');
    const entries = await t.app.get(DataSource).getRepository(LedgerEntry).findBy({ machineId: machine.id });
    expect(entries).toEqual([
      expect.objectContaining({ key: `fee:${machine.id}`, kind: 'fee', amount: '0.05', debitAccount: `user:${buyer.userId}`, creditAccount: 'market' }),
    ]);
    const listed = (await buyer.get('/api/machines')).body as Array<{ id: string }>;
    expect(listed.map((m) => m.id)).toContain(machine.id);
    const one = await buyer.get(`/api/machines/${machine.id}`);
    expect(one.headers.etag).toBe('"0.0"');
    expect(one.body.etag).toBe('"0.0"');
    // The ETag is for If-Match: a conditional GET must still get the live machine, never a stale
    // 304, and nothing may cache it.
    const again = await buyer.get(`/api/machines/${machine.id}`).set('If-None-Match', '"0.0"');
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(machine.id);
    expect(again.headers['cache-control']).toBe('no-store');
  });

  it('refuses to register when the balance is below the fee (402), changing nothing', async () => {
    const poor = await startApp({ config: { signupCredit: '0.01' } });
    try {
      const someone = await poor.signUp('buyer');
      const before = await poor.snapshot();
      const response = await someone.post('/api/machines').send(win2000Pro());
      expect(response.status).toBe(402);
      expect(response.body).toEqual({ statusCode: 402, error: 'Payment Required', message: 'balance 0.01 is below the registration fee 0.05' });
      expect(await poor.snapshot()).toEqual(before);
    } finally {
      await poor.close();
    }
  });

  it('registers a preconfigured machine with the size, OS and image of its catalog entry', async () => {
    const tiny = ((await t.anonymous().get('/api/catalog')).body as Array<{ id: string; name: string }>).find((entry) => entry.name === 'tiny-linux')!;
    const machine = await register(buyer, { name: 'my-tiny', configurationId: tiny.id, speed: 9999, memory: 999, disk: 999, os: 'whatever' });
    expect(machine).toMatchObject({
      name: 'my-tiny',
      processor: 'QEMU TCG',
      speed: 2000,
      memory: 128,
      disk: 64,
      os: 'Linux (busybox)',
      preconfigured: true,
      image: 'tiny-linux.qcow2',
    });
    const osEdit = await buyer.patch(`/api/machines/${machine.id}`).send({ os: 'win98' });
    expect(osEdit.status).toBe(400);
    expect(osEdit.body.fields.os).toBeDefined();
    const shrink = await buyer.patch(`/api/machines/${machine.id}`).send({ disk: 10 });
    expect(shrink.status).toBe(400);
    expect(shrink.body.message).toBe('disk must be at least 64 MB to hold the tiny-linux image');
    const unknown = await buyer.post('/api/machines').send(win2000Pro({ configurationId: '00000000-0000-4000-8000-000000000000' }));
    expect(unknown.status).toBe(400);
    expect(unknown.body.fields.configurationId).toBeDefined();
  });

  it('refuses bad input on every machine route with 400 naming the field, changing nothing', async () => {
    const machine = await register(buyer, { name: 'bad-input' });
    const before = await t.snapshot();
    const cases: Array<[() => Promise<{ status: number; body: { message: string; fields: Record<string, string[]> } }>, string]> = [
      [() => buyer.post('/api/machines').send(win2000Pro({ speed: -1 })), 'speed'],
      [() => buyer.post('/api/machines').send(win2000Pro({ memory: 8 })), 'memory'],
      [() => buyer.post('/api/machines').send(win2000Pro({ askedRunningPerHour: 'cheap' })), 'askedRunningPerHour'],
      [() => buyer.post('/api/machines').send(win2000Pro({ askedRunningPerHour: '0.0000000000001' })), 'askedRunningPerHour'],
      [() => buyer.post('/api/machines').send(win2000Pro({ askedStoragePerMonth: '1e999' })), 'askedStoragePerMonth'],
      [() => buyer.post('/api/machines').send(win2000Pro({ name: '' })), 'name'],
      [() => buyer.post('/api/machines').send(win2000Pro({ state: 'running' })), 'state'],
      [() => buyer.patch(`/api/machines/${machine.id}`).send({ disk: 'big' }), 'disk'],
      [() => buyer.patch(`/api/machines/${machine.id}`).send({ configurationId: machine.id }), 'configurationId'],
      [() => buyer.patch(`/api/machines/${machine.id}`).send({ memory: null }), 'memory'],
      [() => buyer.post(`/api/machines/${machine.id}/store`).send({ hostId: 'virt8' }), 'hostId'],
      [() => buyer.post(`/api/machines/${machine.id}/start`).set('If-Match', 'three'), 'If-Match'],
    ];
    for (const [send, field] of cases) {
      const response = await send();
      expect(response.status, field).toBe(400);
      expect(response.body.fields[field], field).toBeDefined();
      expect(response.body.message, field).toBe(response.body.fields[field][0]);
    }
    const locked = await buyer.patch(`/api/machines/${machine.id}`).send({ configurationId: machine.id });
    expect(locked.body.message).toBe('configurationId cannot be changed after the machine is registered');
    expect(await t.snapshot()).toEqual(before);
  });

  it('edits a registered machine and honours If-Match', async () => {
    const machine = await register(buyer, { name: 'editable' });
    const edited = await buyer.patch(`/api/machines/${machine.id}`).set('If-Match', '"0"').send({ memory: 128, askedRunningPerHour: '1e-1' });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ memory: 128, askedRunningPerHour: '0.1', version: 0, etag: '"0.1"' });
    expect(edited.headers.etag).toBe('"0.1"');
    const stale = await buyer.patch(`/api/machines/${machine.id}`).set('If-Match', '"7"').send({ memory: 64 });
    expect(stale.status).toBe(412);
    expect(stale.body.message).toMatch(/is at version 0, not version 7/);
    expect((await buyer.get(`/api/machines/${machine.id}`)).body.memory).toBe(128);
  });

  it('an edit changes the ETag: a second PATCH with the ETag both read first is 412 and changes nothing', async () => {
    const machine = await register(buyer, { name: 'two-tabs' });
    const seen = (await buyer.get(`/api/machines/${machine.id}`)).headers.etag as string;
    const first = await buyer.patch(`/api/machines/${machine.id}`).set('If-Match', seen).send({ memory: 128 });
    expect(first.status).toBe(200);
    expect(first.headers.etag).not.toBe(seen);
    const before = await t.snapshot();
    const second = await buyer.patch(`/api/machines/${machine.id}`).set('If-Match', seen).send({ memory: 32 });
    expect(second.status).toBe(412);
    expect(second.body.message).toBe(`machine two-tabs is at ETag ${first.headers.etag}, not ETag ${seen}; reload it and try again`);
    expect(await t.snapshot()).toEqual(before);
    expect((await buyer.get(`/api/machines/${machine.id}`)).body).toMatchObject({ memory: 128, etag: first.headers.etag });
    // The new ETag works; a bare version still compares the version only.
    expect((await buyer.patch(`/api/machines/${machine.id}`).set('If-Match', first.headers.etag).send({ memory: 96 })).status).toBe(200);
    expect((await buyer.patch(`/api/machines/${machine.id}`).set('If-Match', '"0"').send({ memory: 64 })).status).toBe(200);
  });

  it('walks the whole flow: search, store (reserving and fixing prices), refused host delete, start/stop/suspend/resume, delete', () =>
    withHost({ name: 'virt8' }, async (host) => {
      const hostFree = async () => (await provider.get(`/api/hosts/${host.id}`)).body.free;
      const machine = await register(buyer, { name: 'the-flow' });
      const freeBefore = await hostFree();

      // Search for the registered machine: fig. 31 prices.
      const offers = await buyer.get(`/api/machines/${machine.id}/offers`);
      expect(offers.status).toBe(200);
      expect(offers.body.find((offer: { hostId: string }) => offer.hostId === host.id)).toMatchObject({
        hostName: 'virt8',
        owner: provider.handle,
        runningPrice: '2.448',
        runningUnitAmount: 3600,
        storagePrice: '3',
        storageAmount: 30,
      });

      // Store: resources reserved on the host, prices fixed, version 1.
      const stored = await buyer.post(`/api/machines/${machine.id}/store`).set('If-Match', '"0"').send({ hostId: host.id });
      expect(stored.status).toBe(200);
      expect(stored.headers.etag).toBe(stored.body.etag);
      expect(stored.body.etag).toMatch(/^"1\.\d+"$/);
      expect(stored.body).toMatchObject({
        state: 'stored',
        version: 1,
        allowedActions: ['start', 'migrate', 'delete'],
        host: { id: host.id, name: 'virt8', owner: provider.handle },
        storagePrice: '3',
        storageAmount: 30,
        runningPrice: '2.448',
        runningUnitAmount: 3600,
      });
      expect(await hostFree()).toEqual({ speed: freeBefore.speed - 4000, memory: freeBefore.memory - 256, storage: freeBefore.storage - 1000 });

      // Registered-only routes now answer 409 with the allowed actions.
      const search = await buyer.get(`/api/machines/${machine.id}/offers`);
      expect(search.status).toBe(409);
      expect(search.body).toEqual({
        statusCode: 409,
        error: 'Conflict',
        message: 'Cannot searchProviders a machine that is stored',
        allowedActions: ['start', 'migrate', 'delete'],
      });
      expect((await buyer.patch(`/api/machines/${machine.id}`).send({ memory: 64 })).status).toBe(409);
      expect((await buyer.post(`/api/machines/${machine.id}/store`).send({ hostId: host.id })).status).toBe(409);

      // The provider cannot delete the host while it stores the machine.
      const refused = await provider.delete(`/api/hosts/${host.id}`);
      expect(refused.status).toBe(409);
      expect(refused.body.message).toMatch(/^host virt8 still stores \d+ machines?; they must leave first$/);

      // Lifecycle through the agent (a real QEMU machine), with versions: stored 1, running 1, stopped 2, running 2, suspended 3, running 3, stopped 4.
      const step = async (action: string, state: string, version: number) => {
        const response = await buyer.post(`/api/machines/${machine.id}/${action}`);
        expect(response.status, `${action}: ${JSON.stringify(response.body)}`).toBe(200);
        expect(response.body).toMatchObject({ state, version, lastError: null });
        expect(response.headers.etag).toBe(response.body.etag);
        expect(response.body.etag.startsWith(`"${version}.`)).toBe(true);
      };
      await step('start', 'running', 1);
      const twice = await buyer.post(`/api/machines/${machine.id}/start`);
      expect(twice.status).toBe(409);
      expect(twice.body).toEqual({
        statusCode: 409,
        error: 'Conflict',
        message: 'Cannot start a machine that is running',
        allowedActions: ['stop', 'reboot', 'reset', 'suspend', 'console'],
      });
      expect((await buyer.delete(`/api/machines/${machine.id}`)).status).toBe(409);
      expect((await buyer.post(`/api/machines/${machine.id}/resume`)).status).toBe(409);
      await step('stop', 'stopped', 2);
      await step('start', 'running', 2);
      await step('suspend', 'suspended', 3);
      expect((await buyer.post(`/api/machines/${machine.id}/start`)).body.allowedActions).toEqual(['resume', 'migrate', 'delete']);
      await step('resume', 'running', 3);
      await step('stop', 'stopped', 4);

      // If-Match on an action: a stale version is refused with 412 and nothing changes.
      const stale = await buyer.post(`/api/machines/${machine.id}/start`).set('If-Match', '"3"');
      expect(stale.status).toBe(412);
      expect((await buyer.get(`/api/machines/${machine.id}`)).body).toMatchObject({ state: 'stopped', version: 4 });
      expect((await buyer.delete(`/api/machines/${machine.id}`).set('If-Match', '"1"')).status).toBe(412);

      // Delete frees the host's resources; the machine is gone from the list.
      expect((await buyer.delete(`/api/machines/${machine.id}`).set('If-Match', '"4"')).status).toBe(204);
      expect(await hostFree()).toEqual(freeBefore);
      expect((await buyer.get(`/api/machines/${machine.id}`)).status).toBe(404);
      expect(((await buyer.get('/api/machines')).body as Array<{ id: string }>).map((m) => m.id)).not.toContain(machine.id);
    }));

  it('keeps stored machines at their fixed prices when the provider edits prices (not retroactive)', () =>
    withHost({ name: 'edits' }, async (dearHost) => {
      const early = await register(buyer, { name: 'early' });
      await buyer.post(`/api/machines/${early.id}/store`).send({ hostId: dearHost.id });
      expect((await provider.patch(`/api/hosts/${dearHost.id}`).send({ speedUnitPrice: '0.00002', storageUnitPrice: '0.02' })).status).toBe(200);
      // Early keeps fig. 31 prices; a machine stored now pays the new ones: (8 + 64) × 0.00001 × 3600 = 2.592; 10 × 0.02 × 30 = 6.
      expect((await buyer.get(`/api/machines/${early.id}`)).body).toMatchObject({ runningPrice: '2.448', storagePrice: '3' });
      const late = await register(buyer, { name: 'late' });
      const stored = await buyer.post(`/api/machines/${late.id}/store`).send({ hostId: dearHost.id });
      expect(stored.body).toMatchObject({ runningPrice: '2.592', storagePrice: '6' });
    }));

  it('refuses to store on a host that no longer fits (409 naming the resource) or now asks too much, changing nothing', () =>
    withHost({ name: 'small', memory: 300 }, async (small) => {
      const first = await register(buyer, { name: 'first' });
      const second = await register(buyer, { name: 'second' });
      expect((await buyer.post(`/api/machines/${first.id}/store`).send({ hostId: small.id })).status).toBe(200);
      let before = await t.snapshot();
      const full = await buyer.post(`/api/machines/${second.id}/store`).send({ hostId: small.id });
      expect(full.status).toBe(409);
      expect(full.body.message).toBe('host small no longer has enough memory: 44 MB free, the machine needs 256 MB');
      expect(await t.snapshot()).toEqual(before);

      // Refused on price before anything is asked of an agent, so this host needs no real one: a
      // stand-in heard from just now makes it online (an offline host is refused before the price).
      const pricey = (await provider.post('/api/hosts').send(virt8({ name: 'pricey', speedUnitPrice: '1' }))).body;
      await heardFrom(t, [pricey.id]);
      before = await t.snapshot();
      const tooDear = await buyer.post(`/api/machines/${second.id}/store`).send({ hostId: pricey.id });
      expect(tooDear.status).toBe(409);
      expect(tooDear.body.message).toMatch(/^host pricey asks .* above the asked 60 and 10.11$/);
      expect(await t.snapshot()).toEqual(before);

      const missing = await buyer.post(`/api/machines/${second.id}/store`).send({ hostId: '00000000-0000-4000-8000-000000000000' });
      expect(missing.status).toBe(404);
      expect(await t.snapshot()).toEqual(before);
    }));

  it('stores and starts once for an Idempotency-Key sent twice: one reservation, one storage charge, one slice, the same answers', () =>
    withHost({ name: 'twice' }, async (host) => {
      const machine = await register(buyer, { name: 'double-click' });
      const freeBefore = (await provider.get(`/api/hosts/${host.id}`)).body.free;
      const store = () => buyer.post(`/api/machines/${machine.id}/store`).set('Idempotency-Key', `store-${machine.id}`).send({ hostId: host.id });
      const first = await store();
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      const again = await store();
      expect(again.status).toBe(200);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.body).toEqual(first.body);
      expect(again.headers.etag).toBe(first.headers.etag);
      expect((await provider.get(`/api/hosts/${host.id}`)).body.free).toEqual({
        speed: freeBefore.speed - 4000,
        memory: freeBefore.memory - 256,
        storage: freeBefore.storage - 1000,
      });
      const start = () => buyer.post(`/api/machines/${machine.id}/start`).set('Idempotency-Key', `start-${machine.id}`);
      const started = await start();
      expect(started.status, JSON.stringify(started.body)).toBe(200);
      expect((await start()).body).toEqual(started.body);
      const entries = await t.app.get(DataSource).getRepository(LedgerEntry).findBy({ machineId: machine.id });
      expect(entries.map((entry) => entry.kind).sort()).toEqual(['fee', 'running', 'storage']);
    }));

  it('applies exactly one of two concurrent starts', () =>
    withHost({ name: 'starts' }, async (host) => {
      const machine = await register(buyer, { name: 'racer' });
      await buyer.post(`/api/machines/${machine.id}/store`).send({ hostId: host.id });
      const results = await Promise.all([buyer.post(`/api/machines/${machine.id}/start`), buyer.post(`/api/machines/${machine.id}/start`)]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
      const loser = results.find((r) => r.status === 409)!;
      expect(loser.body.message).toMatch(/^Cannot start a machine that is (starting|running)$/);
      expect((await buyer.get(`/api/machines/${machine.id}`)).body).toMatchObject({ state: 'running', version: 1 });
    }));

  it('never reserves a size other than the one stored when an edit races a store', async () => {
    for (let round = 0; round < 5; round += 1) {
      await withHost({ name: `race-${round}` }, async (roomy) => {
        const machine = await register(buyer, { name: `edit-race-${round}`, memory: 64 });
        await Promise.all([
          buyer.patch(`/api/machines/${machine.id}`).send({ memory: 128 }),
          buyer.post(`/api/machines/${machine.id}/store`).send({ hostId: roomy.id }),
        ]);
        const now = (await buyer.get(`/api/machines/${machine.id}`)).body;
        const free = (await provider.get(`/api/hosts/${roomy.id}`)).body.free;
        expect(free.memory).toBe(now.state === 'stored' ? 512 - now.memory : 512);
      });
    }
  });

  it('deletes a registered machine at once', async () => {
    const machine = await register(buyer, { name: 'short-lived' });
    expect((await buyer.delete(`/api/machines/${machine.id}`)).status).toBe(204);
    expect((await buyer.get(`/api/machines/${machine.id}`)).status).toBe(404);
    expect((await buyer.post(`/api/machines/${machine.id}/start`)).status).toBe(404);
  });

  // PostgreSQL runs transactions side by side (SQLite one at a time): stores at the same moment
  // on one host reserve, charge and pay the provider one after another, none failing.
  it('applies every one of concurrent stores of two buyers on a roomy host: reservations, charges and income exact', () =>
    withHost({ name: 'busy' }, async (host) => {
      const other = await t.signUp('buyer');
      const owners = [buyer, buyer, buyer, other, other, other];
      const machines = await Promise.all(owners.map((owner, i) => register(owner, { name: `busy-${i}`, speed: 500, memory: 16, disk: 100 })));
      try {
        const freeBefore = (await provider.get(`/api/hosts/${host.id}`)).body.free;
        const balancesBefore = await Promise.all([balance(buyer), balance(other), balance(provider)]);
        const stores = await Promise.all(machines.map((machine, i) => owners[i].post(`/api/machines/${machine.id}/store`).send({ hostId: host.id })));
        expect(stores.map((store) => [store.status, store.body.message])).toEqual(machines.map(() => [200, undefined]));
        expect((await provider.get(`/api/hosts/${host.id}`)).body).toMatchObject({
          machineCount: 6,
          free: { speed: freeBefore.speed - 6 * 500, memory: freeBefore.memory - 6 * 16, storage: freeBefore.storage - 6 * 100 },
        });
        const charges = await t.app
          .get(DataSource)
          .getRepository(LedgerEntry)
          .findBy(machines.map((machine) => ({ machineId: machine.id, kind: 'storage' as const })));
        expect(charges).toHaveLength(6);
        const units = (amounts: string[]) => amounts.reduce((sum, amount) => sum + moneyToUnits(amount), 0n);
        const paidBy = (userId: string) => units(charges.filter((charge) => charge.debitAccount === `user:${userId}`).map((charge) => charge.amount));
        const [buyerNow, otherNow, providerNow] = await Promise.all([balance(buyer), balance(other), balance(provider)]);
        expect(moneyToUnits(buyerNow)).toBe(moneyToUnits(balancesBefore[0]) - paidBy(buyer.userId));
        expect(moneyToUnits(otherNow)).toBe(moneyToUnits(balancesBefore[1]) - paidBy(other.userId));
        expect(moneyToUnits(providerNow) - moneyToUnits(balancesBefore[2])).toBe(
          units(charges.filter((c) => c.creditAccount === `user:${provider.userId}`).map((c) => c.amount)),
        );
        const income = await t.app.get(DataSource).getRepository(HostIncome).findOneByOrFail({ hostId: host.id });
        expect(moneyToUnits(income.income)).toBe(units(charges.map((charge) => charge.amount)));
        expect(await t.app.get(LedgerService).verify()).toMatchObject({ total: '0', mismatches: [], malformed: [] });
      } finally {
        // retireHost deletes only `buyer`'s machines.
        for (const [i, machine] of machines.entries()) await owners[i].delete(`/api/machines/${machine.id}`);
      }
    }));

  it('applies exactly one of two concurrent stores of the last room on a host', () =>
    withHost({ name: 'tight', memory: 256 }, async (tight) => {
      const a = await register(buyer, { name: 'a' });
      const b = await register(buyer, { name: 'b' });
      const results = await Promise.all([
        buyer.post(`/api/machines/${a.id}/store`).send({ hostId: tight.id }),
        buyer.post(`/api/machines/${b.id}/store`).send({ hostId: tight.id }),
      ]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
      expect((await provider.get(`/api/hosts/${tight.id}`)).body).toMatchObject({ machineCount: 1, free: { memory: 0 } });
    }));
});
