import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';
import { AgentProcess } from './agent-process';
import { Agent, TestApp, addAgentHost, heardFrom, startApp, virt8, win2000Pro } from './helpers';

interface Offer {
  hostId: string;
  hostName: string;
  runningPerHour: string;
  storagePerMonth: string;
  runningPrice: string;
  free: { speed: number; memory: number; storage: number };
}

/**
 * win2000Pro (4000 bogomips, 256 MB, 1000 MB) asking 60 /month and 10.11 /hour, on hosts with virt8's
 * units (1000 bogomips, 4 MB, 100 MB). Running per hour = (4 × speed price + 64 × memory price) × 3600,
 * storage per month = 10 × storage price × 30:
 *
 *   host      speed    memory   storage   per hour                          per month
 *   c-low     0.00001  0.00001  0.01      (4 + 64) × 0.00001 × 3600 = 2.448  3
 *   b-mid     0.00002  0.00001  0.01      (8 + 64) × 0.00001 × 3600 = 2.592  3
 *   a-mid     0.00002  0.00001  0.01      2.592 (ties b-mid: a-mid first by name)   3
 *   d-mid     0.00002  0.00001  0.005     2.592 (ties on running; cheaper to store)  1.5
 *   e-high    0.00003  0.00001  0.01      (12 + 64) × 0.00001 × 3600 = 2.736 3
 *   f-dear    0.01     0.00001  0.01      (400 + 64) × 0.00001 × 3600 > 10.11: not acceptable
 *   g-small   0.00001  0.00001  0.01      only 128 MB of memory: does not fit
 *
 * So the order is c-low, d-mid, a-mid, b-mid, e-high, and 5 hosts qualify.
 */
const HOSTS = [
  { name: 'b-mid', speedUnitPrice: '0.00002' },
  { name: 'f-dear', speedUnitPrice: '0.01' },
  { name: 'e-high', speedUnitPrice: '0.00003' },
  { name: 'c-low' },
  { name: 'g-small', memory: 128 },
  { name: 'a-mid', speedUnitPrice: '0.00002' },
  { name: 'd-mid', speedUnitPrice: '0.00002', storageUnitPrice: '0.005' },
];
const ORDER = ['c-low', 'd-mid', 'a-mid', 'b-mid', 'e-high'];
const spec = { speed: 4000, memory: 256, disk: 1000, askedStoragePerMonth: '60', askedRunningPerHour: '10.11' };
const search = (agent: Agent, query = '') => agent.post(`/api/market/search${query}`).send(spec);
const names = (body: Offer[]) => body.map((offer) => offer.hostName);

