import { type Charge, type MachineMeter, dueCharges, moneyToUnits, unitsToMoney } from '@virtuoso/domain';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LedgerService } from '../src/accounts/ledger.service';
import { type BillingPass, BillingPassService } from '../src/billing/billing-pass.service';
import { LowBalanceService } from '../src/billing/low-balance.service';
import { MachineMeterRow } from '../src/billing/machine-meter.entity';
import { dueBuyersStatement, rowOf } from '../src/billing/meter-rows';
import { ManualClock } from '../src/common/clock';
import { Database } from '../src/common/database.service';
import { TestApp, startApp } from './helpers';

const NOW = Date.UTC(2026, 10, 25, 12);
const MINUTE = 60_000;
const DAY = 86_400_000;
const BATCH = 4;

/**
 * The billing pass takes its batches buyer by buyer (docs/ARCHITECTURE.md §12), on both databases:
 * meters of four buyers, due in an order that interleaves the buyers, with batches of 4 meters.
 * Every buyer's meters are charged in as few batches as they need (a buyer with 6 due meters in
 * two, buyers with 3 and 1 together), a meter too far behind for one batch is finished in the
 * same pass, every charge is made exactly once, and every balance moves by exactly its charges.
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
    await t.app.get(Database).transaction(async (em) => {
      for (const { meter, hostId } of meters) await em.insert(MachineMeterRow, rowOf(meter, hostId, 0));
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

    // Whole buyers per batch: each in as few batches as its meters need, the last two together;
    // the meter far behind is finished by one more batch of the same pass.
    const batchesOf = (buyerId: string) => batches.filter((batch) => batch.includes(buyerId)).length;
    expect(buyers.map(batchesOf)).toEqual([1, 2, 2, 1]);
    expect(batches).toContainEqual([buyers[2], buyers[3]]);
    expect(batches).toHaveLength(5);

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

    // Nothing left due: another pass charges nothing.
    const [{ due }] = await t.database.query<{ due: number | string }>('SELECT COUNT(*) AS "due" FROM "machine_meters" WHERE "nextDueAt" <= ?', [NOW]);
    expect(Number(due)).toBe(0);
    expect(await t.app.get(BillingPassService).runPass()).toMatchObject({ charges: 0, batches: 0 });
  });

  it('finds the buyers with meters due through the nextDueAt index, and skips even that when nothing is due', async () => {
    const { text, params } = dueBuyersStatement(t.app.get(Database).manager, NOW);
    if (t.database.kind === 'postgres') {
      // The earliest nextDueAt (the index's first entry) gates the scan: with nothing due it never runs,
      // whatever the planner's statistics expect (right after a pass they count every meter due).
      const plan = (await t.app.get(Database).manager.query(`EXPLAIN ${text}`, params)) as Array<{ 'QUERY PLAN': string }>;
      expect(plan.map((row) => row['QUERY PLAN']).join('\n')).toMatch(/One-Time Filter/);
    } else {
      // Not a walk of the whole buyerId index for the grouping's order (every meter, due or not).
      const plan = (await t.app.get(Database).manager.query(`EXPLAIN QUERY PLAN ${text}`, params)) as Array<{ detail: string }>;
      const details = plan.map((row) => row.detail);
      expect(details.some((detail) => /^SEARCH machine_meters USING .*INDEX .*\(nextDueAt<\?\)/.test(detail))).toBe(true);
      expect(details.filter((detail) => detail.startsWith('SCAN machine_meters'))).toEqual([]);
    }
  });
});
