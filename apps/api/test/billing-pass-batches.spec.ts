import { type Charge, type MachineMeter, chargedTo, dueCharges, moneyToUnits, nextDueAt, unitsToMoney } from '@virtuoso/domain';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LedgerService } from '../src/accounts/ledger.service';
import { type BillingPass, BillingPassService } from '../src/billing/billing-pass.service';
import { LowBalanceService } from '../src/billing/low-balance.service';
import { BuyerBilling } from '../src/billing/buyer-billing.entity';
import { MachineMeterRow } from '../src/billing/machine-meter.entity';
import { postingOf } from '../src/billing/meter-postings.service';
import { meterOf, rowOf } from '../src/billing/meter-rows';
import { ManualClock } from '../src/common/clock';
import { Database } from '../src/common/database.service';
import { TestApp, startApp, storedIdle } from './helpers';

const NOW = Date.UTC(2026, 10, 25, 12);
const MINUTE = 60_000;
const DAY = 86_400_000;
const BATCH = 4;

/**
 * The billing pass takes its batches buyer by buyer (docs/ARCHITECTURE.md §12), on both databases:
 * meters of four buyers, due in an order that interleaves the buyers, with batches of 4 meters.
 * Each buyer is billed in one batch (up to their mark: a buyer with 6 meters alone, buyers with 2
 * and 1 together), a meter too far behind for one batch is finished by another batch of the same
 * pass, every charge is made exactly once, every balance moves by exactly its charges, and the
 * meter rows are left as they were: the buyers' marks say how far they are charged.
 */
