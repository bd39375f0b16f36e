import { quote } from '@virtuoso/domain';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LedgerService } from '../src/accounts/ledger.service';
import { BillingPassService } from '../src/billing/billing-pass.service';
import { ManualClock, WALL_CLOCK } from '../src/common/clock';
import { Database } from '../src/common/database.service';
import { nowIso } from '../src/common/time';
import { Machine } from '../src/machines/machine.entity';
import { MachineStore } from '../src/machines/machine-store.service';
import { NotificationsService } from '../src/notifications/notifications.service';
import { HostsService, pricesOf } from '../src/providers/hosts.service';
import { AgentProcess } from './agent-process';
import { Agent, TestApp, addAgentHost, heardFrom, startApp } from './helpers';

type User = Agent & { handle: string; userId: string };

const S = 1000;
const D = 86_400_000;
const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);
/** Days with the report's 15 significant digits: "29.9920949074074 days". */
const days = (ms: number) => (ms / D).toPrecision(15);

/**
 * Hosts priced so that the report's machines cost what figs. 22, 23 and 32 show:
 *  virt17: a 4000-bogomip, 64 MB, 100 MB machine ("Configuration1") pays
 *          storage 100/100 × 0.1 × 30 = 3 per 30 days and running (4 × 0.0000001 + 16 × 0.00000001) × 3600 = 0.002016 per 3600 s;
 *  virt8:  a 1000-bogomip, 16 MB, 100 MB machine ("50") pays
 *          storage 100/100 × 0.0000000001 × 10 = 0.000000001 per 10 days and running 1000/3600 × 0.000000000001 × 3600 = 0.000000001 per 3600 s.
 */
const virt17 = {
  name: 'virt17',
  processor: 'pentium3',
  speed: 10000,
  speedUnit: 1000,
  speedUnitPrice: '0.0000001',
  memory: 512,
  memoryUnit: 4,
  memoryUnitPrice: '0.00000001',
  runningUnitAmount: 3600,
  storage: 100000,
  storageUnit: 100,
  storageUnitPrice: '0.1',
  storageAmount: 30,
  connectionSpeed: '1GB',
  agentHost: '129.105.44.214',
  agentPort: 8000,
};
const virt8 = {
  ...virt17,
  name: 'virt8',
  speedUnit: 3600,
  speedUnitPrice: '0.000000000001',
  memoryUnitPrice: '0',
  storageUnitPrice: '0.0000000001',
  storageAmount: 10,
  agentHost: '129.105.44.205',
};
const configuration1 = {
  name: 'Configuration1',
  processor: 'pentium3',
  speed: 4000,
  os: 'win98',
  memory: 64,
  disk: 100,
  askedStoragePerMonth: '3',
  askedRunningPerHour: '1',
};
const fifty = { ...configuration1, name: '50', speed: 1000, memory: 16 };

/**
 * Moves machines as the lifecycle does once their agent has answered, without a VM (billing needs
 * none): MachineStore.write in a transaction, so the billing hooks run exactly as for real.
 */
function lifecycle(app: () => TestApp) {
  const db = () => app().app.get(Database);
  const move = (id: string, changes: Partial<Machine>) =>
    db().transaction(async (em) => {
      const machine = await em.findOneByOrFail(Machine, { id });
      const written = await app().app.get(MachineStore).write(em, machine, changes);
      if (!written) throw new Error(`lost a race moving ${id}`);
      return written;
    });
  return {
    /** Reserves the machine's size on the host and fixes its prices, as a store does. */
    store: (id: string, hostId: string) =>
      db().transaction(async (em) => {
        const machine = await em.findOneByOrFail(Machine, { id });
        const size = { speed: machine.speed, memory: machine.memory, disk: machine.disk };
        const fixed = quote(pricesOf(await app().app.get(HostsService).reserve(em, hostId, size)), size);
        const { storagePrice, storageAmount, runningPrice, runningUnitAmount } = fixed;
        return app()
          .app.get(MachineStore)
          .write(em, machine, {
            state: 'stored',
            version: 1,
            hostId,
            storagePrice,
            storageAmount,
            runningPrice,
            runningUnitAmount,
            storedAt: nowIso(app().app.get(WALL_CLOCK)),
          });
      }),
    start: (id: string) => move(id, { state: 'running' }),
    stop: async (id: string) => move(id, { state: 'stopped', version: (await db().manager.findOneByOrFail(Machine, { id })).version + 1 }),
    remove: (id: string) => move(id, { state: 'deleted' }),
  };
}

