import { DataSource, type EntityManager } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingService } from '../src/billing/billing.service';
import { BuyerBilling } from '../src/billing/buyer-billing.entity';
import { MachineMeterRow } from '../src/billing/machine-meter.entity';
import { MeterPostings } from '../src/billing/meter-postings.service';
import { rowOf } from '../src/billing/meter-rows';
import { ManualClock } from '../src/common/clock';
import { Database } from '../src/common/database.service';
import { eventually } from './agent-process';
import { TestApp, startApp, storedIdle } from './helpers';

/**
 * Every transaction that charges a buyer takes the buyer's billing mark before their balance
 * (docs/ARCHITECTURE.md §12): PostgreSQL runs them side by side, and two of them taking the two in
 * different orders deadlock. SQLite runs one transaction at a time (Database), where the order
 * holds by itself; the test runs on both.
 */
describe("a buyer's billing mark, taken first by whatever charges them", () => {
  let t: TestApp;
  const clock = new ManualClock(Date.UTC(2026, 11, 1));
  beforeAll(async () => {
    t = await startApp({ clock });
  });
  afterAll(async () => {
    await t?.close();
  });

  const onPostgres = () => t.app.get(DataSource).options.type === 'postgres';

  /** PostgreSQL backends of this database waiting for a lock (SQLite: none ever waits, it queues). */
  const lockWaits = async () => {
    const [{ n }] = await t.app
      .get(DataSource)
      .query<Array<{ n: string }>>(`SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
    return Number(n);
  };

  /**
   * `work` runs while another transaction (a billing batch) holds the buyer's mark, taken as any
   * transaction takes it (MeterPostings.markOf): it waits for the mark, and meanwhile holds no lock
   * on the buyer's balance (a third transaction takes it at once, NOWAIT; on SQLite nothing runs
   * beside the holder). Returns the order things happened in.
   */
  async function whileMarkHeld(buyerId: string, work: (em: EntityManager) => Promise<unknown>): Promise<string[]> {
    const db = t.app.get(Database);
    const order: string[] = [];
    let release!: () => void;
    const released = new Promise<void>((done) => (release = done));
    let holds!: () => void;
    const holding = new Promise<void>((done) => (holds = done));
    const batch = db.transaction(async (em) => {
      await t.app.get(MeterPostings).markOf(em, buyerId);
      holds();
      await released;
      order.push('the holder ends');
    });
    await holding;
    let through = false;
    const working = db
      .transaction(async (em) => {
        await work(em);
        order.push('the work is done');
      })
      .finally(() => (through = true));
    if (onPostgres()) {
      await eventually(async () => through || (await lockWaits()) > 0, 'the work to wait or be through');
      if (!through) {
        const runner = t.app.get(DataSource).createQueryRunner();
        try {
          await runner.startTransaction();
          await runner.query('SELECT "id" FROM "users" WHERE "id" = $1 FOR UPDATE NOWAIT', [buyerId]);
          order.push('the balance is free meanwhile');
        } finally {
          await runner.rollbackTransaction();
          await runner.release();
        }
      }
    }
    release();
    await batch;
    await working;
    return order;
  }

  const waitedFor = () => [...(onPostgres() ? ['the balance is free meanwhile'] : []), 'the holder ends', 'the work is done'];

  it('is held for a buyer who has none yet: the first transaction to take it makes it, and a second waits for the first to end', async () => {
    const buyer = await t.signUp('buyer');
    let mark: number | null = null;
    expect(await whileMarkHeld(buyer.userId, async (em) => (mark = await t.app.get(MeterPostings).markOf(em, buyer.userId)))).toEqual(waitedFor());
    expect(mark).toBe(0);
  });

  it("a registration fee and a start wait for the buyer's mark a billing batch holds, holding no balance meanwhile", async () => {
    const buyer = await t.signUp('buyer');
    const provider = await t.signUp('provider');
    const billing = t.app.get(BillingService);

    expect(await whileMarkHeld(buyer.userId, (em) => billing.chargeRegistrationFee(em, { id: 'locks-fee', ownerId: buyer.userId }, '0.05'))).toEqual(
      waitedFor(),
    );

    // A stored machine's meter and the buyer's mark, as a store leaves them; then its start.
    const storedAt = clock.now() - 60_000;
    const meter = storedIdle('locks-start', buyer.userId, provider.userId, storedAt);
    await t.app.get(Database).transaction(async (em) => {
      await em.insert(MachineMeterRow, rowOf(meter, 'locks-host', 0));
      await em.upsert(BuyerBilling, { buyerId: buyer.userId, billedTo: 0, nextDueAt: storedAt + 30 * 86_400_000 }, ['buyerId']);
    });
    expect(await whileMarkHeld(buyer.userId, (em) => billing.onStarted(em, meter.machineId))).toEqual(waitedFor());
    // The start charged its first slice.
    const sql = `SELECT "amount" FROM "ledger_entries" WHERE "machineId" = ${onPostgres() ? '$1' : '?'}`;
    expect(await t.app.get(Database).manager.query(sql, [meter.machineId])).toEqual([{ amount: '0.01' }]);
  });
});