describe('a billing pass over several buyers in batches', () => {
  let t: TestApp;
  const clock = new ManualClock(NOW);
  beforeAll(async () => {
    t = await startApp({ clock, config: { billingBatchSize: BATCH } });
  });
  afterAll(async () => {
    await t?.close();
  });
  /** The meter's row (on a host of its own) and its buyer's mark, as the hooks and a pass would have left them. */
  const insertWithMark = (meter: MachineMeter, mark: { billedTo: number; nextDueAt: number | null }) =>
    t.app.get(Database).transaction(async (em) => {
      await em.insert(MachineMeterRow, rowOf(meter, `${meter.machineId}-host`, 0));
      await em.insert(BuyerBilling, { buyerId: meter.buyerId, ...mark });
    });

  it('bills whole buyers per batch, charges every due charge once, and moves each balance by its charges', async () => {
    const provider = await t.signUp('provider');
    const buyers = (await Promise.all([1, 2, 3, 4].map(() => t.signUp('buyer')))).map((buyer) => buyer.userId).sort();
    // Due meters per buyer, in buyer id order: 3 (a batch alone: 3 + 6 > 4), 6 (two batches), 2 and 1 (one batch together).
    const counts = [3, 6, 2, 1];
    const meters: Array<{ meter: MachineMeter; hostId: string }> = [];
    for (let k = 0; k < 6; k++) {
      for (const [b, buyerId] of buyers.entries()) {
        if (k >= counts[b]) continue;
        // Stored 30 days and a few minutes ago, the buyers taking turns: in due order they interleave.
        const storedAt = NOW - 30 * DAY - (100 - meters.length) * MINUTE;
        const farBehind = b === 2 && k === 0;
        meters.push({
          meter: {
            machineId: `batches-${b}-${k}`,
            buyerId,
            providerId: provider.userId,
            storagePrice: '0.5',
            storageAmountDays: 30,
            // 1-second slices running for half an hour: 1800 slices, more than one batch charges for a meter.
            runningPrice: farBehind ? '0.000000001' : '0.002016',
            runningUnitSeconds: farBehind ? 1 : 3600,
            storedAt,
            storagePeriodsCharged: 1,
            slicesCharged: farBehind ? 1 : 0,
            prepaidMsLeft: 0,
            runningSince: farBehind ? NOW - 30 * MINUTE : null,
            asOf: farBehind ? NOW - 30 * MINUTE : storedAt,
            removedAt: null,
          },
          hostId: `batches-host-${k % 2}`,
        });
      }
    }
    // And one meter with nothing due, stored a day ago: the pass does not read it, yet its next
    // storage period (in 29 days) is its buyer's next due instant after the pass.
    meters.push({
      meter: {
        ...meters[0].meter,
        machineId: 'batches-later',
        storedAt: NOW - DAY,
        asOf: NOW - DAY,
        slicesCharged: 0,
        prepaidMsLeft: 0,
        runningSince: null,
      },
      hostId: 'batches-host-0',
    });
    expect(meters[0].meter.buyerId).toBe(buyers[0]);
    // What the hooks would have left: the rows, and each buyer's mark (0) with their earliest next due instant.
    await t.app.get(Database).transaction(async (em) => {
      for (const { meter, hostId } of meters) await em.insert(MachineMeterRow, rowOf(meter, hostId, 0));
      for (const buyerId of buyers) {
        const due = Math.min(...meters.filter(({ meter }) => meter.buyerId === buyerId).map(({ meter }) => nextDueAt(meter)!));
        await em.insert(BuyerBilling, { buyerId, billedTo: 0, nextDueAt: due });
      }
    });
    const balanceOf = async (id: string) => (await t.database.query<{ balance: string }>('SELECT "balance" FROM "users" WHERE "id" = ?', [id]))[0].balance;
    const opening = new Map(await Promise.all([...buyers, provider.userId].map(async (id) => [id, moneyToUnits(await balanceOf(id))] as const)));

    // The oracle: every charge each meter owes by now, from libs/domain alone.
    const expected = new Map<string, Charge>();
    for (const { meter } of meters) for (const charge of dueCharges(meter, NOW).charges) expected.set(charge.key, charge);
    expect(expected.size).toBeGreaterThan(1800);

    const batches: string[][] = [];
    // Each batch judges the low balance of its buyers once (LowBalanceService.afterCharges).
    const lowBalance = t.app.get(LowBalanceService);
    const afterCharges = vi.spyOn(lowBalance, 'afterCharges').mockImplementation((em, charged, now) => {
      batches.push(charged.map((buyer) => buyer.id).sort());
      return LowBalanceService.prototype.afterCharges.call(lowBalance, em, charged, now);
    });
    let pass: BillingPass;
    try {
      pass = await t.app.get(BillingPassService).runPass();
    } finally {
      afterCharges.mockRestore();
    }
    expect(pass).toMatchObject({ meters: 13, charges: expected.size });

    // Whole buyers per batch, the last two together; the meter far behind (1800 charges, 1000 a
    // batch at most) is finished by one more batch of the same pass.
    const batchesOf = (buyerId: string) => batches.filter((batch) => batch.includes(buyerId)).length;
    expect(buyers.map(batchesOf)).toEqual([1, 1, 2, 1]);
    expect(batches).toContainEqual([buyers[2], buyers[3]]);
    expect(batches).toHaveLength(4);

    // Every charge once, none other.
    const rows = await t.database.query<{ key: string; amount: string; debitAccount: string }>(
      'SELECT "key", "amount", "debitAccount" FROM "ledger_entries" WHERE "machineId" LIKE ?',
      ['batches-%'],
    );
    expect(rows.map((row) => row.key).sort()).toEqual([...expected.keys()].sort());
    // Each balance moved by exactly its charges.
    const charged = new Map<string, bigint>();
    for (const charge of expected.values()) charged.set(charge.payer, (charged.get(charge.payer) ?? 0n) + moneyToUnits(charge.amount));
    for (const buyerId of buyers) expect(await balanceOf(buyerId)).toBe(unitsToMoney(opening.get(buyerId)! - charged.get(buyerId)!));
    const paid = [...charged.values()].reduce((sum, units) => sum + units, 0n);
    expect(await balanceOf(provider.userId)).toBe(unitsToMoney(opening.get(provider.userId)! + paid));
    expect(await t.app.get(LedgerService).verify()).toMatchObject({ total: '0', mismatches: [], malformed: [] });

    // The meter rows are as the hooks left them; the marks say all is charged up to now, and
    // every meter reckoned at its buyer's mark has nothing due by now.
    const rowsAfter = await t.database.query<Record<string, unknown>>('SELECT * FROM "machine_meters" WHERE "machineId" LIKE ?', ['batches-%']);
    expect(rowsAfter.map((row) => Number(row.revision))).toEqual(rowsAfter.map(() => 0));
    const marks = new Map(
      (await t.database.query<{ buyerId: string; billedTo: number | string; nextDueAt: number | string | null }>('SELECT * FROM "buyer_billing"')).map(
        (row) => [row.buyerId, { billedTo: Number(row.billedTo), nextDueAt: Number(row.nextDueAt) }],
      ),
    );
    for (const buyerId of buyers) expect(marks.get(buyerId)!.billedTo).toBe(NOW);
    const nextOf = new Map<string, number>();
    for (const row of rowsAfter) {
      const meter = meterOf(row);
      const mark = marks.get(meter.buyerId)!;
      expect(meter).toEqual(meters.find((m) => m.meter.machineId === meter.machineId)!.meter);
      const due = nextDueAt(chargedTo(meter, mark.billedTo))!;
      expect(due).toBeGreaterThan(NOW);
      nextOf.set(meter.buyerId, Math.min(nextOf.get(meter.buyerId) ?? Infinity, due));
    }
    // Each buyer's next due instant is exactly their meters' earliest, the one not read included.
    for (const buyerId of buyers) expect(marks.get(buyerId)!.nextDueAt).toBe(nextOf.get(buyerId));
    expect(marks.get(buyers[0])!.nextDueAt).toBe(NOW + 29 * DAY);
    // Nothing left due: another pass charges nothing.
    expect(await t.app.get(BillingPassService).runPass()).toMatchObject({ charges: 0, batches: 0 });
  });

  it("charges with a late event what it makes due up to its buyer's mark, and the next pass goes on from there", async () => {
    // A machine stored an hour ago and billed by a pass up to now; then a start that happened 30
    // minutes ago is reported: its slices at −30, −20 and −10 minutes are charged with the event.
    const provider = await t.signUp('provider');
    const buyer = await t.signUp('buyer');
    const storedAt = NOW - 60 * MINUTE;
    const meter = storedIdle('late-event-vm', buyer.userId, provider.userId, storedAt);
    await insertWithMark(meter, { billedTo: NOW, nextDueAt: nextDueAt(meter) });
    const { BillingService } = await import('../src/billing/billing.service');
    const charges = await t.app.get(Database).transaction((em) => t.app.get(BillingService).onStarted(em, meter.machineId, NOW - 30 * MINUTE));
    expect(charges.map((charge) => charge.key)).toEqual([0, 1, 2, 3].map((i) => `running:late-event-vm:${i}`));
    expect(charges.map((charge) => charge.dueAt)).toEqual([30, 20, 10, 0].map((ago) => NOW - ago * MINUTE));
    const [mark] = await t.database.query<{ nextDueAt: number | string }>('SELECT "nextDueAt" FROM "buyer_billing" WHERE "buyerId" = ?', [buyer.userId]);
    expect(Number(mark.nextDueAt)).toBe(NOW + 10 * MINUTE);
    clock.set(NOW + 10 * MINUTE);
    try {
      await t.app.get(BillingPassService).runPass();
      // Slice 4, and nothing twice.
      const [{ n }] = await t.database.query<{ n: number | string }>('SELECT COUNT(*) AS "n" FROM "ledger_entries" WHERE "machineId" = ?', [meter.machineId]);
      expect(Number(n)).toBe(5);
    } finally {
      clock.set(NOW);
    }
  });

  it('redoes a batch that finds one of its charges in the ledger already, skipping it: every other charge once, each balance moved once by each', async () => {
    // The pass expects its charges to be new (its marks say so) and posts them without the ledger's
    // savepoint; one that is there after all (written by whatever wrote it) fails that attempt, and
    // the batch is redone letting the ledger skip it.
    const provider = await t.signUp('provider');
    const buyer = await t.signUp('buyer');
    const meters = [0, 1, 2].map((i) => storedIdle(`redo-vm-${i}`, buyer.userId, provider.userId, NOW - 30 * DAY - (i + 1) * MINUTE));
    await t.app.get(Database).transaction(async (em) => {
      for (const meter of meters) await em.insert(MachineMeterRow, rowOf(meter, 'redo-host', 0));
      await em.insert(BuyerBilling, { buyerId: buyer.userId, billedTo: 0, nextDueAt: Math.min(...meters.map((meter) => nextDueAt(meter)!)) });
    });
    const expected = meters.flatMap((meter) => dueCharges(meter, NOW).charges);
    expect(expected).toHaveLength(3);
    const balanceOf = async (id: string) =>
      moneyToUnits((await t.database.query<{ balance: string }>('SELECT "balance" FROM "users" WHERE "id" = ?', [id]))[0].balance);
    const opening = await balanceOf(buyer.userId);
    const there = expected[1];
    await t.app.get(Database).transaction((em) => t.app.get(LedgerService).post(em, [postingOf(there, 'redo-host')]));

    const pass = await t.app.get(BillingPassService).runPass();
    expect(pass.charges).toBe(2);
    const rows = await t.database.query<{ key: string }>('SELECT "key" FROM "ledger_entries" WHERE "machineId" LIKE ?', ['redo-vm-%']);
    expect(rows.map((row) => row.key).sort()).toEqual(expected.map((charge) => charge.key).sort());
    const all = expected.reduce((sum, charge) => sum + moneyToUnits(charge.amount), 0n);
    expect(await balanceOf(buyer.userId)).toBe(opening - all);
    const [mark] = await t.database.query<{ billedTo: number | string }>('SELECT "billedTo" FROM "buyer_billing" WHERE "buyerId" = ?', [buyer.userId]);
    expect(Number(mark.billedTo)).toBe(NOW);
    expect(await t.app.get(LedgerService).verify()).toMatchObject({ total: '0', mismatches: [], malformed: [] });
  });

  it('moves on a buyer whose next due instant came too early (nothing of theirs is due): no charge, the exact next due instant', async () => {
    const provider = await t.signUp('provider');
    const buyer = await t.signUp('buyer');
    // Stored 20 minutes ago, charged its period 0; next due in 30 days. An event brought the buyer's next due instant to a minute ago.
    const storedAt = NOW - 20 * MINUTE;
    const meter = storedIdle('too-early-vm', buyer.userId, provider.userId, storedAt);
    await insertWithMark(meter, { billedTo: 0, nextDueAt: NOW - MINUTE });
    await t.app.get(BillingPassService).runPass();
    const [mark] = await t.database.query<{ billedTo: number | string; nextDueAt: number | string }>(
      'SELECT "billedTo", "nextDueAt" FROM "buyer_billing" WHERE "buyerId" = ?',
      [buyer.userId],
    );
    expect([Number(mark.billedTo), Number(mark.nextDueAt)]).toEqual([NOW, storedAt + 30 * DAY]);
    const [{ n }] = await t.database.query<{ n: number | string }>('SELECT COUNT(*) AS "n" FROM "ledger_entries" WHERE "machineId" = ?', [meter.machineId]);
    expect(Number(n)).toBe(0);
  });
});