describe('billing and the account pages', () => {
  let t: TestApp;
  let clock: ManualClock;
  let provider: User;
  let buyer: User;
  const hosts: Record<string, string> = {};

  beforeAll(async () => {
    clock = new ManualClock(T0 - 120 * S);
    t = await startApp({ clock });
    provider = await t.signUp('provider', 'RsrcProvider');
    buyer = await t.signUp('buyer', 'ResourceBuyer');
    for (const host of [virt17, virt8]) hosts[host.name] = (await provider.post('/api/hosts').send(host)).body.id;
  });
  afterAll(() => t.close());

  const pass = () => t.app.get(BillingPassService).runPass();
  const vm = lifecycle(() => t);
  const register = async (agent: Agent, spec: object) => {
    const response = await agent.post('/api/machines').send(spec);
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body.id as string;
  };
  const buyerPage = async (agent: Agent = buyer) => {
    const response = await agent.get('/api/account/buyer');
    expect(response.status).toBe(200);
    return response.body;
  };
  const ledgerIsSound = async () => {
    const check = await t.app.get(LedgerService).verify();
    expect(check).toMatchObject({ total: '0', mismatches: [], malformed: [] });
  };

  let config1: string;
  let machine50: string;
  const fig22 = T0 + 683 * S;

  it('charges the registration fee and storage period 0 at once (report §5.1.6: billing at the beginning of each cycle)', async () => {
    clock.set(T0 - 60 * S);
    config1 = await register(buyer, configuration1);
    machine50 = await register(buyer, fifty);
    // 1000 − 2 × 0.05
    expect((await buyerPage()).balance).toBe('999.9');
    clock.set(T0);
    await vm.store(config1, hosts.virt17);
    clock.set(T0 + 604 * S);
    await vm.store(machine50, hosts.virt8);
    // 999.9 − 3 − 0.000000001
    expect((await buyerPage()).balance).toBe('996.899999999');
    await ledgerIsSound();
  });

  it('fig. 22: 29.9920949074074 and 9.99908564814815 days to the storage debits, not running, 0.1000000001 per day', async () => {
    clock.set(fig22);
    const page = await buyerPage();
    expect(page.handle).toBe('ResourceBuyer');
    expect(page.asOf).toBe(new Date(fig22).toISOString());
    const [a, b] = page.machines;
    expect(a).toMatchObject({
      id: config1,
      name: 'Configuration1',
      state: 'stored',
      host: { id: hosts.virt17, name: 'virt17', owner: 'RsrcProvider' },
      storagePrice: '3',
      storageAmount: 30,
      runningPrice: '0.002016',
      runningUnitAmount: 3600,
      storagePerDay: '0.1',
      runningPerSecond: '0.00000056',
      running: false,
      nextRunningDebit: null,
      prepaidMsLeft: 0,
    });
    expect(b).toMatchObject({ id: machine50, storagePrice: '0.000000001', storageAmount: 10, runningPrice: '0.000000001', nextRunningDebit: null });
    // (30 days − 683 s) and (10 days − 79 s)
    expect(days(a.nextStorageDebit.inMs)).toBe('29.9920949074074');
    expect(days(b.nextStorageDebit.inMs)).toBe('9.99908564814815');
    expect(a.nextStorageDebit).toMatchObject({ at: new Date(T0 + 30 * D).toISOString(), amount: '3' });
    // 3/30 + 0.000000001/10 per day; nothing runs
    expect(page.totals).toEqual({ storagePerDay: '0.1000000001', runningPerSecond: '0' });
    expect(page.standing).toEqual({ nextCharges: '3.000000001', low: false, lowSince: null, overdrawnSince: null, suspendAt: null, held: false });
  });

  it('fig. 23: starting "50" charges one slice at once; 3566 s later-to-go after 34 s; 2.7777777777778e-13 per second', async () => {
    clock.set(fig22 + 17 * S);
    await vm.start(machine50);
    clock.set(fig22 + 51 * S);
    const page = await buyerPage();
    expect(page.balance).toBe('996.899999998');
    const b = page.machines[1];
    expect(b).toMatchObject({ state: 'running', running: true, prepaidMsLeft: 3566 * S, nextRunningDebit: { inMs: 3566 * S, amount: '0.000000001' } });
    expect(days(b.nextStorageDebit.inMs)).toBe('9.99849537037037');
    expect(days(page.machines[0].nextStorageDebit.inMs)).toBe('29.9915046296296');
    // 0.000000001 / 3600 = 2.77…e-13 $/s, shown as a plain decimal with the report's 14 significant digits
    expect(page.totals).toEqual({ storagePerDay: '0.1000000001', runningPerSecond: '0.00000000000027777777777778' });
  });

  it("fig. 32: the provider sees each host's prices and income, and when its clients are next billed", async () => {
    // "50" stored at T0 + 604 s, started at fig22 + 17 s (= T0 + 700 s); seen 2051 s after its store:
    // storage (10 days − 2051 s) = 9.97626157407407 days; running 3600 − (2655 − 700) = 1645 s
    clock.set(T0 + (604 + 2051) * S);
    const response = await provider.get('/api/account/provider');
    expect(response.status).toBe(200);
    const page = response.body;
    // storage 3 + 0.000000001 and one running slice 0.000000001
    expect(page).toMatchObject({ handle: 'RsrcProvider', balance: '3.000000002', income: '3.000000002' });
    const v8 = page.hosts.find((host: { name: string }) => host.name === 'virt8');
    expect(v8).toMatchObject({ speedUnit: 3600, speedUnitPrice: '0.000000000001', storageUnitPrice: '0.0000000001', storageAmount: 10, income: '0.000000002' });
    expect(v8.machines).toHaveLength(1);
    expect(days(v8.machines[0].nextStorageBill.inMs)).toBe('9.97626157407407');
    expect(v8.machines[0].nextRunningBill.inMs).toBe(1645 * S);
    // "currently making you $1e-10 per day of storing ... and 2.7777777777778e-13 per second of running"
    expect(v8.making).toEqual({ storagePerDay: '0.0000000001', runningPerSecond: '0.00000000000027777777777778' });
    expect(page.making).toEqual({ storagePerDay: '0.1000000001', runningPerSecond: '0.00000000000027777777777778' });
  });

  it('a pass charges each due slice and period at its own instant; stopping stops the balance falling', async () => {
    // "50" runs from T0 + 700 s: slices 1 and 2 fall due at T0 + 4300 s and T0 + 7900 s
    clock.set(T0 + 8000 * S);
    expect(await pass()).toMatchObject({ charges: 2, meters: 1 });
    expect((await buyerPage()).balance).toBe('996.899999996');
    await vm.stop(machine50);
    const stopped = await buyerPage();
    // 7900 + 3600 − 8000 = 3500 s prepaid left, paused
    expect(stopped.machines[1]).toMatchObject({ state: 'stopped', running: false, nextRunningDebit: null, prepaidMsLeft: 3500 * S });
    // Ten hours later: nothing more charged while stopped; repeating the pass changes nothing
    clock.set(T0 + 44_000 * S);
    expect(await pass()).toMatchObject({ charges: 0 });
    expect(await pass()).toMatchObject({ charges: 0 });
    expect((await buyerPage()).balance).toBe('996.899999996');
    // 31 days after the store: storage period 1 of each (Configuration1 at T0 + 30 days, "50" at T0 + 604 s + 10 and 20 and 30 days)
    clock.set(T0 + 31 * D);
    expect(await pass()).toMatchObject({ charges: 4 });
    expect((await buyerPage()).balance).toBe('993.899999993');
    await ledgerIsSound();
  });

  it('the statement lists ledger entries newest first, filters and pages them, and exports CSV with exact amounts', async () => {
    const all = (await buyer.get('/api/account/statement')).body;
    // signup, 2 fees, 2 + 4 storage periods, 3 running slices
    expect(all.total).toBe(12);
    expect(all.items[0]).toMatchObject({
      kind: 'storage',
      amount: '-0.000000001',
      machineName: '50',
      hostName: 'virt8',
      description: 'storage of 50 on virt8, period 4',
    });
    expect(all.items.at(-1)).toMatchObject({ kind: 'topUp', amount: '1000', description: 'sign-up credit', machineId: null });
    const ats = all.items.map((item: { at: string }) => item.at);
    expect([...ats].sort().reverse()).toEqual(ats);

    const running = (await buyer.get(`/api/account/statement?kind=running&machineId=${machine50}`)).body;
    expect(running.items.map((item: { description: string; amount: string }) => [item.description, item.amount])).toEqual([
      ['running of 50 on virt8, slice 3', '-0.000000001'],
      ['running of 50 on virt8, slice 2', '-0.000000001'],
      ['running of 50 on virt8, slice 1', '-0.000000001'],
    ]);
    const window = (await buyer.get(`/api/account/statement?from=${new Date(T0).toISOString()}&to=${new Date(T0 + D).toISOString()}`)).body;
    expect(window.total).toBe(5); // the two storage periods 0 and the three slices
    const page = (await buyer.get('/api/account/statement?limit=5&offset=5')).body;
    expect(page).toMatchObject({ total: 12, limit: 5, offset: 5 });
    expect(page.items.map((item: { key: string }) => item.key)).toEqual(all.items.slice(5, 10).map((item: { key: string }) => item.key));

    // The provider sees the same movements as credits.
    const credits = (await provider.get('/api/account/statement')).body;
    expect(credits.total).toBe(9);
    expect(credits.items.every((item: { amount: string }) => !item.amount.startsWith('-'))).toBe(true);

    const csv = await buyer.get('/api/account/statement?format=csv');
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe('at,kind,amount,machine,host,description,key');
    expect(lines).toHaveLength(13);
    expect(lines[1]).toMatch(/^2026-12-\d\dT.*,storage,-0\.000000001,50,virt8,"storage of 50 on virt8, period 4",storage:/);
    const byAccept = await buyer.get('/api/account/statement?kind=fee').set('Accept', 'text/csv');
    expect(
      byAccept.text
        .trimEnd()
        .split('\r\n')
        .slice(1)
        .map((line) => line.split(',')[2]),
    ).toEqual(['-0.05', '-0.05']);

    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['kind=gift', 'kind'],
      ['from=yesterday', 'from'],
      ['format=xml', 'format'],
      ['machineId=x', 'machineId'],
    ]) {
      const bad = await buyer.get(`/api/account/statement?${query}`);
      expect(bad.status, query).toBe(400);
      expect(bad.body.fields, query).toHaveProperty(field);
    }
  });

  it('adds value: exact, positive, at most 12 decimals, once per requestId', async () => {
    const before = (await buyerPage()).balance;
    const added = await buyer.post('/api/account/top-ups').send({ amount: '0.000000000007', requestId: '6c0e2b8a-3f5d-4e7c-9b1a-2d4f6e8a0c1b' });
    expect(added.status).toBe(201);
    expect(added.body.balance).toBe('993.899999993007');
    expect(added.body.entry).toMatchObject({ kind: 'topUp', amount: '0.000000000007', description: 'top-up' });
    expect(before).toBe('993.899999993');
    const again = await buyer.post('/api/account/top-ups').send({ amount: '0.000000000007', requestId: '6c0e2b8a-3f5d-4e7c-9b1a-2d4f6e8a0c1b' });
    expect(again.status).toBe(201);
    expect(again.body.balance).toBe('993.899999993007');
    expect((await buyer.post('/api/account/top-ups').send({ amount: '5', requestId: '6c0e2b8a-3f5d-4e7c-9b1a-2d4f6e8a0c1b' })).status).toBe(409);
    for (const amount of ['0', '-1', '1.0000000000001', 'ten', 5, '1e20']) {
      const refused = await buyer.post('/api/account/top-ups').send({ amount });
      expect(refused.status, String(amount)).toBe(400);
      expect(refused.body.fields, String(amount)).toHaveProperty('amount');
    }
    expect((await buyerPage()).balance).toBe('993.899999993007');
    expect((await provider.post('/api/account/top-ups').send({ amount: '1' })).status).toBe(403);
    await ledgerIsSound();
  });

  it('deleting a machine stops its billing', async () => {
    await vm.remove(machine50);
    clock.set(T0 + 400 * D);
    const charged = await pass();
    // Only Configuration1's storage: periods 2..13 (T0 + 60 … 390 days)
    expect(charged).toMatchObject({ charges: 12 });
    const page = await buyerPage();
    expect(page.machines.map((m: { name: string }) => m.name)).toEqual(['Configuration1']);
    await ledgerIsSound();
  });
});

