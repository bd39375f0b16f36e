import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quote } from '@virtuoso/domain';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { BillingService } from '../../src/billing/billing.service';
import { Database } from '../../src/common/database.service';
import { Leadership } from '../../src/common/leadership';
import { Machine } from '../../src/machines/machine.entity';
import { MigrationWatch } from '../../src/migrations/migration-watch.service';
import { Migration } from '../../src/migrations/migration.entity';
import { HostsService, pricesOf } from '../../src/providers/hosts.service';
import { eventually } from '../agent-process';
import { TestApp, startApp, virt8, win2000Pro } from '../helpers';
import { type TestDatabase, testDatabase } from '../test-database';

/**
 * Live migrations across replicas (docs/ARCHITECTURE.md §12), with three apps in this process on
 * one PostgreSQL database. A migration is driven by the replica that created it (its prepare →
 * export → REQ run in that process): a new leader must not settle one whose orchestrator lives —
 * that would roll back a migration under way — and must settle one whose orchestrator died (here
 * the agents cannot be asked, so recoveryDecision rolls it back: the reservation is released, the
 * machine is back where it was). Each replica is found alive by its own advisory lock.
 */
describe('migrations orchestrated by replicas on one PostgreSQL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'virtuoso-orphans-'));
  let db: TestDatabase | null = null;
  const apps: TestApp[] = [];
  afterAll(async () => {
    for (const t of apps) await t.close().catch(() => undefined);
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    "a new leader leaves a living replica's preparing migration alone, and its watch pass settles it once that replica is dead",
    { timeout: 120_000 },
    async () => {
      db = await testDatabase(dir);
      expect(db.kind, 'test/scale runs on PostgreSQL only').toBe('postgres');
      const config = { ...db.config, leaderPollSeconds: 1, migrationHeartbeatTimeoutMs: 600_000 };
      // a leads (first to try); b orchestrates and, trying to lead only once an hour, stays a follower; c takes over from a.
      const a = await startApp({ daemons: true, config: { ...config, dataDir: join(dir, 'a') } });
      apps.push(a);
      const b = await startApp({ daemons: true, config: { ...config, leaderPollSeconds: 3600, dataDir: join(dir, 'b') } });
      apps.push(b);
      const c = await startApp({ daemons: true, config: { ...config, dataDir: join(dir, 'c') } });
      apps.push(c);
      const replica = (t: TestApp) => t.app.get(Leadership);
      expect([a, b, c].map((t) => replica(t).leader)).toEqual([true, false, false]);
      // Every replica is seen alive by the others through its own lock; an id no replica holds is not.
      for (const asker of [a, b, c]) {
        for (const t of [a, b, c]) expect(await replica(asker).isAlive(replica(t).replicaId)).toBe(true);
        expect(await replica(asker).isAlive(randomUUID())).toBe(false);
      }

      // A provider's two hosts, a buyer's machines stored on the first.
      const provider = await a.signUp('provider');
      const buyer = await a.signUp('buyer');
      const origin = (await provider.post('/api/hosts').send(virt8({ name: 'orphan-origin' }))).body as { id: string; name: string };
      const destination = (await provider.post('/api/hosts').send(virt8({ name: 'orphan-destination' }))).body as { id: string; name: string };
      const reservedSpeed = async (hostId: string) =>
        Number((await db!.query<{ reservedSpeed: number }>('SELECT "reservedSpeed" FROM hosts WHERE id = ?', [hostId]))[0].reservedSpeed);
      const stored = async (name: string): Promise<string> => {
        const registered = await buyer.post('/api/machines').send(win2000Pro({ name, speed: 500 }));
        expect(registered.status, JSON.stringify(registered.body)).toBe(201);
        const id = registered.body.id as string;
        await a.app.get(Database).transaction(async (em) => {
          const row = await em.findOneByOrFail(Machine, { id });
          const host = await a.app.get(HostsService).reserve(em, origin.id, { speed: row.speed, memory: row.memory, disk: row.disk });
          const fixed = quote(pricesOf(host), { speed: row.speed, memory: row.memory, disk: row.disk });
          const prices = {
            storagePrice: fixed.storagePrice,
            storageAmount: fixed.storageAmount,
            runningPrice: fixed.runningPrice,
            runningUnitAmount: fixed.runningUnitAmount,
          };
          await em.update(Machine, { id }, { state: 'stopped', version: 1, hostId: origin.id, ...prices, storedAt: new Date().toISOString() });
          await a.app.get(BillingService).onStored(em, { id, ownerId: row.ownerId, hostId: origin.id, ...prices });
        });
        return id;
      };
      /** A migration as `orchestrator` (null: a row from before replicas) leaves it: the destination reserved, the machine migrating, the row in `phase`. */
      const begun = async (machineId: string, orchestrator: string | null, phase: 'preparing' | 'transferring'): Promise<string> => {
        const id = randomUUID();
        await a.app.get(Database).transaction(async (em) => {
          const row = await em.findOneByOrFail(Machine, { id: machineId });
          const host = await a.app.get(HostsService).reserve(em, destination.id, { speed: row.speed, memory: row.memory, disk: row.disk });
          const fixed = quote(pricesOf(host), { speed: row.speed, memory: row.memory, disk: row.disk });
          const now = new Date().toISOString();
          await em.update(Machine, { id: row.id }, { state: 'migrating', previousState: row.state, transientSince: now, revision: row.revision + 1 });
          await em.insert(Migration, {
            id,
            machineId: row.id,
            ownerId: row.ownerId,
            fromHostId: origin.id,
            toHostId: destination.id,
            fromHostName: origin.name,
            toHostName: destination.name,
            method: 'RSYNC',
            phase,
            previousState: row.state,
            fromVersion: row.version,
            toVersion: null,
            bytesDone: 0,
            bytesTotal: 0,
            bytesPerSecond: 0,
            bytesTransferred: null,
            transferMs: null,
            transferringSince: phase === 'transferring' ? now : null,
            lastHeartbeatAt: null,
            lastHeartbeatVmmp: null,
            error: null,
            storagePrice: fixed.storagePrice,
            storageAmount: fixed.storageAmount,
            runningPrice: fixed.runningPrice,
            runningUnitAmount: fixed.runningUnitAmount,
            arrivalChargeKey: null,
            cleanedUp: false,
            orchestratorReplicaId: orchestrator,
            startedAt: now,
            finishedAt: null,
            log: '[]',
          } as Migration);
        });
        return id;
      };
      const phaseOf = async (id: string) =>
        (await db!.query<{ phase: string; error: string | null }>('SELECT phase, error FROM migrations WHERE id = ?', [id]))[0];
      const machineOf = async (id: string) =>
        (await db!.query<{ state: string; version: number; hostId: string }>('SELECT state, version, "hostId" FROM machines WHERE id = ?', [id]))[0];

      // b is preparing one migration; another was left transferring by a replica from before (no
      // orchestrator recorded; in its window, so the watch passes leave it: only recovery settles it).
      const [driven, abandoned] = [await stored('driven'), await stored('abandoned')];
      const byB = await begun(driven, replica(b).replicaId, 'preparing');
      const byNobody = await begun(abandoned, null, 'transferring');
      expect(await reservedSpeed(destination.id)).toBe(1000);

      // a's watch passes meanwhile leave both. Then the leader a stops: c takes over and recovers — the orphan only, not b's migration.
      const aPasses = vi.spyOn(a.app.get(MigrationWatch), 'watchPass');
      await eventually(async () => aPasses.mock.results.length >= 1, 'a watch pass on a', 20_000);
      await Promise.all(aPasses.mock.results.map((result) => result.value));
      expect(await phaseOf(byB)).toEqual({ phase: 'preparing', error: null });
      expect(await phaseOf(byNobody)).toEqual({ phase: 'transferring', error: null });
      const recoveries = vi.spyOn(c.app.get(MigrationWatch), 'recover');
      const passes = vi.spyOn(c.app.get(MigrationWatch), 'watchPass');
      await a.close();
      apps.splice(apps.indexOf(a), 1);
      await eventually(async () => replica(c).leader, 'c to take the lead');
      expect(replica(b).leader).toBe(false);
      await eventually(async () => recoveries.mock.results.length > 0, "c's recovery on taking the lead");
      expect(await recoveries.mock.results[0].value).toBe(1);
      expect(await phaseOf(byNobody)).toEqual({
        phase: 'rolled-back',
        error: 'the front-end restarted mid-migration and the destination could not be asked; rolled back',
      });
      expect(await machineOf(abandoned)).toEqual({ state: 'stopped', version: 1, hostId: origin.id });
      // Watch passes on the leader (every 2 s) leave b's migration too, however many.
      await eventually(async () => passes.mock.results.length >= 2, 'two watch passes on c', 20_000);
      await Promise.all(passes.mock.results.map((result) => result.value));
      expect(await phaseOf(byB)).toEqual({ phase: 'preparing', error: null });
      expect(await machineOf(driven)).toMatchObject({ state: 'migrating', version: 1 });
      expect(await reservedSpeed(destination.id)).toBe(500);

      // b dies (its session ends, and its lock with it): the leader's next watch pass settles its migration.
      const bId = replica(b).replicaId;
      await b.close();
      apps.splice(apps.indexOf(b), 1);
      expect(await replica(c).isAlive(bId)).toBe(false);
      await eventually(async () => (await phaseOf(byB)).phase !== 'preparing', "c's watch pass to settle b's migration", 20_000);
      expect(await phaseOf(byB)).toEqual({
        phase: 'rolled-back',
        error: 'the front-end restarted mid-migration and the destination could not be asked; rolled back',
      });
      expect(await machineOf(driven)).toEqual({ state: 'stopped', version: 1, hostId: origin.id });
      expect(await reservedSpeed(destination.id)).toBe(0);
      expect(await reservedSpeed(origin.id)).toBe(1000);
      expect(replica(c).leader).toBe(true);
    },
  );

  it('a replica whose connection is made anew takes its own lock again: still found alive', { timeout: 60_000 }, async () => {
    const fresh = await testDatabase(dir);
    const pair: TestApp[] = [];
    try {
      const config = { ...fresh.config, leaderPollSeconds: 1 };
      const a = await startApp({ daemons: true, config: { ...config, dataDir: join(dir, 'again-a') } });
      pair.push(a);
      const b = await startApp({ daemons: true, config: { ...config, dataDir: join(dir, 'again-b') } });
      pair.push(b);
      const bId = b.app.get(Leadership).replicaId;
      /** The backends holding b's own lock (pg_locks: two-int4 form, objsubid 2). */
      const holders = async () =>
        (
          await fresh.query<{ pid: number }>(
            `SELECT a.pid FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
              WHERE a.application_name = ? AND l.locktype = 'advisory' AND l.objsubid = 2 AND l.granted`,
            [`virtuoso leader ${bId}`],
          )
        ).map((row) => row.pid);
      const [before] = await eventually(async () => (await holders()).length === 1 && holders(), "b's own lock held");
      expect(await a.app.get(Leadership).isAlive(bId)).toBe(true);
      // The server drops b's connection (as a network failure would): b connects again and takes its lock again.
      await fresh.query('SELECT pg_terminate_backend(?)', [before]);
      const [after] = await eventually(async () => {
        const pids = await holders();
        return pids.length === 1 && pids[0] !== before && pids;
      }, "b's own lock held again on a new connection");
      expect(after).not.toBe(before);
      expect(await a.app.get(Leadership).isAlive(bId)).toBe(true);
      // Closed, it is gone.
      await b.close();
      pair.splice(pair.indexOf(b), 1);
      expect(await a.app.get(Leadership).isAlive(bId)).toBe(false);
    } finally {
      for (const t of pair) await t.close().catch(() => undefined);
      await fresh.drop();
    }
  });
});
