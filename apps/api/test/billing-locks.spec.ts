import type { MachineMeter } from '@virtuoso/domain';
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
import { TestApp, startApp } from './helpers';

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
  /**
   * `charge` runs while another transaction (a billing batch) holds the buyer's mark: it waits
   * for the mark, and meanwhile holds no lock on the buyer's balance (a third transaction takes it
   * at once, NOWAIT; on SQLite nothing runs beside the holder). Returns the order things ended in.
   */
  async function chargeWhileMarkHeld(buyerId: string, charge: (em: EntityManager) => Promise<unknown>): Promise<string[]> {
    const db = t.app.get(Database);
    const dataSource = t.app.get(DataSource);
    const postgres = dataSource.options.type === 'postgres';
    const order: string[] = [];
    let release!: () => void;
    const released = new Promise<void>((done) => (release = done));
    let holds!: () => void;
    const holding = new Promise<void>((done) => (holds = done));
    const batch = db.transaction(async (em) => {
      await t.app.get(MeterPostings).markOf(em, buyerId);
      holds();
      await released;
      order.push('the batch ends');
    });
    await holding;
    let charged = false;
    const charging = db
      .transaction(async (em) => {
        await charge(em);
        order.push('the charge is made');
      })
      .finally(() => (charged = true));
    await eventually(async () => charged || (await lockWaits()) > 0 || !postgres, 'the charge to wait or be through');
    if (postgres && !charged) {
      const runner = dataSource.createQueryRunner();
      try {
        await runner.startTransaction();
        await runner.query('SELECT "id" FROM "users" WHERE "id" = $1 FOR UPDATE NOWAIT', [buyerId]);
        order.push('the balance is free meanwhile');
      } finally {
        await runner.rollbackTransaction();
        await runner.release();
      }
    }
    release();
    await batch;
    await charging;
    return order;
  }

  const waitedFor = (postgres: boolean) =>
    postgres ? ['the balance is free meanwhile', 'the batch ends', 'the charge is made'] : ['the batch ends', 'the charge is made'];

  it("a registration fee and a start wait for the buyer's mark a billing batch holds, holding no balance meanwhile", async () => {
    const postgres = t.app.get(DataSource).options.type === 'postgres';
    const buyer = await t.signUp('buyer');
    const provider = await t.signUp('provider');
    const billing = t.app.get(BillingService);

    const fee = await chargeWhileMarkHeld(buyer.userId, (em) => billing.chargeRegistrationFee(em, { id: 'locks-fee', ownerId: buyer.userId }, '0.05'));
    expect(fee).toEqual(waitedFor(postgres));

    // A stored machine's meter and the buyer's mark, as a store leaves them; then its start.
    const storedAt = clock.now() - 60_000;
    const meter: MachineMeter = {
      machineId: 'locks-start',
      buyerId: buyer.userId,
      providerId: provider.userId,
      storagePrice: '0.5',
      storageAmountDays: 30,
      runningPrice: '0.01',
      runningUnitSeconds: 600,
      storedAt,
      storagePeriodsCharged: 1,
      slicesCharged: 0,
      prepaidMsLeft: 0,
      runningSince: null,
      asOf: storedAt,
      removedAt: null,
    };
    await t.app.get(Database).transaction(async (em) => {
      await em.insert(MachineMeterRow, rowOf(meter, 'locks-host', 0));
      await em.upsert(BuyerBilling, { buyerId: buyer.userId, billedTo: 0, nextDueAt: storedAt + 30 * 86_400_000 }, ['buyerId']);
    });
    const start = await chargeWhileMarkHeld(buyer.userId, (em) => billing.onStarted(em, meter.machineId));
    expect(start).toEqual(waitedFor(postgres));
    // The start charged its first slice.
    expect(
      await t.app.get(Database).manager.query(`SELECT "amount" FROM "ledger_entries" WHERE "machineId" = ${postgres ? '$1' : '?'}`, [meter.machineId]),
    ).toEqual([{ amount: '0.01' }]);
  });
});