/**
 * Low balance end to end, on a REAL provider agent and a REAL QEMU machine (blank: SeaBIOS only):
 * the suspension goes through the machines service to the agent, as it would in production. The
 * billing clock is a ManualClock; the agent keeps real time.
 */
describe.sequential('low balance, on a real agent', () => {
  let t: TestApp;
  let clock: ManualClock;
  let provider: User;
  let buyer: User;
  let agent: AgentProcess;
  let hostId: string;
  let machineId: string;

  beforeAll(async () => {
    clock = new ManualClock(T0);
    // 3.1 to start with: a Configuration1 machine costs 0.05 to register, 3 per 30 days to store, 0.002016 per hour to run
    t = await startApp({ listen: true, clock, config: { signupCredit: '3.1', lowBalanceGraceSeconds: 86_400 } });
    provider = await t.signUp('provider');
    buyer = await t.signUp('buyer');
    agent = await AgentProcess.join(t, provider);
    const { agentHost: _h, agentPort: _p, ...prices } = virt17;
    hostId = (await addAgentHost(provider, agent.agentId, { ...prices, name: 'lowbal-host', speed: 8000, storage: 20000 })).id;
  });
  afterAll(async () => {
    await agent?.cleanup();
    await t?.close();
  });

  const pass = () => t.app.get(BillingPassService).runPass();
  const notices = async () =>
    (await buyer.get('/api/notifications')).body as {
      unread: number;
      items: Array<{ id: string; kind: string; subject: string; body: string; emailed: boolean }>;
    };
  const outbox = async () => {
    await t.app.get(NotificationsService).idle();
    await t.app.get(NotificationsService).dispatch();
    const dir = join(t.dir, 'outbox');
    return readdirSync(dir)
      .sort()
      .map((file) => readFileSync(join(dir, file), 'utf8'));
  };
  const state = async () => (await buyer.get(`/api/machines/${machineId}`)).body.state as string;

  it('warns a buyer whose balance cannot cover the next charges, in the app and by email', async () => {
    machineId = (await buyer.post('/api/machines').send(configuration1)).body.id;
    // 3.1 − 0.05 − 3 = 0.05: storage period 1 (3, at T0 + 30 days) is not covered
    const stored = await buyer.post(`/api/machines/${machineId}/store`).send({ hostId });
    expect(stored.status, JSON.stringify(stored.body)).toBe(200);
    const list = await notices();
    expect(list.unread).toBe(1);
    expect(list.items[0]).toMatchObject({ kind: 'lowBalance', subject: 'Your Virtuoso balance is running low' });
    // The first due: storage period 1, T0 + 30 days.
    expect(list.items[0].body).toContain(
      `Your balance, 0.05, does not cover the next charges of your machines, 3 in all. The first of them falls due at 2026-12-25 12:00 UTC.`,
    );
    expect(list.items[0].body).toContain('if it is still short 1 day after it went below zero, your running machines will be suspended');
    const mails = await outbox();
    expect(mails).toHaveLength(1);
    expect(mails[0]).toContain(`To: ${buyer.handle}@example.com`);
    expect(mails[0]).toContain('Subject: Your Virtuoso balance is running low');
    expect((await notices()).items[0].emailed).toBe(true);

    // Starting it is allowed: 0.05 covers the first slice, 0.002016
    const started = await buyer.post(`/api/machines/${machineId}/start`);
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    let page = (await buyer.get('/api/account/buyer')).body;
    expect(page).toMatchObject({ balance: '0.047984' });
    expect(page.standing).toEqual({
      nextCharges: '3.002016',
      low: true,
      lowSince: new Date(T0).toISOString(),
      overdrawnSince: null,
      suspendAt: null,
      held: false,
    });
    // 23 hours of running: 0.047984 − 23 × 0.002016 = 0.001616; no second warning
    clock.set(T0 + 23 * 3600 * S);
    await pass();
    page = (await buyer.get('/api/account/buyer')).body;
    expect(page.balance).toBe('0.001616');
    expect((await notices()).items).toHaveLength(1);
  });

  it('charges on into a negative balance, then after the grace period suspends the running machine through its agent (never deletes it)', async () => {
    // slice 24 at T0 + 24 h: 0.001616 − 0.002016 = −0.0004; the grace period runs from here
    clock.set(T0 + 24 * 3600 * S);
    await pass();
    let page = (await buyer.get('/api/account/buyer')).body;
    expect(page.balance).toBe('-0.0004');
    expect(page.standing).toMatchObject({
      overdrawnSince: new Date(T0 + 24 * 3600 * S).toISOString(),
      suspendAt: new Date(T0 + 48 * 3600 * S).toISOString(),
      held: false,
    });
    clock.set(T0 + 47 * 3600 * S);
    await pass();
    expect(await state()).toBe('running');
    clock.set(T0 + 48 * 3600 * S + S);
    await pass();
    expect(await state()).toBe('suspended');
    page = (await buyer.get('/api/account/buyer')).body;
    // slices 25..48 were charged while it ran: −0.0004 − 24 × 0.002016 = −0.048784
    expect(page.balance).toBe('-0.048784');
    expect(page.standing).toMatchObject({ nextCharges: '3', low: true, held: true, suspendAt: null });
    // slice 48 runs to T0 + 49 h: 3599 s are left for the next start
    expect(page.machines[0]).toMatchObject({ state: 'suspended', running: false, nextRunningDebit: null, prepaidMsLeft: 3599 * S });
    const list = await notices();
    expect(list.items.map((item) => item.kind)).toEqual(['suspended', 'lowBalance']);
    expect(list.items[0].body).toContain('Your balance, -0.048784, has been below zero since 2026-11-26 12:00 UTC'); // T0 + 24 h
    expect(list.items[0].body).toContain('Suspending your running machines: Configuration1.');
    expect((await outbox()).length).toBe(2);
  });

  it('refuses to resume with 402 until a top-up covers the next charges, then resumes on the agent', async () => {
    const refused = await buyer.post(`/api/machines/${machineId}/resume`);
    expect(refused.status).toBe(402);
    expect(refused.body.message).toBe('top up first: balance -0.048784 is below the next charge 3');
    expect(await state()).toBe('suspended');
    // too little: still short
    await buyer.post('/api/account/top-ups').send({ amount: '0.001' });
    expect((await buyer.post(`/api/machines/${machineId}/resume`)).status).toBe(402);
    // enough for the next charges: the hold is lifted, the buyer is told, and the machine resumes (on its prepaid time)
    const topped = await buyer.post('/api/account/top-ups').send({ amount: '10' });
    expect(topped.status).toBe(201);
    expect(topped.body.balance).toBe('9.952216');
    const page = (await buyer.get('/api/account/buyer')).body;
    expect(page.standing).toMatchObject({ low: false, held: false, lowSince: null, overdrawnSince: null });
    expect((await notices()).items[0]).toMatchObject({ kind: 'balanceRestored' });
    const resumed = await buyer.post(`/api/machines/${machineId}/resume`);
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    expect(resumed.body.state).toBe('running');
    expect((await buyer.get('/api/account/buyer')).body.balance).toBe('9.952216');
    expect(await t.app.get(LedgerService).verify()).toMatchObject({ total: '0', mismatches: [], malformed: [] });
  });

  it('marks notices read', async () => {
    const list = await notices();
    expect(list.unread).toBe(3);
    const read = await buyer.post(`/api/notifications/${list.items[2].id}/read`);
    expect(read.status).toBe(200);
    expect(read.body.readAt).not.toBeNull();
    expect((await notices()).unread).toBe(2);
    expect((await buyer.get('/api/notifications?unread=true')).body.items).toHaveLength(2);
    expect((await buyer.post('/api/notifications/read-all')).status).toBe(204);
    expect((await notices()).unread).toBe(0);
    expect((await provider.post(`/api/notifications/${list.items[0].id}/read`)).status).toBe(404);
  });

  it('a provider force-removes the host: the running machine goes back to registered, billing stops, the agent deletes the VM, the owner is told', async () => {
    clock.set(T0 + 50 * 3600 * S);
    const refused = await provider.delete(`/api/hosts/${hostId}`).query({ force: 'true' }).send({ confirmName: 'wrong' });
    expect(refused.status).toBe(409);
    expect(refused.body.message).toBe('host lowbal-host still stores 1 machine; to remove it anyway, confirm with its name: confirmName "lowbal-host"');
    const removed = await provider.delete(`/api/hosts/${hostId}`).query({ force: 'true' }).send({ confirmName: 'lowbal-host' });
    expect(removed.status, JSON.stringify(removed.body)).toBe(204);
    const machine = (await buyer.get(`/api/machines/${machineId}`)).body;
    expect(machine).toMatchObject({ state: 'registered', host: null, storagePrice: null, name: 'Configuration1', memory: 64 });
    expect(machine.lastError).toBe(`its host lowbal-host was removed by its provider ${provider.handle} (${provider.handle}@example.com)`);
    // slice 50 (T0 + 50 h) was due before the removal; nothing is charged after it
    const before = (await buyer.get('/api/account/buyer')).body;
    expect(before.machines).toEqual([]);
    clock.set(T0 + 60 * D);
    expect(await pass()).toMatchObject({ charges: 0 });
    expect((await buyer.get('/api/account/buyer')).body.balance).toBe(before.balance);
    const notice = (await notices()).items[0];
    expect(notice).toMatchObject({ kind: 'hostRemoved', subject: 'Your machine Configuration1 lost its host lowbal-host' });
    expect(notice.body).toContain(`To get in touch with the provider: ${provider.handle} (${provider.handle}@example.com).`);
    expect((await outbox()).at(-1)).toContain('Subject: Your machine Configuration1 lost its host lowbal-host');
    // the agent was asked to delete the VM (its disk goes with the host anyway)
    await agent.waitFor(new RegExp(`machine ${machineId}: deleted`), 20_000);
    // the provider's income from the removed host is still counted
    const account = (await provider.get('/api/account/provider')).body;
    expect(account.hosts).toEqual([]);
    expect(account.income).not.toBe('0');
    expect(await t.app.get(LedgerService).verify()).toMatchObject({ total: '0', mismatches: [], malformed: [] });
  });

  it('refuses to store when the balance does not cover storage period 0', async () => {
    const poor = await t.signUp('buyer');
    const host = (await provider.post('/api/hosts').send({ ...virt17, name: 'by-hand', speed: 100_000 })).body.id;
    // Online (a stand-in agent heard from just now): an offline host is refused before the balance is looked at.
    await heardFrom(t, [host]);
    const id = (await poor.post('/api/machines').send(configuration1)).body.id;
    // 3.1 − 3 × 0.05 = 2.95 does not cover storage period 0, 3
    await poor.post('/api/machines').send({ ...configuration1, name: 'second' });
    await poor.post('/api/machines').send({ ...configuration1, name: 'third' });
    const refused = await poor.post(`/api/machines/${id}/store`).send({ hostId: host });
    expect(refused.status).toBe(402);
    expect(refused.body.message).toBe('top up first: balance 2.95 is below the next charge 3');
    expect((await poor.get(`/api/machines/${id}`)).body.state).toBe('registered');
  });
});

