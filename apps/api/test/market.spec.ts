import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SchedulerRegistry } from '@nestjs/schedule';
import { quote } from '@virtuoso/domain';
import { MarketAveragesService } from '../src/market/market-averages.service';
import { AgentProcess } from './agent-process';
import { Agent, TestApp, addAgentHost, heardFrom, startApp, virt8, win2000Pro } from './helpers';

describe('the market-average daemon', () => {
  it('runs on its interval after boot and stops when the app closes', async () => {
    const t = await startApp({ daemons: true, config: { marketIntervalSeconds: 1 } });
    const registry = t.app.get(SchedulerRegistry);
    try {
      const provider = await t.signUp('provider');
      await provider.post('/api/hosts').send(virt8());
      const tiny = () =>
        t
          .anonymous()
          .get('/api/catalog')
          .then((r) => (r.body as Array<{ name: string; averageRunningPerHour: string | null }>).find((e) => e.name === 'tiny-linux')!);
      expect((await tiny()).averageRunningPerHour).toBeNull();
      await new Promise((resolve) => setTimeout(resolve, 1300));
      // (2 + 32) × 0.00001 × 3600 = 1.224 per hour
      expect((await tiny()).averageRunningPerHour).toBe('1.224');
    } finally {
      await t.close();
    }
    expect(registry.getIntervals()).toEqual([]);
  });
});

