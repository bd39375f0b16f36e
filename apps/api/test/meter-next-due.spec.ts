import { type MachineMeter, chargedTo, nextDueAt } from '@virtuoso/domain';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuyerBilling } from '../src/billing/buyer-billing.entity';
import { MachineMeterRow } from '../src/billing/machine-meter.entity';
import { dueMetersOfBuyers, nextDueSql, rowOf } from '../src/billing/meter-rows';
import { Database } from '../src/common/database.service';
import { TestApp, startApp } from './helpers';
import { DAY, T0, lived, raw } from './meter-samples';

/**
 * The billing pass reads only the meters with a charge due, chosen in SQL (billing/meter-rows.ts
 * nextDueSql): a meter the SQL wrongly called not due would have its buyer's mark moved past its
 * charges. So on both databases, for random meter rows — made by random timelines of libs/domain
 * (stores, starts, stops, removals, passes cut short by a limit) and raw ones with any counts —
 * and random marks, some on a charge's very instant: the SQL's next due instant is libs/domain's
 * nextDueAt(chargedTo(meter, mark)), and dueMetersOfBuyers splits the meters into those due by
 * now and the earliest next due instant of the rest exactly as libs/domain does.
 */
describe("a meter row's next due instant at its buyer's mark, in SQL", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  /** A mark anywhere from before the meter to days after it, or on (or just before) its next charge. */
  const withMark = fc.tuple(fc.oneof(lived, raw), fc.integer({ min: -DAY, max: 6 * DAY }), fc.constantFrom('any', 'onNext', 'beforeNext', 'zero'));

  it("is libs/domain's nextDueAt(chargedTo(meter, mark)) for every row and mark, and the pass's split by now is libs/domain's", async () => {
    const cases = fc.sample(withMark, { numRuns: 600, seed: 20261206 }).map(([meter, offset, kind], i) => {
      const machineId = `nd-${String(i).padStart(4, '0')}`;
      const own: MachineMeter = { ...meter, machineId, buyerId: machineId };
      const next = nextDueAt(own);
      const mark =
        kind === 'zero' ? 0 : kind === 'onNext' && next !== null ? next : kind === 'beforeNext' && next !== null ? next - 1 : Math.max(0, own.asOf + offset);
      return { meter: own, mark, expected: nextDueAt(chargedTo(own, mark)) };
    });
    await t.app.get(Database).transaction(async (em) => {
      for (const { meter, mark } of cases) {
        await em.insert(MachineMeterRow, rowOf(meter, 'nd-host', 0));
        // nextDueAt 0: every buyer counts as due, so that dueMetersOfBuyers reads them all below.
        await em.insert(BuyerBilling, { buyerId: meter.buyerId, billedTo: mark, nextDueAt: 0 });
      }
    });
    const rows = await t.database.query<{ machineId: string; next: number | string | null }>(
      `SELECT m."machineId" AS "machineId", ${nextDueSql()} AS "next" FROM "machine_meters" m JOIN "buyer_billing" b ON b."buyerId" = m."buyerId" WHERE m."machineId" LIKE 'nd-%'`,
    );
    const sqlNext = new Map(rows.map((row) => [row.machineId, row.next === null ? null : Number(row.next)]));
    expect(sqlNext.size).toBe(cases.length);
    const wrong = cases.filter(({ meter, expected }) => sqlNext.get(meter.machineId) !== expected);
    expect(wrong.map(({ meter, mark, expected }) => ({ meter, mark, expected, sql: sqlNext.get(meter.machineId) }))).toEqual([]);
    // Not a sample where every answer is the same: charges at all instants, and stopped meters.
    expect(new Set(cases.map((c) => c.expected)).size).toBeGreaterThan(cases.length / 2);
    expect(cases.filter((c) => c.expected === null).length).toBeGreaterThan(10);

    // The pass's split at an instant in the middle of it all.
    const now = T0 + 8 * DAY;
    const { due, laterDue } = await t.app.get(Database).transaction((em) => dueMetersOfBuyers(em, now, 'nd-0000', 'nd-9999'));
    const dueIds = due.map(({ meter }) => meter.machineId).sort();
    const expectedDue = cases.filter((c) => c.meter.removedAt === null && c.expected !== null && c.expected <= now).map((c) => c.meter.machineId);
    expect(dueIds).toEqual(expectedDue.sort());
    expect(dueIds.length).toBeGreaterThan(50);
    for (const { meter } of due) expect(meter).toEqual(cases.find((c) => c.meter.machineId === meter.machineId)!.meter);
    const expectedLater = cases.filter((c) => c.meter.removedAt === null && c.expected !== null && c.expected > now);
    expect(expectedLater.length).toBeGreaterThan(50);
    expect(Object.fromEntries(laterDue)).toEqual(Object.fromEntries(expectedLater.map((c) => [c.meter.buyerId, c.expected])));
  });
});