describe('machines stored before billing existed', () => {
  it('are billed from the first boot on, as if stored (and started) then', async () => {
    const clock = new ManualClock(T0);
    const t = await startApp({ clock });
    try {
      const provider = await t.signUp('provider');
      const buyer = await t.signUp('buyer');
      const host = (await provider.post('/api/hosts').send(virt17)).body.id as string;
      const id = (await buyer.post('/api/machines').send(configuration1)).body.id as string;
      // an older version stored and started it: the row says so, no meter exists
      await t.app.get(Database).transaction((em) =>
        em.update(
          Machine,
          { id },
          {
            state: 'running',
            version: 1,
            hostId: host,
            storagePrice: '3',
            storageAmount: 30,
            runningPrice: '0.002016',
            runningUnitAmount: 3600,
            storedAt: nowIso(t.app.get(WALL_CLOCK)),
          },
        ),
      );
      clock.set(T0 + 5 * S);
      expect(await t.app.get(BillingPassService).adoptUnbilled()).toBe(1);
      expect(await t.app.get(BillingPassService).adoptUnbilled()).toBe(0);
      const page = (await buyer.get('/api/account/buyer')).body;
      // 1000 − 0.05 − 3 − 0.002016
      expect(page.balance).toBe('996.947984');
      expect(page.machines[0]).toMatchObject({ id, running: true, nextRunningDebit: { inMs: 3600 * S } });
    } finally {
      await t.close();
    }
  });
});

