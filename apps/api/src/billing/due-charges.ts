import type { EntityManager } from 'typeorm';
import { userAccountSql } from '../accounts/ledger-entry.entity';
import { Sql, select } from '../common/sql';
import { METER_SQL } from './meter-rows';

/**
 * The billing pass's charges worked out by the database (docs/ARCHITECTURE.md §12): for a batch
 * whose every meter has fewer charges due than the pass's limit, the charges libs/domain's
 * billBuyer would make from each buyer's mark up to now are the storage periods and running
 * slices between the two instants, in closed form (chargedTo's arithmetic, as nextDueSql). So the
 * rows are made and inserted by one INSERT … SELECT instead of every meter being read into the
 * process and every charge sent back; the process reads only sums — how much each buyer pays and
 * each host earns, at each price — and moves the balances and incomes with them, exactly, in
 * bigint units. A test checks both statements against billBuyer on random meters of both
 * databases.
 *
 * The statements share one common table, `due`, materialised (each of its columns worked out once
 * a row; inlined, SQLite worked every use of a column out again, and with two uses of the table
 * chose a plan ten times slower): the batch's live meters of buyers due by now, each with the
 * start of its next storage period and the instant its prepaid running time runs out, as the row
 * stands ("firstStorage", "runOut"; the latter counts only while running), and how many of each fall due
 * at or before the buyer's mark ("periodsAtMark", "slicesAtMark": charged already) and at or
 * before now ("periodsAtNow", "slicesAtNow"): the charges are those in between.
 */
function dueMeters(sql: Sql, now: number, first: string, last: string): string {
  // Placeholders in text order (SQLite binds them by position): now first.
  const instant = `p AS (SELECT CAST(${sql.p(now)} AS bigint) AS "now")`;
  const { period, slice, firstStorage, runOut } = METER_SQL;
  // Now, or the mark if it is later (a clock set back): nothing is charged, nothing is owed back.
  const upTo = `(CASE WHEN p."now" > b."billedTo" THEN p."now" ELSE b."billedTo" END)`;
  // How many storage periods (running slices) of the row fall due at or before t: those up to the
  // mark were charged by earlier passes, those after it up to now are this batch's. Each a flat
  // expression of the row's columns, not of columns defined from them.
  const periodsBy = (t: string) => `(CASE WHEN ${firstStorage} <= ${t} THEN (${t} - ${firstStorage}) / (${period}) + 1 ELSE 0 END)`;
  const slicesBy = (t: string) => `(CASE WHEN m."runningSince" IS NOT NULL AND ${runOut} <= ${t} THEN (${t} - ${runOut}) / (${slice}) + 1 ELSE 0 END)`;
  return (
    `${instant}, due AS MATERIALIZED (SELECT m."machineId", m."buyerId", m."providerId", m."hostId", m."storagePrice", m."runningPrice", m."storedAt", ` +
    `CAST(m."storagePeriodsCharged" AS bigint) AS "periodsCharged", CAST(m."slicesCharged" AS bigint) AS "slicesCharged", m."runningSince", ` +
    `${period} AS "period", ${slice} AS "slice", ${firstStorage} AS "firstStorage", ${runOut} AS "runOut", ` +
    `${periodsBy('b."billedTo"')} AS "periodsAtMark", ${periodsBy(upTo)} AS "periodsAtNow", ${slicesBy('b."billedTo"')} AS "slicesAtMark", ${slicesBy(upTo)} AS "slicesAtNow" ` +
    `FROM "machine_meters" m JOIN "buyer_billing" b ON b."buyerId" = m."buyerId" CROSS JOIN p ` +
    `WHERE m."buyerId" >= ${sql.p(first)} AND m."buyerId" <= ${sql.p(last)} AND m."removedAt" IS NULL AND b."nextDueAt" <= p."now")`
  );
}

/** What a batch's charges come to, read before they are made. */
export interface DueChargeSums {
  /** How many charges each buyer pays at each amount. */
  debits: Array<{ buyerId: string; amount: string; count: number }>;
  /** How many charges each provider earns on each host (null: a meter without one) at each amount. */
  credits: Array<{ providerId: string; hostId: string | null; amount: string; count: number }>;
  /** Per buyer with a live meter: the earliest instant a charge falls due once all due by now are made. */
  nextDueAt: Map<string, number>;
  /** Meters with a charge due. */
  meters: number;
  /** Charges in all. */
  charges: number;
  /** The most charges one meter has due. */
  mostOfOneMeter: number;
  /** Meters whose buyer is their host's provider (a charge would pay its payer). */
  selfPaid: number;
}

/**
 * The sums of the charges due by `now` of the buyers from `first` to `last` (ids, inclusive)
 * with something due, and each one's next due instant after them: one statement, the meters
 * summed by buyer and prices, and by provider, host and prices.
 */
