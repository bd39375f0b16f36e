import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../../src/common/database.service';
import { EventLog } from '../../src/events/event-log.service';
import { eventually } from '../agent-process';
import { Agent, TestApp, startApp } from '../helpers';

interface Event {
  id: number;
  kind: string;
}

/**
 * The event log's order on PostgreSQL (docs/ARCHITECTURE.md "Event log"): ids come from a sequence
 * at insert, so a transaction holding a smaller id may commit after one holding a larger. A reader
 * paging by id must not be shown the larger before the smaller is visible, or it would page past it.
 */
describe('event log order on PostgreSQL: no id shown before every smaller one is visible', () => {
  let t: TestApp;
  let operator: Agent & { userId: string };

  beforeAll(async () => {
    t = await startApp();
    expect(t.database.kind, 'test/scale runs on PostgreSQL only').toBe('postgres');
    operator = await t.signUp('buyer');
    await t.database.query('UPDATE "users" SET "role" = ? WHERE "id" = ?', ['operator', operator.userId]);
  });
  afterAll(() => t.close());

  /** The operator's log after the cursor, oldest first, of the kinds this test writes. */
  const after = async (cursor: number): Promise<Event[]> => {
    const response = await operator.get('/api/operator/events').query({ kind: 'test', order: 'asc', cursor });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    return response.body.items;
  };

  it('keeps a committed later id back while an earlier one is uncommitted, then shows both in id order', async () => {
    const log = t.app.get(EventLog);
    const connection = t.app.get(Database).manager.connection;
    const newest = (await operator.get('/api/operator/events').query({ limit: 1 })).body.items[0]?.id ?? 0;
    const earlier = connection.createQueryRunner();
    const later = connection.createQueryRunner();
    try {
      await earlier.startTransaction();
      await log.record(earlier.manager, { kind: 'test.earlier', message: 'takes the smaller id, commits last' });
      await later.startTransaction();
      await log.record(later.manager, { kind: 'test.later', message: 'takes the larger id, commits first' });
      await later.commitTransaction();

      // The later row is committed and plainly visible: a reader by id alone would show it and page past the earlier.
      const committed = await t.database.query<{ id: string; kind: string }>(`SELECT "id", "kind" FROM "events" WHERE "kind" LIKE 'test.%'`);
      expect(committed.map((row) => row.kind)).toEqual(['test.later']);
      expect(await after(newest)).toEqual([]);

      await earlier.commitTransaction();
      // (Another transaction of the app's daemons may be running at that moment: it holds nothing back for long.)
      const both = await eventually(async () => {
        const seen = await after(newest);
        return seen.length === 2 ? seen : undefined;
      }, 'both events');
      expect(both.map((event) => event.kind)).toEqual(['test.earlier', 'test.later']);
      expect(both[0].id).toBeLessThan(both[1].id);
      expect(Number(committed[0].id)).toBe(both[1].id);
    } finally {
      for (const runner of [earlier, later]) {
        if (runner.isTransactionActive) await runner.rollbackTransaction();
        await runner.release();
      }
    }
  });
});