describe('a forced host removal without a reachable agent', () => {
  let t: TestApp;
  const clock = new ManualClock(T0);
  const vm = lifecycle(() => t);

  beforeAll(async () => {
    t = await startApp({ clock });
  });
  afterAll(() => t?.close());

  it('refuses without confirmation (409 naming the machines), then sends every machine back to registered, refunds the unused storage and running time pro rata and tells each owner', async () => {
    const provider = await t.signUp('provider', 'RsrcProvider');
    const alice = await t.signUp('buyer');
    const bob = await t.signUp('buyer');
    const host = (await provider.post('/api/hosts').send(virt17)).body.id as string;
    const a = (await alice.post('/api/machines').send(configuration1)).body.id as string;
    const b = (await bob.post('/api/machines').send({ ...configuration1, name: 'bobs' })).body.id as string;
    await vm.store(a, host);
    await vm.store(b, host);
    await vm.start(b);

    const plain = await provider.delete(`/api/hosts/${host}`);
    expect(plain.status).toBe(409);
    expect(plain.body.message).toBe('host virt17 still stores 2 machines; they must leave first');
    const unconfirmed = await provider.delete(`/api/hosts/${host}?force=true`);
    expect(unconfirmed.status).toBe(409);
    expect(unconfirmed.body.fields).toHaveProperty('confirmName');
    expect((await provider.delete(`/api/hosts/${host}?force=maybe`).send({ confirmName: 'virt17' })).status).toBe(400);

    clock.set(T0 + 2 * 3600 * S);
    const removed = await provider.delete(`/api/hosts/${host}?force=true`).send({ confirmName: 'virt17' });
    expect(removed.status).toBe(204);
    expect((await provider.get(`/api/hosts/${host}`)).status).toBe(404);
    for (const [owner, id] of [
      [alice, a],
      [bob, b],
    ] as const) {
      expect((await owner.get(`/api/machines/${id}`)).body).toMatchObject({ state: 'registered', host: null });
      const notice = (await owner.get('/api/notifications')).body.items[0];
      expect(notice).toMatchObject({ kind: 'hostRemoved', machineId: id });
      expect(notice.body).toContain('The provider RsrcProvider has removed the host virt17');
      expect(notice.body).toContain('To get in touch with the provider: RsrcProvider (RsrcProvider@example.com).');
    }
    // bob's machine ran from T0: slices 0, 1 and 2 (T0, +1 h, +2 h: due at the removal instant, so charged); then nothing
    const bobs = (await bob.get(`/api/account/statement?kind=running`)).body;
    expect(bobs.total).toBe(3);

    // Refunds, pro rata (libs/domain refundsOnHostRemoval), rounded down to 12 decimals:
    //   storage period 0 (3 per 30 days, paid at T0), removed at T0 + 2 h: 720 h − 2 h = 718 h unused,
    //     3 × 718 / 720 = 2.9916666… → 2.991666666666, for alice and for bob;
    //   bob's slice 2 (0.002016 per 3600 s) was paid at the removal instant and not used at all: 0.002016.
    // alice: 1000 − 0.05 − 3 + 2.991666666666 = 999.941666666666;
    // bob:   1000 − 0.05 − 3 − 3 × 0.002016 + 2.991666666666 + 0.002016 = 999.937634666666;
    // the provider earned 3 + 3 + 3 × 0.002016 = 6.006048 and refunds 2 × 2.991666666666 + 0.002016 = 5.985349333332: 0.020698666668 left.
    const refundsOf = async (owner: typeof alice) => (await owner.get('/api/account/statement?kind=refund')).body.items as Array<Record<string, unknown>>;
    expect(await refundsOf(alice)).toEqual([
      expect.objectContaining({
        key: `refund:storage:${a}:${T0}:0`,
        kind: 'refund',
        amount: '2.991666666666',
        hostName: 'virt17',
        description: 'refund of unused storage of Configuration1 on virt17 (host removed by its provider)',
      }),
    ]);
    expect((await refundsOf(bob)).map((item) => [item.key, item.amount, item.description])).toEqual([
      [`refund:storage:${b}:${T0}:0`, '2.991666666666', 'refund of unused storage of bobs on virt17 (host removed by its provider)'],
      [`refund:running:${b}:2`, '0.002016', 'refund of unused running time of bobs on virt17 (host removed by its provider)'],
    ]);
    expect((await alice.get('/api/auth/me')).body.balance).toBe('999.941666666666');
    expect((await bob.get('/api/auth/me')).body.balance).toBe('999.937634666666');
    expect((await refundsOf(provider)).map((item) => item.amount).sort()).toEqual(['-0.002016', '-2.991666666666', '-2.991666666666']);
    expect((await provider.get('/api/account/provider')).body.income).toBe('0.020698666668');
    const bobsNotice = (await bob.get('/api/notifications')).body.items[0];
    expect(bobsNotice.body).toContain(
      'You have been refunded 2.993682666666: 2.991666666666 for the 29 days 22 hours left of the storage period you had paid for, ' +
        'and 0.002016 for the 1 hour of running time you had prepaid (see your statement).',
    );
    expect((await alice.get('/api/notifications')).body.items[0].body).toContain(
      'You have been refunded 2.991666666666: 2.991666666666 for the 29 days 22 hours left of the storage period you had paid for (see your statement).',
    );
    expect(await t.app.get(LedgerService).verify()).toMatchObject({ total: '0', mismatches: [], malformed: [] });

    clock.set(T0 + 90 * D);
    expect(await t.app.get(BillingPassService).runPass()).toMatchObject({ charges: 0 });
    // Stored again on another host it bills afresh: the refunded slice is no longer prepaid, so a start charges slice 3 at once.
    const other = (await provider.post('/api/hosts').send({ ...virt17, name: 'virt18' })).body.id as string;
    await vm.store(b, other);
    await vm.start(b);
    clock.set(T0 + 90 * D + 3600 * S);
    expect(await t.app.get(BillingPassService).runPass()).toMatchObject({ charges: 1 });
    const keys = (await bob.get(`/api/account/statement?kind=running`)).body.items.map((item: { key: string }) => item.key);
    expect(keys).toEqual([`running:${b}:4`, `running:${b}:3`, `running:${b}:2`, `running:${b}:1`, `running:${b}:0`]);
    expect(await t.app.get(LedgerService).verify()).toMatchObject({ total: '0', mismatches: [], malformed: [] });
    const income = (await provider.get('/api/account/provider')).body;
    expect(income.hosts.map((h: { name: string }) => h.name)).toEqual(['virt18']);
  });
});
