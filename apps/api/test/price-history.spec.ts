import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/common/clock';
import { MarketAveragesService } from '../src/market/market-averages.service';
import { PricePoint } from '../src/market/price-point.entity';
import { Agent, TestApp, startApp, virt8 } from './helpers';

const T0 = Date.UTC(2026, 10, 1);
const MINUTE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

describe('price history', () => {
  let t: TestApp;
  let clock: ManualClock;
  let provider: Agent;
  let buyer: Agent;
  let configuration1: string;

  beforeAll(async () => {
    clock = new ManualClock(T0);
    t = await startApp({ clock });
    provider = await t.signUp('provider');
    buyer = await t.signUp('buyer');
    configuration1 = ((await t.anonymous().get('/api/catalog')).body as Array<{ id: string; name: string }>).find(
      (entry) => entry.name === 'Configuration1',
    )!.id;
  });
  afterAll(() => t.close());

  const averagesPass = () => t.app.get(MarketAveragesService).runPass();

  it("records each averages pass: a configuration's market averages, and the market's mean resource prices in normalised units", async () => {
    // No host yet: nothing to record (a configuration no host fits keeps its last price, and records nothing).
    await averagesPass();
    expect((await t.anonymous().get(`/api/catalog/${configuration1}/price-history`)).body).toMatchObject({ current: null, points: [] });

    // virt8: Configuration1 (4000 bogomips, 64 MB, 100 MB) runs at (4 + 16) × 0.00001 × 3600 = 0.72/h, stores at 0.01 × 30 = 0.3/month
    await provider.post('/api/hosts').send(virt8());
    clock.set(T0 + MINUTE);
    await averagesPass();
    // a second host at 3 times the speed price: (12 + 16) × 0.00001 × 3600 = 1.008/h; means 0.864/h and 0.3/month
    await provider.post('/api/hosts').send(virt8({ name: 'virt9', speedUnitPrice: '0.00003', speedUnit: 500 }));
    clock.set(T0 + 2 * MINUTE);
    await averagesPass();

    const history = (
      await t
        .anonymous()
        .get(`/api/catalog/${configuration1}/price-history`)
        .query({ from: iso(T0), to: iso(T0 + 10 * MINUTE) })
    ).body;
    // [from, to] holds 600 001 instants: 200 buckets of ceil(600 001 / 200) = 3001 ms
    expect(history).toMatchObject({ configurationId: configuration1, name: 'Configuration1', from: iso(T0), to: iso(T0 + 10 * MINUTE), bucketMs: 3001 });
    // virt9 sells 500-bogomip units at 0.00003: 8 units × 0.00003 + 16 × 0.00001 = 0.0004/s = 1.44/h; mean (0.72 + 1.44) / 2 = 1.08
    expect(history.points).toEqual([
      { at: iso(T0 + MINUTE), storagePerMonth: '0.3', runningPerHour: '0.72', hostCount: 1 },
      { at: iso(T0 + 2 * MINUTE), storagePerMonth: '0.3', runningPerHour: '1.08', hostCount: 2 },
    ]);
    expect(history.current).toEqual(history.points[1]);

    // $ per second for 1000 bogomips: 0.00001 and 0.00003 × 1000/500 = 0.00006 → mean 0.000035;
    // $ per second per MB: 0.00001 / 4 = 0.0000025; $ per day for 100 MB: 0.01
    const market = (await buyer.get('/api/market/price-history').query({ from: iso(T0), to: iso(T0 + 10 * MINUTE) })).body;
    expect(market.points).toEqual([
      { at: iso(T0 + MINUTE), speedPer1000BogomipsPerSecond: '0.00001', memoryPerMbPerSecond: '0.0000025', storagePer100MbPerDay: '0.01', hostCount: 1 },
      { at: iso(T0 + 2 * MINUTE), speedPer1000BogomipsPerSecond: '0.000035', memoryPerMbPerSecond: '0.0000025', storagePer100MbPerDay: '0.01', hostCount: 2 },
    ]);
    expect(market.current).toEqual(market.points[1]);
    // the default range is the 30 days up to now
    expect((await buyer.get('/api/market/price-history')).body).toMatchObject({ from: iso(T0 + 2 * MINUTE - 30 * 86_400_000), to: iso(T0 + 2 * MINUTE) });
  });

  it('downsamples a long series to at most 200 points, the last of each bucket, oldest first', async () => {
    // a year of hourly points: 8760 of them
    const hour = 3_600_000;
    const start = T0 + hour;
    const rows = Array.from({ length: 8760 }, (_, i) => ({
      configurationId: configuration1,
      at: start + i * hour,
      storagePerMonth: String(i),
      runningPerHour: '1',
      hostCount: 1,
    }));
    const repository = t.app.get(DataSource).getRepository(PricePoint);
    for (let i = 0; i < rows.length; i += 500) await repository.insert(rows.slice(i, i + 500));
    const from = start;
    const to = start + 8759 * hour;
    const history = (
      await t
        .anonymous()
        .get(`/api/catalog/${configuration1}/price-history`)
        .query({ from: iso(from), to: iso(to) })
    ).body;
    // [from, to] holds 8759 h + 1 ms: buckets of ceil(31 532 400 001 / 200) = 157 662 001 ms (43.8 h)
    expect(history.bucketMs).toBe(157_662_001);
    expect(history.points.length).toBeLessThanOrEqual(200);
    expect(history.points.length).toBeGreaterThan(190);
    const ats = history.points.map((point: { at: string }) => Date.parse(point.at));
    expect([...ats].sort((a, b) => a - b)).toEqual(ats);
    // each point is the last recorded in its bucket
    for (const at of ats) {
      const bucket = Math.floor((at - from) / history.bucketMs);
      const next = at + hour;
      expect(next > to || Math.floor((next - from) / history.bucketMs) !== bucket).toBe(true);
    }
    expect(history.points.at(-1)).toMatchObject({ at: iso(to), storagePerMonth: '8759' });
    expect(history.current).toMatchObject({ at: iso(to) });
  });

  it('refuses bad ranges and unknown configurations, naming the field', async () => {
    const later = await t
      .anonymous()
      .get(`/api/catalog/${configuration1}/price-history`)
      .query({ from: iso(T0 + MINUTE), to: iso(T0) });
    expect(later.status).toBe(400);
    expect(later.body.fields).toHaveProperty('to');
    const bad = await t.anonymous().get(`/api/catalog/${configuration1}/price-history`).query({ from: 'last week' });
    expect(bad.status).toBe(400);
    expect(bad.body.fields).toHaveProperty('from');
    expect((await t.anonymous().get('/api/catalog/00000000-0000-4000-8000-000000000000/price-history')).status).toBe(404);
    expect((await t.anonymous().get('/api/market/price-history')).status).toBe(401);
  });
});