describe('market', () => {
  let t: TestApp;
  let provider: Agent & { handle: string };
  let buyer: Agent;
  let agent: AgentProcess;
  beforeAll(async () => {
    t = await startApp({ listen: true, config: { agentOfflineMs: 3_600_000 } });
    provider = await t.signUp('provider');
    buyer = await t.signUp('buyer');
    agent = await AgentProcess.join(t, provider);
  });
  afterAll(async () => {
    await agent?.cleanup();
    await t?.close();
  });

  const catalogEntry = async (name: string) =>
    ((await t.anonymous().get('/api/catalog')).body as Array<Record<string, unknown>>).find((entry) => entry.name === name)!;

  it('lists the catalog: ten standard configurations then the preconfigured tiny-linux, no averages yet', async () => {
    const catalog = (await t.anonymous().get('/api/catalog')).body as Array<Record<string, unknown>>;
    expect(catalog.map((entry) => entry.name)).toEqual([...Array.from({ length: 10 }, (_, i) => `Configuration${i + 1}`), 'tiny-linux']);
    expect(catalog[0]).toMatchObject({
      processor: 'Pentium3',
      speed: 4000,
      os: 'win98',
      memory: 64,
      disk: 100,
      preconfigured: false,
      image: null,
      averageStoragePerMonth: null,
    });
    expect(catalog[9]).toMatchObject({ speed: 2000, os: 'linux', memory: 32, disk: 50 });
    expect(catalog[10]).toMatchObject({
      processor: 'QEMU TCG',
      speed: 2000,
      os: 'Linux (busybox)',
      memory: 128,
      disk: 64,
      preconfigured: true,
      image: 'tiny-linux.qcow2',
    });
  });

  it('computes market averages over fitting hosts and keeps the last price when none fits', async () => {
    const averages = t.app.get(MarketAveragesService);
    // No hosts yet: nothing fits, every entry keeps its (null) price.
    expect(await averages.runPass()).toEqual({ updated: 0, kept: 11 });

    // The cheap host is where a machine gets stored, so a real agent serves it.
    const cheap = await addAgentHost(provider, agent.agentId, { name: 'avg-cheap', memory: 100 });
    await provider.post('/api/hosts').send(virt8({ name: 'avg-dear', memory: 100, speedUnitPrice: '0.00003', storageUnitPrice: '0.03' }));
    // Both hosts have 100 MB of memory: the 64 and 32 MB configurations fit, tiny-linux (128 MB) does not.
    expect(await averages.runPass()).toEqual({ updated: 10, kept: 1 });
    // Configuration1 (4000 bogomips, 64 MB, 100 MB):
    //   cheap: running (4 × 0.00001 + 16 × 0.00001) × 3600 = 0.72/h; storage 1 × 0.01 × 30 = 0.3/month
    //   dear:  running (4 × 0.00003 + 16 × 0.00001) × 3600 = 1.008/h; storage 1 × 0.03 × 30 = 0.9/month
    //   means: 0.864/h and 0.6/month
    expect(await catalogEntry('Configuration1')).toMatchObject({ averageRunningPerHour: '0.864', averageStoragePerMonth: '0.6' });
    expect((await catalogEntry('Configuration1')).averagesUpdatedAt).not.toBeNull();
    expect(await catalogEntry('tiny-linux')).toMatchObject({ averageRunningPerHour: null, averageStoragePerMonth: null });

    // The cheap host fills up (a buyer stores 96 MB on it): averages now come from the dear host alone...
    const filler = (await buyer.post('/api/machines').send(win2000Pro({ name: 'filler', memory: 96, disk: 100, speed: 1000 }))).body;
    expect((await buyer.post(`/api/machines/${filler.id}/store`).send({ hostId: cheap.id })).status).toBe(200);
    await averages.runPass();
    expect(await catalogEntry('Configuration1')).toMatchObject({ averageRunningPerHour: '1.008', averageStoragePerMonth: '0.9' });

    // ...and when no host fits any more (the dear host leaves the market), the last price stays.
    const dear = ((await provider.get('/api/hosts')).body as Array<{ id: string; name: string }>).find((h) => h.name === 'avg-dear')!;
    expect((await provider.delete(`/api/hosts/${dear.id}`)).status).toBe(204);
    const stamp = (await catalogEntry('Configuration1')).averagesUpdatedAt;
    expect(await averages.runPass()).toMatchObject({ updated: 0 });
    expect(await catalogEntry('Configuration1')).toMatchObject({ averageRunningPerHour: '1.008', averageStoragePerMonth: '0.9', averagesUpdatedAt: stamp });
  });

  it('shows the provider marketplace to any signed-in user, with free and total resources', async () => {
    const host = (await provider.post('/api/hosts').send(virt8({ name: 'market-row' }))).body;
    for (const agent of [buyer, provider]) {
      const rows = (await agent.get('/api/market/hosts')).body as Array<Record<string, unknown>>;
      expect(rows.find((row) => row.id === host.id)).toEqual({
        id: host.id,
        owner: provider.handle,
        name: 'market-row',
        processor: 'Pentium3',
        free: { speed: 10000, memory: 512, storage: 100000 },
        total: { speed: 10000, memory: 512, storage: 100000 },
        speedUnit: 1000,
        speedUnitPrice: '0.00001',
        memoryUnit: 4,
        memoryUnitPrice: '0.00001',
        runningUnitAmount: 3600,
        storageUnit: 100,
        storageUnitPrice: '0.01',
        storageAmount: 30,
        connectionSpeed: '1GB',
        // Added by hand: no agent.
        online: false,
        lastHeartbeatAt: null,
      });
    }
  });

  it('searches for a configuration not registered yet, at prices that match libs/domain quote', async () => {
    const spec = { speed: 4000, memory: 256, disk: 1000, askedStoragePerMonth: '60', askedRunningPerHour: '10.11' };
    // Store search lists only hosts whose agent is online: market-row, added by hand, gets a stand-in agent.
    const marketRow = ((await provider.get('/api/hosts')).body as Array<{ id: string; name: string }>).find((host) => host.name === 'market-row')!;
    await heardFrom(t, [marketRow.id]);
    const offers = (await buyer.post('/api/market/search').send(spec)).body as Array<Record<string, unknown>>;
    const row = offers.find((offer) => offer.hostName === 'market-row')!;
    // Fig. 31: (4 + 64) × 0.00001 × 3600 = 2.448 per 3600 s; 10 × 0.01 × 30 = 3 per 30 days.
    expect(row).toMatchObject({
      owner: provider.handle,
      runningPrice: '2.448',
      runningUnitAmount: 3600,
      storagePrice: '3',
      storageAmount: 30,
      runningPerHour: '2.448',
      storagePerMonth: '3',
    });
    const prices = {
      speedUnit: 1000,
      speedUnitPrice: '0.00001',
      memoryUnit: 4,
      memoryUnitPrice: '0.00001',
      runningUnitAmount: 3600,
      storageUnit: 100,
      storageUnitPrice: '0.01',
      storageAmount: 30,
    };
    expect(row).toMatchObject(quote(prices, { speed: 4000, memory: 256, disk: 1000 }));
    // Hosts too small for 256 MB (the 100 MB ones) are not offered.
    expect(offers.map((offer) => offer.hostName)).not.toContain('avg-dear');
    // Asking less than the host's rate lists nothing (fig. 14).
    expect(
      (await buyer.post('/api/market/search').send({ ...spec, askedRunningPerHour: '2.447' })).body.find(
        (o: { hostName: string }) => o.hostName === 'market-row',
      ),
    ).toBeUndefined();
    // Bad input names the field.
    const bad = await buyer.post('/api/market/search').send({ ...spec, memory: 'lots' });
    expect(bad.status).toBe(400);
    expect(bad.body.fields.memory).toBeDefined();
  });
});