export async function dueChargeSums(em: EntityManager, now: number, first: string, last: string): Promise<DueChargeSums> {
  const sql = new Sql(em);
  const nothing = 'CAST(NULL AS bigint)';
  const storage = 'd."periodsAtNow" - d."periodsAtMark"';
  const running = 'd."slicesAtNow" - d."slicesAtMark"';
  const nextStorage = 'd."firstStorage" + d."periodsAtNow" * d."period"';
  const nextSlice = 'd."runOut" + d."slicesAtNow" * d."slice"';
  const next = `MIN(CASE WHEN d."runningSince" IS NULL OR ${nextStorage} <= ${nextSlice} THEN ${nextStorage} ELSE ${nextSlice} END)`;
  const rows = await select<{
    account: string;
    hostId: string | null;
    storagePrice: string;
    runningPrice: string;
    storage: number | string;
    running: number | string;
    meters: number | string | null;
    next: number | string | null;
    most: number | string | null;
    self: number | string | null;
  }>(
    em,
    `WITH ${dueMeters(sql, now, first, last)} ` +
      `SELECT d."buyerId" AS "account", CAST(NULL AS VARCHAR) AS "hostId", d."storagePrice", d."runningPrice", SUM(${storage}) AS "storage", SUM(${running}) AS "running", ` +
      `SUM(CASE WHEN ${storage} + ${running} > 0 THEN 1 ELSE 0 END) AS "meters", ${next} AS "next", MAX(${storage} + ${running}) AS "most", ` +
      `SUM(CASE WHEN d."buyerId" = d."providerId" AND ${storage} + ${running} > 0 THEN 1 ELSE 0 END) AS "self" ` +
      `FROM due d GROUP BY d."buyerId", d."storagePrice", d."runningPrice" ` +
      `UNION ALL SELECT d."providerId", d."hostId", d."storagePrice", d."runningPrice", SUM(${storage}), SUM(${running}), ${nothing}, ${nothing}, ${nothing}, ${nothing} ` +
      `FROM due d WHERE ${storage} + ${running} > 0 GROUP BY d."providerId", d."hostId", d."storagePrice", d."runningPrice"`,
    sql.params,
    true,
  );
  const sums: DueChargeSums = { debits: [], credits: [], nextDueAt: new Map(), meters: 0, charges: 0, mostOfOneMeter: 0, selfPaid: 0 };
  for (const row of rows) {
    // Each row's storage and running charges, at their two prices.
    const counts = [
      { amount: row.storagePrice, count: Number(row.storage) },
      { amount: row.runningPrice, count: Number(row.running) },
    ].filter(({ count }) => count > 0);
    if (row.meters === null) {
      for (const credit of counts) sums.credits.push({ providerId: row.account, hostId: row.hostId, ...credit });
      continue;
    }
    for (const debit of counts) {
      sums.debits.push({ buyerId: row.account, ...debit });
      sums.charges += debit.count;
    }
    sums.meters += Number(row.meters);
    const earlier = sums.nextDueAt.get(row.account);
    if (row.next !== null && (earlier === undefined || Number(row.next) < earlier)) sums.nextDueAt.set(row.account, Number(row.next));
    sums.mostOfOneMeter = Math.max(sums.mostOfOneMeter, Number(row.most));
    sums.selfPaid += Number(row.self);
  }
  return sums;
}

/**
 * A SELECT of the ledger rows (LedgerService.postSelected's columns: key, kind, debitAccount,
 * creditAccount, amount, machineId, hostId, at) of the charges dueChargeSums summed, in the
 * ledger's primary key order: each meter's storage periods and running slices from its first due
 * after the mark, one row each (a recursive common table: a row per charge, whatever the count),
 * keyed as libs/domain keys them (storageKey, runningKey). Its placeholders come first, in `sql`.
 */
export function dueChargeRows(sql: Sql, now: number, first: string, last: string): string {
  // Each meter's first charge of each kind after the mark (its instant, index and how many follow
  // up to now), then one row per charge.
  const charges =
    `c AS (SELECT d."machineId", d."buyerId", d."providerId", d."hostId", 'storage' AS "kind", d."storagePrice" AS "amount", ` +
    `d."firstStorage" + d."periodsAtMark" * d."period" AS "at", d."period" AS "step", d."periodsCharged" + d."periodsAtMark" AS "idx", ` +
    `d."periodsAtNow" - d."periodsAtMark" AS "left", d."storedAt" FROM due d WHERE d."periodsAtNow" > d."periodsAtMark" ` +
    `UNION ALL SELECT d."machineId", d."buyerId", d."providerId", d."hostId", 'running', d."runningPrice", d."runOut" + d."slicesAtMark" * d."slice", d."slice", ` +
    `d."slicesCharged" + d."slicesAtMark", d."slicesAtNow" - d."slicesAtMark", d."storedAt" FROM due d WHERE d."slicesAtNow" > d."slicesAtMark" ` +
    `UNION ALL SELECT c."machineId", c."buyerId", c."providerId", c."hostId", c."kind", c."amount", c."at" + c."step", c."step", c."idx" + 1, c."left" - 1, c."storedAt" FROM c WHERE c."left" > 1)`;
  const key =
    `CASE WHEN c."kind" = 'storage' THEN 'storage:' || c."machineId" || ':' || CAST(c."storedAt" AS VARCHAR) || ':' || CAST(c."idx" AS VARCHAR) ` +
    `ELSE 'running:' || c."machineId" || ':' || CAST(c."idx" AS VARCHAR) END`;
  return (
    `WITH RECURSIVE ${dueMeters(sql, now, first, last)}, ${charges} ` +
    `SELECT ${key} AS "key", c."kind", ${userAccountSql('c."buyerId"')} AS "debitAccount", ${userAccountSql('c."providerId"')} AS "creditAccount", c."amount", c."machineId", c."hostId", c."at" ` +
    `FROM c ORDER BY 3, 1`
  );
}
