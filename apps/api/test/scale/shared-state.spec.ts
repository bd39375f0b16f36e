import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MediaService } from '../../src/media/media.service';
import { NotificationsService } from '../../src/notifications/notifications.service';
import { StartupService } from '../../src/seed/startup.service';
import { TestApp, startApp } from '../helpers';
import { type TestDatabase, testDatabase } from '../test-database';

/**
 * State that used to live in one process's memory and must be seen by every replica
 * (docs/ARCHITECTURE.md §12), with two apps in this process on one PostgreSQL database.
 */
describe('state shared by replicas on one PostgreSQL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'virtuoso-shared-'));
  let db: TestDatabase | null = null;
  const apps: TestApp[] = [];
  afterAll(async () => {
    for (const t of apps) await t.close().catch(() => undefined);
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("an attach's media download grant made by one replica is honoured by the other, until it ends or goes stale", async () => {
    db = await testDatabase(dir);
    expect(db.kind, 'test/scale runs on PostgreSQL only').toBe('postgres');
    const a = await startApp({ config: { ...db.config, dataDir: join(dir, 'a') } });
    apps.push(a);
    const b = await startApp({ config: { ...db.config, dataDir: join(dir, 'b') } });
    apps.push(b);
    const [agentId, mediaId] = [randomUUID(), randomUUID()];
    expect(await b.app.get(MediaService).granted(agentId, mediaId)).toBe(false);
    const ungrant = await a.app.get(MediaService).grant(agentId, mediaId);
    expect(await b.app.get(MediaService).granted(agentId, mediaId)).toBe(true);
    expect(await b.app.get(MediaService).granted(agentId, randomUUID())).toBe(false);
    await ungrant();
    expect(await b.app.get(MediaService).granted(agentId, mediaId)).toBe(false);
    // A grant left by a replica that died mid-attach (an hour old) lets nothing download.
    await db.query('INSERT INTO media_grants ("id", "agentId", "mediaId", "grantedAt") VALUES (?, ?, ?, ?)', [
      randomUUID(),
      agentId,
      mediaId,
      Date.now() - 3_600_000,
    ]);
    expect(await b.app.get(MediaService).granted(agentId, mediaId)).toBe(false);
  });

  it('replicas booting together seed the catalog and the demo accounts once (an advisory lock)', async () => {
    const fresh = await testDatabase(dir);
    try {
      const config = { ...fresh.config, seedDemo: true };
      const a = await startApp({ seed: false, config: { ...config, dataDir: join(dir, 'seed-a') } });
      apps.push(a);
      const b = await startApp({ seed: false, config: { ...config, dataDir: join(dir, 'seed-b') } });
      apps.push(b);
      // Both at once: without the lock both find the tables empty and the second insert breaks the unique names.
      await Promise.all([a.app.get(StartupService).seed(), b.app.get(StartupService).seed()]);
      const [{ entries, names }] = await fresh.query<{ entries: number; names: number }>(
        'SELECT COUNT(*)::int AS entries, COUNT(DISTINCT "name")::int AS names FROM configurations',
      );
      expect(entries).toBeGreaterThan(0);
      expect(entries).toBe(names);
      expect(await fresh.query('SELECT "handle" FROM users WHERE "handle" LIKE \'demo-%\' ORDER BY "handle"')).toEqual([
        { handle: 'demo-buyer' },
        { handle: 'demo-provider' },
      ]);
    } finally {
      for (const t of apps.splice(2)) await t.close();
      await fresh.drop();
    }
  });

  it("pending notices' emails go out once when two replicas dispatch at once (an advisory lock)", async () => {
    const [a, b] = apps;
    const userId = randomUUID();
    const notices = 12;
    for (let i = 0; i < notices; i++) {
      await db!.query(
        'INSERT INTO notifications ("id", "key", "userId", "kind", "subject", "body", "machineId", "createdAt", "readAt", "emailTo", "emailStatus", "emailedAt", "emailError") ' +
          "VALUES (?, ?, ?, 'lowBalance', ?, 'body', NULL, ?, NULL, 'buyer@example.com', 'pending', NULL, NULL)",
        [randomUUID(), `replicas-${i}`, userId, `notice ${i}`, new Date(Date.UTC(2026, 10, 25, 12, 0, i)).toISOString()],
      );
    }
    await Promise.all([a.app.get(NotificationsService).dispatch(), b.app.get(NotificationsService).dispatch()]);
    // Whichever took the lock sent them all; a dispatch after it finds nothing left.
    await Promise.all([a.app.get(NotificationsService).dispatch(), b.app.get(NotificationsService).dispatch()]);
    const sent = [join(dir, 'a', 'outbox'), join(dir, 'b', 'outbox')].flatMap((outbox) => {
      try {
        return readdirSync(outbox).filter((name) => name.endsWith('.eml'));
      } catch {
        return [];
      }
    });
    expect(sent).toHaveLength(notices);
    expect(await db!.query('SELECT COUNT(*)::int AS n FROM notifications WHERE "emailStatus" = \'sent\'')).toEqual([{ n: notices }]);
  });
});
