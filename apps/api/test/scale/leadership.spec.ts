import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { BillingPassService } from '../../src/billing/billing-pass.service';
import { Leadership } from '../../src/common/leadership';
import { eventually } from '../agent-process';
import { TestApp, startApp } from '../helpers';
import { type TestDatabase, testDatabase } from '../test-database';

/**
 * The daemons' leader on PostgreSQL (common/leadership.ts, docs/ARCHITECTURE.md §12), with two apps
 * in this process on one database: one leads and runs the passes, the other's ticks do nothing;
 * the leader's session ending (a close, or the server dropping the connection) hands the lead
 * over, and the new leader runs the daemons' boot work (a billing pass) on taking it.
 */
describe('the leader of replicas on one PostgreSQL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'virtuoso-leadership-'));
  let db: TestDatabase | null = null;
  const apps: TestApp[] = [];
  afterAll(async () => {
    for (const t of apps) await t.close().catch(() => undefined);
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('one replica leads; the other takes over when its session ends, and runs the boot work then', { timeout: 120_000 }, async () => {
    db = await testDatabase(dir);
    expect(db.kind, 'test/scale runs on PostgreSQL only').toBe('postgres');
    const config = { ...db.config, billingIntervalSeconds: 1, leaderPollSeconds: 1 };
    const a = await startApp({ daemons: true, config: { ...config, dataDir: join(dir, 'a') } });
    apps.push(a);
    const b = await startApp({ daemons: true, config: { ...config, dataDir: join(dir, 'b') } });
    apps.push(b);
    const leading = () => [a, b].filter((t) => t.app.get(Leadership).leader);
    const [leader] = await eventually(async () => leading().length === 1 && leading(), 'one leader');
    const follower = leader === a ? b : a;
    expect(leader.app.get(Leadership).replicaId).not.toBe(follower.app.get(Leadership).replicaId);
    expect((await follower.anonymous().get('/api/health')).body).toEqual({ status: 'ok', replica: follower.app.get(Leadership).replicaId, leader: false });

    // The leader's ticks run passes; the follower's do nothing.
    const leaderPasses = vi.spyOn(leader.app.get(BillingPassService), 'runPass');
    const followerPasses = vi.spyOn(follower.app.get(BillingPassService), 'runPass');
    await eventually(async () => leaderPasses.mock.calls.length >= 2, 'two passes on the leader');
    expect(followerPasses).not.toHaveBeenCalled();
    expect(leading()).toEqual([leader]);

    // The server drops the leader's connection: it steps down at once; the lead is taken again (by either).
    const [{ n }] = await db.query<{ n: number }>('SELECT COUNT(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = ?', [
      `virtuoso leader ${leader.app.get(Leadership).replicaId}`,
    ]);
    expect(n).toBe(1);
    await eventually(async () => !leader.app.get(Leadership).leader, 'the leader to step down');
    await eventually(async () => leading().length === 1, 'a leader again');

    // The leader (whichever now) closes: the other takes over and bills at once (boot work on taking the lead).
    const [current] = leading();
    const other = current === a ? b : a;
    const otherPasses = other === leader ? leaderPasses : followerPasses;
    otherPasses.mockClear();
    await current.close();
    apps.splice(apps.indexOf(current), 1);
    await eventually(async () => other.app.get(Leadership).leader, 'the other replica to take the lead');
    await eventually(async () => otherPasses.mock.calls.length >= 1, 'a billing pass on the new leader');
    expect((await other.anonymous().get('/api/health')).body).toMatchObject({ leader: true });
  });
});