describe('market search: limit and X-Total-Count', () => {
  let t: TestApp;
  let provider: Agent;
  let buyer: Agent;
  let machineId: string;
  let agent: AgentProcess;

  beforeAll(async () => {
    // The hosts added by hand get stand-in agents heard from at the start (heardFrom): online for the whole file.
    t = await startApp({ listen: true, config: { agentOfflineMs: 3_600_000 } });
    provider = await t.signUp('provider');
    buyer = await t.signUp('buyer');
    // c-low is where a machine gets stored: it is served by a real agent (8000 bogomips, 20000 MB sold).
    agent = await AgentProcess.join(t, provider);
    for (const host of HOSTS) {
      if (host.name === 'c-low') {
        await addAgentHost(provider, agent.agentId, host);
        continue;
      }
      const response = await provider.post('/api/hosts').send(virt8(host));
      if (response.status !== 201) throw new Error(JSON.stringify(response.body));
      await heardFrom(t, [response.body.id]);
    }
    machineId = (await buyer.post('/api/machines').send(win2000Pro())).body.id;
  });
  afterAll(async () => {
    await agent?.cleanup();
    await t?.close();
  });

  it('without a limit returns every qualifying host (fewer than 100), cheapest to run, then to store, then by name', async () => {
    const response = await search(buyer);
    expect(response.status).toBe(200);
    expect(names(response.body)).toEqual(ORDER);
    expect(response.headers['x-total-count']).toBe('5');
    expect(response.body.map((offer: Offer) => [offer.runningPerHour, offer.storagePerMonth])).toEqual([
      ['2.448', '3'],
      ['2.592', '1.5'],
      ['2.592', '3'],
      ['2.592', '3'],
      ['2.736', '3'],
    ]);
    expect(response.body[0]).toMatchObject({ runningPrice: '2.448', free: { speed: 8000, memory: 512, storage: 20000 } });
  });

  it('with ?limit= returns only the cheapest, and X-Total-Count still counts them all', async () => {
    for (const limit of [1, 2, 3, 5, 500]) {
      const response = await search(buyer, `?limit=${limit}`);
      expect(response.status, `limit ${limit}`).toBe(200);
      expect(names(response.body), `limit ${limit}`).toEqual(ORDER.slice(0, limit));
      expect(response.headers['x-total-count'], `limit ${limit}`).toBe('5');
    }
  });

  it('counts zero, with an empty page, when nothing is acceptable', async () => {
    const response = await buyer.post('/api/market/search?limit=3').send({ ...spec, askedRunningPerHour: '2.447' });
    expect(response.status).toBe(200);
    expect(response.body).toEqual([]);
    expect(response.headers['x-total-count']).toBe('0');
  });

  it('refuses a limit that is not a whole number from 1 to 500 with a 400 naming limit', async () => {
    for (const bad of ['0', '501', '-1', '1.5', 'ten', '', '1e2', '10&limit=20']) {
      const response = await search(buyer, `?limit=${bad}`);
      expect(response.status, `limit=${bad}`).toBe(400);
      expect(response.body, `limit=${bad}`).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: 'limit must be a whole number from 1 to 500',
        fields: { limit: ['limit must be a whole number from 1 to 500'] },
      });
    }
    const machineSearch = await buyer.get(`/api/machines/${machineId}/offers?limit=0`);
    expect(machineSearch.status).toBe(400);
    expect(machineSearch.body.fields).toEqual({ limit: ['limit must be a whole number from 1 to 500'] });
  });

  it('a registered machine’s search takes the same limit and header', async () => {
    const all = await buyer.get(`/api/machines/${machineId}/offers`);
    expect(all.status).toBe(200);
    expect(names(all.body)).toEqual(ORDER);
    expect(all.headers['x-total-count']).toBe('5');
    const two = await buyer.get(`/api/machines/${machineId}/offers?limit=2`);
    expect(names(two.body)).toEqual(['c-low', 'd-mid']);
    expect(two.headers['x-total-count']).toBe('5');
  });

  it('counts fit on free resources: a host that fills up leaves the count', async () => {
    // A 300 MB machine on c-low leaves it 212 MB of memory, too few for win2000Pro's 256.
    const filler = (await buyer.post('/api/machines').send(win2000Pro({ name: 'filler', speed: 1000, memory: 300, disk: 100 }))).body;
    const cLow = (await search(buyer)).body[0] as Offer;
    expect((await buyer.post(`/api/machines/${filler.id}/store`).send({ hostId: cLow.hostId })).status).toBe(200);
    const after = await search(buyer, '?limit=1');
    expect(names(after.body)).toEqual(['d-mid']);
    expect(after.headers['x-total-count']).toBe('4');
    await buyer.delete(`/api/machines/${filler.id}`);
    expect((await search(buyer)).headers['x-total-count']).toBe('5');
  });

  it('storing re-checks the price exactly: a host that raised its price after the search is refused', async () => {
    const machine = (await buyer.post('/api/machines').send(win2000Pro({ name: 'late', askedRunningPerHour: '2.448' }))).body;
    // Asking exactly 2.448 /hour: only c-low qualifies.
    const offers = await buyer.get(`/api/machines/${machine.id}/offers`);
    expect(names(offers.body)).toEqual(['c-low']);
    expect(offers.headers['x-total-count']).toBe('1');
    const cLow = offers.body[0] as Offer;
    // One smallest money unit more per speed unit: (4 × 0.000010000001 + 64 × 0.00001) × 3600 = 2.448000014400
    const own = (await provider.get('/api/hosts')).body as Array<{ id: string; name: string }>;
    expect((await provider.patch(`/api/hosts/${own.find((h) => h.name === 'c-low')!.id}`).send({ speedUnitPrice: '0.000010000001' })).status).toBe(200);
    const refused = await buyer.post(`/api/machines/${machine.id}/store`).send({ hostId: cLow.hostId });
    expect(refused.status).toBe(409);
    expect(refused.body.message).toBe('host c-low asks 3 per month for storage and 2.4480000144 per hour for running, above the asked 60 and 2.448');
    expect((await buyer.get(`/api/machines/${machine.id}`)).body).toMatchObject({ state: 'registered', version: 0 });
    expect((await buyer.get(`/api/machines/${machine.id}/offers`)).headers['x-total-count']).toBe('0');
  });

  it('documents limit and X-Total-Count on both searches', async () => {
    const document = (await t.anonymous().get('/api/docs-json')).body;
    for (const [path, method] of [
      ['/api/market/search', 'post'],
      ['/api/machines/{id}/offers', 'get'],
    ]) {
      const operation = document.paths[path][method];
      const limit = operation.parameters.find((parameter: { name: string }) => parameter.name === 'limit');
      expect(limit, path).toMatchObject({ in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } });
      expect(limit.description, path).toMatch(/X-Total-Count/);
      expect(limit.schema.example, path).toBe(20);
      expect(operation.responses['200'].headers['X-Total-Count'], path).toMatchObject({ schema: { type: 'integer', example: 250 } });
      expect(operation.responses['200'].headers['X-Total-Count'].description, path).toBeTruthy();
    }
  });
});

