import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeterPostings } from '../src/billing/meter-postings.service';
import { Database } from '../src/common/database.service';
import { eventually } from './agent-process';
import { TestApp, startApp } from './helpers';

/**
 * Every transaction that charges a buyer takes the buyer's billing mark before their balance
 * (docs/ARCHITECTURE.md §12): PostgreSQL runs them side by side, and two of them taking the two in
 * different orders deadlock. SQLite runs one transaction at a time (Database), where the order
 * holds by itself; the test runs on both.
 */
describe("a buyer's billing mark, taken first by whatever charges them", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  /** PostgreSQL backends of this database waiting for a lock (SQLite: none ever waits, it queues). */
  const lockWaits = async () => {
    const dataSource = t.app.get(DataSource);
    if (dataSource.options.type !== 'postgres') return 0;
    const [{ n }] = await dataSource.query<Array<{ n: string }>>(
      `SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    return Number(n);
  };

  it('is held for a buyer who has none yet: a second transaction of theirs waits for the first to end', async () => {
    const buyerId = 'buyer-without-a-mark';
    const db = t.app.get(Database);
    const postings = t.app.get(MeterPostings);
    const order: string[] = [];
    let release!: () => void;
    const released = new Promise<void>((done) => (release = done));
    let holds!: () => void;
    const holding = new Promise<void>((done) => (holds = done));

    const first = db.transaction(async (em) => {
      expect(await postings.markOf(em, buyerId)).toBe(0);
      holds();
      await released;
      order.push('the first ends');
    });
    await holding;
    let secondDone = false;
    const second = db
      .transaction(async (em) => {
        const mark = await postings.markOf(em, buyerId);
        order.push('the second has the mark');
        return mark;
      })
      .finally(() => (secondDone = true));
    // The second is either through (the mark was not held) or waiting for it.
    await eventually(
      async () => secondDone || (await lockWaits()) > 0 || t.app.get(DataSource).options.type !== 'postgres',
      'the second transaction to wait or be through',
    );
    release();
    await first;
    expect(await second).toBe(0);
    expect(order).toEqual(['the first ends', 'the second has the mark']);
  });
});
