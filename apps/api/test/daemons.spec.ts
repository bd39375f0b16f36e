import { SchedulerRegistry } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { Reconciler } from '../src/agents/reconciler.service';
import { BillingPassService } from '../src/billing/billing-pass.service';
import { BillingStatus } from '../src/billing/billing-status.entity';
import { ManualClock, isoOf } from '../src/common/clock';
import { Daemons, SinglePass } from '../src/common/daemons';
import { MarketAveragesService } from '../src/market/market-averages.service';
import { startApp, win2000Pro } from './helpers';

describe('the daemons’ guard (SinglePass)', () => {
  it('does not start a pass while one runs: a call meanwhile gets the pass in progress', async () => {
    const guard = new SinglePass<number>();
    let started = 0;
    let finish!: (value: number) => void;
    const pass = () => {
      started += 1;
      return new Promise<number>((resolve) => (finish = resolve));
    };
    const first = guard.run(pass);
    const second = guard.run(pass);
    expect(second).toBe(first);
    expect(guard.current).toBe(first);
    expect(started).toBe(1);
    finish(41);
    expect(await second).toBe(41);
    expect(guard.current).toBeNull();
    const third = guard.run(pass);
    expect(started).toBe(2);
    finish(42);
    expect(await third).toBe(42);
  });

  it('lets the next pass start after one failed', async () => {
    const guard = new SinglePass<number>();
    await expect(guard.run(() => Promise.reject(new Error('database gone')))).rejects.toThrow('database gone');
    expect(await guard.run(() => Promise.resolve(7))).toBe(7);
  });

  it('guards the billing, market-average and reconciler passes: two calls at once make one pass', async () => {
    const t = await startApp({ clock: new ManualClock(Date.UTC(2026, 10, 25, 12)) });
    try {
      const billing = t.app.get(BillingPassService);
      const [a, b] = await Promise.all([billing.runPass(), billing.runPass()]);
      expect(b).toBe(a);
      expect((await t.app.get(DataSource).manager.findOneByOrFail(BillingStatus, { id: 'billing' })).passes).toBe(1);
      const averages = t.app.get(MarketAveragesService);
      const [c, d] = await Promise.all([averages.runPass(), averages.runPass()]);
      expect(d).toBe(c);
      const reconciler = t.app.get(Reconciler);
      const [e, f] = await Promise.all([reconciler.runPass(), reconciler.runPass()]);
      expect(f).toBe(e);
    } finally {
      await t.close();
    }
  });
});

describe('the scheduler', () => {
  it('registers the six daemons at their intervals from the config when daemons are on, and clears them on close', async () => {
    const t = await startApp({
      daemons: true,
      config: { billingIntervalSeconds: 7, marketIntervalSeconds: 11, reconcileIntervalSeconds: 13, networkSyncIntervalSeconds: 17 },
    });
    const registry = t.app.get(SchedulerRegistry);
    try {
      expect([...registry.getIntervals()].sort()).toEqual(['billing-pass', 'event-log', 'market-averages', 'migration-watch', 'network-sync', 'reconciler']);
      // The migration watchdog's interval is fixed (2 s); its window is VIRTUOSO_MIGRATION_HEARTBEAT_TIMEOUT_S.
      expect(t.app.get(Daemons).intervals()).toEqual({
        'billing-pass': 7000,
        // Hosts gone offline and the retention: on the reconciler's interval.
        'event-log': 13_000,
        'market-averages': 11_000,
        'migration-watch': 2000,
        'network-sync': 17_000,
        reconciler: 13_000,
      });
    } finally {
      await t.close();
    }
    expect(registry.getIntervals()).toEqual([]);
  });

  it('registers none when the app is created without daemons', async () => {
    const t = await startApp({ daemons: false });
    try {
      expect(t.app.get(SchedulerRegistry).getIntervals()).toEqual([]);
      expect(t.app.get(Daemons).intervals()).toEqual({});
    } finally {
      await t.close();
    }
  });
});

describe('the wall clock', () => {
  it('is injected: a test drives sessions, join tokens and records’ timestamps with it', async () => {
    const wallClock = new ManualClock(Date.UTC(2026, 0, 10, 9));
    const t = await startApp({ wallClock, config: { sessionTtlHours: 1 } });
    try {
      const buyer = await t.signUp('buyer');
      const provider = await t.signUp('provider');
      const machine = await buyer.post('/api/machines').send(win2000Pro());
      expect(machine.status).toBe(201);
      expect(machine.body.createdAt).toBe(isoOf(wallClock.now()));
      const joinToken = await provider.post('/api/agents/join-tokens').send({});
      expect(joinToken.status).toBe(201);
      expect(Date.parse(joinToken.body.expiresAt)).toBeGreaterThan(wallClock.now());
      wallClock.advance(3600_000 - 1000);
      expect((await buyer.get('/api/auth/me')).status).toBe(200);
      wallClock.advance(2000);
      // The session of one hour is over on this clock, whatever the system's says.
      expect((await buyer.get('/api/auth/me')).status).toBe(401);
    } finally {
      await t.close();
    }
  });
});