describe('market search: the default limit', () => {
  let t: TestApp;
  beforeAll(async () => {
    // One provider with 105 hosts: past the default host quota of 100.
    t = await startApp({ config: { agentOfflineMs: 3_600_000, quotas: { ...loadConfig({}).quotas, hosts: 200 } } });
  });
  afterAll(() => t.close());

  it('returns 100 offers by default out of more, cheapest first', async () => {
    const provider = await t.signUp('provider');
    const buyer = await t.signUp('buyer');
    // 105 hosts; host i sells speed at 0.00001 + i × 1e-12 per unit, so host-000 is cheapest and the order is by i.
    for (let i = 0; i < 105; i++) {
      const name = `host-${String(i).padStart(3, '0')}`;
      const response = await provider.post('/api/hosts').send(virt8({ name, speedUnitPrice: `0.${'0'.repeat(4)}1${String(i).padStart(7, '0')}` }));
      if (response.status !== 201) throw new Error(JSON.stringify(response.body));
      await heardFrom(t, [response.body.id]);
    }
    const response = await search(buyer);
    expect(response.status).toBe(200);
    expect(response.headers['x-total-count']).toBe('105');
    expect(names(response.body)).toEqual(Array.from({ length: 100 }, (_, i) => `host-${String(i).padStart(3, '0')}`));
    const page = await search(buyer, '?limit=500');
    expect(page.body).toHaveLength(105);
    expect(page.body.at(-1).hostName).toBe('host-104');
  });
});

describe('market search: what it reads of a host', () => {
  let t: TestApp;
  let agent: AgentProcess;
  beforeAll(async () => {
    t = await startApp({ listen: true });
  });
  afterAll(async () => {
    await agent?.cleanup();
    await t?.close();
  });

  it('keeps names with spaces, units, periods and reservations intact', async () => {
    const provider = await t.signUp('provider');
    const buyer = await t.signUp('buyer');
    // A reservation needs a stored machine, so a real agent (this app's own) serves the host.
    agent = await AgentProcess.join(t, provider);
    const host = await addAgentHost(provider, agent.agentId, {
      name: ' rack 7  slot 2 ',
      processor: 'Xeon E5 v4',
      connectionSpeed: '10 Gbps',
      memoryUnit: 3,
      runningUnitAmount: 60,
      storageUnit: 300,
      storageAmount: 7,
    });
    const stored = (await buyer.post('/api/machines').send(win2000Pro({ name: 'first', speed: 1000, memory: 16, disk: 100 }))).body;
    expect((await buyer.post(`/api/machines/${stored.id}/store`).send({ hostId: host.id })).status).toBe(200);
    const response = await search(buyer);
    expect(response.headers['x-total-count']).toBe('1');
    // Running: 4 × 0.00001 + 256/3 × 0.00001 = (12 + 256)/3 × 0.00001 = 0.00268/3 per s; × 60 s = 0.0536, × 3600 = 3.216.
    // Storage: 1000/300 × 0.01 = 1/30 per day; × 7 days = 0.2333… → 0.233333333333, × 30 = 1.
    expect(response.body).toEqual([
      {
        hostId: host.id,
        hostName: ' rack 7  slot 2 ',
        owner: provider.handle,
        processor: 'Xeon E5 v4',
        connectionSpeed: '10 Gbps',
        runningPrice: '0.0536',
        runningUnitAmount: 60,
        storagePrice: '0.233333333333',
        storageAmount: 7,
        runningPerHour: '3.216',
        storagePerMonth: '1',
        free: { speed: 7000, memory: 496, storage: 19900 },
      },
    ]);
  });
});
