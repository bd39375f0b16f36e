import { type MachineMeter, nextDebitsAmount } from '@virtuoso/domain';
import type { EntityManager } from 'typeorm';
import { Sql, select } from '../common/sql';
import type { MachineMeterRow } from './machine-meter.entity';

/** Every column of machine_meters, in insert order. */
export const METER_COLUMNS = [
  'machineId',
  'buyerId',
  'providerId',
  'hostId',
  'storagePrice',
  'storageAmountDays',
  'runningPrice',
  'runningUnitSeconds',
  'storedAt',
  'storagePeriodsCharged',
  'slicesCharged',
  'prepaidMsLeft',
  'runningSince',
  'asOf',
  'removedAt',
  'nextDebits',
  'revision',
] as const satisfies ReadonlyArray<keyof MachineMeterRow>;

/** A meter as stored: libs/domain's MachineMeter plus its host and revision. */
export interface StoredMeter {
  meter: MachineMeter;
  hostId: string | null;
  revision: number;
}

const ms = (value: unknown): number => (typeof value === 'number' ? value : Number(value));
const msOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : ms(value));

/** A row as read raw (SQLite gives numbers, PostgreSQL gives int8 as text) or through the entity. */
export function meterOf(row: Record<string, unknown> | MachineMeterRow): MachineMeter {
  const r = row as Record<string, unknown>;
  return {
    machineId: r.machineId as string,
    buyerId: r.buyerId as string,
    providerId: r.providerId as string,
    storagePrice: r.storagePrice as string,
    storageAmountDays: ms(r.storageAmountDays),
    runningPrice: r.runningPrice as string,
    runningUnitSeconds: ms(r.runningUnitSeconds),
    storedAt: ms(r.storedAt),
    storagePeriodsCharged: ms(r.storagePeriodsCharged),
    slicesCharged: ms(r.slicesCharged),
    prepaidMsLeft: ms(r.prepaidMsLeft),
    runningSince: msOrNull(r.runningSince),
    asOf: ms(r.asOf),
    removedAt: msOrNull(r.removedAt),
  };
}

// nextDebitsAmount depends only on the prices and on whether the machine runs or is billed at
// all; a market holds few distinct price pairs, so each is worked out once: by storage price,
// then running price, four amounts (running or not, removed or not), found without making a key.
const debitsMemo = new Map<string, Map<string, Array<string | undefined>>>();
let debitsMemoSize = 0;
function nextDebitsOf(meter: MachineMeter): string {
  let byRunningPrice = debitsMemo.get(meter.storagePrice);
  let amounts = byRunningPrice?.get(meter.runningPrice);
  if (amounts === undefined) {
    if (debitsMemoSize >= 10_000) {
      debitsMemo.clear();
      debitsMemoSize = 0;
      byRunningPrice = undefined;
    }
    if (byRunningPrice === undefined) debitsMemo.set(meter.storagePrice, (byRunningPrice = new Map()));
    byRunningPrice.set(meter.runningPrice, (amounts = [undefined, undefined, undefined, undefined]));
    debitsMemoSize += 1;
  }
  const slot = (meter.runningSince === null ? 0 : 1) + (meter.removedAt === null ? 0 : 2);
  return (amounts[slot] ??= nextDebitsAmount(meter));
}

/** The row to write for a meter: the derived nextDebits with it. */
export function rowOf(meter: MachineMeter, hostId: string | null, revision: number): MachineMeterRow {
  return { ...meter, hostId, nextDebits: nextDebitsOf(meter), revision };
}

/** The values of METER_COLUMNS for a meter, in order. */
export function meterValues(meter: MachineMeter, hostId: string | null, revision: number): unknown[] {
  return [
    meter.machineId,
    meter.buyerId,
    meter.providerId,
    hostId,
    meter.storagePrice,
    meter.storageAmountDays,
    meter.runningPrice,
    meter.runningUnitSeconds,
    meter.storedAt,
    meter.storagePeriodsCharged,
    meter.slicesCharged,
    meter.prepaidMsLeft,
    meter.runningSince,
    meter.asOf,
    meter.removedAt,
    nextDebitsOf(meter),
    revision,
  ];
}

/** What charging and events change, written by progressValues. */
export const PROGRESS_SET =
  '"storagePeriodsCharged" = CAST(v.column3 AS integer), "slicesCharged" = CAST(v.column4 AS integer), ' +
  '"prepaidMsLeft" = CAST(v.column5 AS bigint), "runningSince" = CAST(v.column6 AS bigint), "asOf" = CAST(v.column7 AS bigint), ' +
  '"removedAt" = CAST(v.column8 AS bigint), "nextDebits" = v.column9, ' +
  '"revision" = "machine_meters"."revision" + 1';
export const PROGRESS_WIDTH = 9;
/** The types of progressValues' columns (Sql.values on PostgreSQL). */
export const PROGRESS_TYPES = ['text', 'integer', 'integer', 'integer', 'bigint', 'bigint', 'bigint', 'bigint', 'text'] as const;

/** machineId, the revision read, then the progress columns. */
export function progressValues(meter: MachineMeter, revision: number): unknown[] {
  return [
    meter.machineId,
    revision,
    meter.storagePeriodsCharged,
    meter.slicesCharged,
    meter.prepaidMsLeft,
    meter.runningSince,
    meter.asOf,
    meter.removedAt,
    nextDebitsOf(meter),
  ];
}

// The due meters are read packed into one text column each (the sqlite3 driver's cost is per value
// returned; see MarketHosts.marketHosts): ids are UUIDs and money is canonical, neither holds a space.
// Every column but nextDebits (derived from the others), in METER_COLUMNS' order.
const PACKED = METER_COLUMNS.filter((column) => column !== 'nextDebits');
const NULLABLE = new Set<string>(['hostId', 'runningSince', 'removedAt']);
const PACKED_SELECT = PACKED.map((column) => (NULLABLE.has(column) ? `COALESCE(CAST(m."${column}" AS VARCHAR), '-')` : `CAST(m."${column}" AS VARCHAR)`)).join(
  " || ' ' || ",
);

/**
 * A meter row's (alias `m`) terms and standing in SQL, in ms as bigint: a storage period, a running
 * slice, the start of the next storage period not yet charged, and the instant its prepaid running
 * time runs out (counting only while it runs). nextDueSql and the billing pass's charges
 * (due-charges.ts) reckon from these.
 */
export const METER_SQL = {
  period: 'CAST(m."storageAmountDays" AS bigint) * 86400000',
  slice: 'CAST(m."runningUnitSeconds" AS bigint) * 1000',
  firstStorage: '(m."storedAt" + CAST(m."storagePeriodsCharged" AS bigint) * CAST(m."storageAmountDays" AS bigint) * 86400000)',
  runOut: '(m."asOf" + m."prepaidMsLeft")',
} as const;

/**
 * SQL for the instant a meter row (alias `m`) next has a charge due after its buyer's mark (alias
 * `b`, buyer_billing): libs/domain's nextDueAt(chargedTo(meter, mark)), in the same closed form,
 * for both databases (integer division of non-negative bigints truncates on both). NULL once
 * billing has stopped. The pass reads only the meters for which it is at or before now, and the
 * rest only through it (their earliest, for their buyer's next due instant): a test checks it
 * against libs/domain on random rows of both databases, since a meter it wrongly called not due
 * would have the mark moved past its charges.
 */
export function nextDueSql(): string {
  const mark = 'b."billedTo"';
  const { period, firstStorage, slice, runOut } = METER_SQL;
  const storage = `(CASE WHEN ${firstStorage} > ${mark} THEN ${firstStorage} ELSE ${firstStorage} + ((${mark} - ${firstStorage}) / (${period}) + 1) * ${period} END)`;
  const running = `(CASE WHEN ${runOut} > ${mark} THEN ${runOut} ELSE ${runOut} + ((${mark} - ${runOut}) / (${slice}) + 1) * ${slice} END)`;
  return `(CASE WHEN m."removedAt" IS NOT NULL THEN NULL WHEN m."runningSince" IS NULL OR ${storage} <= ${running} ` + `THEN ${storage} ELSE ${running} END)`;
}
const NEXT_DUE = nextDueSql();

/**
 * The buyers with something due by `now` (buyer_billing's nextDueAt), in id order, with how many
 * of their meters have: what the billing pass cuts into batches of whole buyers.
 */
export async function dueBuyers(em: EntityManager, now: number): Promise<Array<{ buyerId: string; meters: number }>> {
  const sql = new Sql(em);
  // The same count (0 for a buyer whose next due instant an event brought forward too early: the
  // batch moves it on), in the form each database runs fastest (the billing-pass bench, 100,000
  // meters): SQLite a lookup of each buyer's meters through the buyerId index (64 ms; joined and
  // grouped, 220 ms), PostgreSQL one outer join grouped by buyer (80 ms; a subquery a buyer, 190 ms).
  // Placeholders in text order (SQLite binds them by position): the meter's condition comes first in both forms.
  const meterDue = `m."buyerId" = b."buyerId" AND m."removedAt" IS NULL AND ${NEXT_DUE} <= ${sql.p(now)}`;
  const buyerDue = `b."nextDueAt" <= ${sql.p(now)}`;
  const rows = await select<{ buyerId: string; meters: number | string }>(
    em,
    sql.sqlite
      ? `SELECT b."buyerId", (SELECT COUNT(*) FROM "machine_meters" m WHERE ${meterDue}) AS "meters" FROM "buyer_billing" b WHERE ${buyerDue} ORDER BY b."buyerId"`
      : `SELECT b."buyerId", COUNT(m."machineId") AS "meters" FROM "buyer_billing" b LEFT JOIN "machine_meters" m ON ${meterDue} ` +
          `WHERE ${buyerDue} GROUP BY b."buyerId" ORDER BY b."buyerId"`,
    sql.params,
    true,
  );
  return rows.map((row) => ({ buyerId: row.buyerId, meters: Number(row.meters) }));
}

/**
 * The marks of the buyers from `first` to `last` (ids, inclusive) with something due by `now`,
 * in id order; on PostgreSQL locked until the transaction ends, so that an event of one of their
 * machines (BillingService's hooks lock the same row) waits for the batch and reckons its meter
 * from the mark the batch leaves.
 */
export async function dueMarks(em: EntityManager, now: number, first: string, last: string): Promise<Array<{ buyerId: string; billedTo: number }>> {
  const sql = new Sql(em);
  const rows = await select<{ buyerId: string; billedTo: number | string }>(
    em,
    `SELECT "buyerId", "billedTo" FROM "buyer_billing" WHERE "buyerId" >= ${sql.p(first)} AND "buyerId" <= ${sql.p(last)} ` +
      `AND "nextDueAt" <= ${sql.p(now)} ORDER BY "buyerId"${sql.sqlite ? '' : ' FOR UPDATE'}`,
    sql.params,
    true,
  );
  return rows.map((row) => ({ buyerId: row.buyerId, billedTo: Number(row.billedTo) }));
}

/** What the meters of buyers from `first` to `last` with something due by `now` hold for a batch. */
export interface DueMetersOfBuyers {
  /** The meters with a charge due by now (reckoned at their buyer's mark), through the buyerId index. */
  due: StoredMeter[];
  /** Per buyer, the earliest next due instant of their other live meters (none due by now). */
  laterDue: Map<string, number>;
}

/**
 * The meters of the due buyers from `first` to `last` (ids, inclusive): those due by `now` whole,
 * the others' earliest next due instant. One statement, so one round trip a batch: both databases
 * inline the common table into its two uses (two scans, as two statements made; materialised it
 * was slower on SQLite; docs/ARCHITECTURE.md §12).
 */
export async function dueMetersOfBuyers(em: EntityManager, now: number, first: string, last: string): Promise<DueMetersOfBuyers> {
  // Placeholders in text order (SQLite binds them by position).
  const sql = new Sql(em);
  const scanned =
    `SELECT m.*, ${NEXT_DUE} AS "due" FROM "machine_meters" m JOIN "buyer_billing" b ON b."buyerId" = m."buyerId" ` +
    `WHERE m."buyerId" >= ${sql.p(first)} AND m."buyerId" <= ${sql.p(last)} AND m."removedAt" IS NULL AND b."nextDueAt" <= ${sql.p(now)}`;
  const rows = await select<{ packed: string | null; buyerId: string | null; at: number | string | null }>(
    em,
    `WITH s AS (${scanned}) ` +
      `SELECT ${PACKED_SELECT} AS "packed", NULL AS "buyerId", NULL AS "at" FROM s m WHERE m."due" <= ${sql.p(now)} ` +
      `UNION ALL SELECT NULL, m."buyerId", MIN(m."due") FROM s m WHERE m."due" > ${sql.p(now)} GROUP BY m."buyerId"`,
    sql.params,
    true,
  );
  const due: StoredMeter[] = [];
  const laterDue = new Map<string, number>();
  for (const row of rows) {
    if (row.packed !== null) due.push(unpack(row.packed));
    else laterDue.set(row.buyerId!, Number(row.at));
  }
  return { due, laterDue };
}

/**
 * A row packed by PACKED_SELECT, read field by field: the texts kept (ids, prices) cut out, the
 * numbers read digit by digit where they stand (no array of sixteen strings a meter to parse).
 * Anything else (a sign, a fraction, a number of 16 digits or more) is read by splitting, as before.
 */
export function unpack(packed: string): StoredMeter {
  cursor = 0;
  unusual = false;
  const machineId = textAt(packed);
  const buyerId = textAt(packed);
  const providerId = textAt(packed);
  const host = textAt(packed);
  const storagePrice = textAt(packed);
  const storageAmountDays = numberAt(packed);
  const runningPrice = textAt(packed);
  const runningUnitSeconds = numberAt(packed);
  const storedAt = numberAt(packed);
  const storagePeriodsCharged = numberAt(packed);
  const slicesCharged = numberAt(packed);
  const prepaidMsLeft = numberAt(packed);
  const runningSince = numberAt(packed);
  const asOf = numberAt(packed);
  const removedAt = numberAt(packed);
  const revision = numberAt(packed);
  if (
    unusual ||
    cursor !== packed.length + 1 ||
    storageAmountDays === null ||
    runningUnitSeconds === null ||
    storedAt === null ||
    storagePeriodsCharged === null ||
    slicesCharged === null ||
    prepaidMsLeft === null ||
    asOf === null ||
    revision === null
  )
    return unpackBySplitting(packed);
  return {
    meter: {
      machineId,
      buyerId,
      providerId,
      storagePrice,
      storageAmountDays,
      runningPrice,
      runningUnitSeconds,
      storedAt,
      storagePeriodsCharged,
      slicesCharged,
      prepaidMsLeft,
      runningSince,
      asOf,
      removedAt,
    },
    hostId: host === '-' ? null : host,
    revision,
  };
}

// unpack's place in the row it reads, and whether it met a field it does not read itself.
let cursor = 0;
let unusual = false;
const SPACE = 32;
const DASH = 45;
const ZERO = 48;
const NINE = 57;

/** The text from the cursor to the next space (or the end); the cursor then after that space. */
function textAt(packed: string): string {
  const end = packed.indexOf(' ', cursor);
  const value = end === -1 ? packed.slice(cursor) : packed.slice(cursor, end);
  cursor = end === -1 ? packed.length + 1 : end + 1;
  return value;
}

/** The whole number (or '-', null) at the cursor; sets `unusual` on anything else. */
function numberAt(packed: string): number | null {
  const start = cursor;
  let value = 0;
  for (; cursor < packed.length; cursor++) {
    const code = packed.charCodeAt(cursor);
    if (code === SPACE) break;
    if (code < ZERO || code > NINE) {
      if (code === DASH && cursor === start && (cursor + 1 === packed.length || packed.charCodeAt(cursor + 1) === SPACE)) {
        cursor += 2;
        return null;
      }
      unusual = true;
      return 0;
    }
    value = value * 10 + (code - ZERO);
  }
  if (cursor === start || cursor - start > 15) unusual = true;
  cursor += 1;
  return value;
}

function unpackBySplitting(packed: string): StoredMeter {
  const f = packed.split(' ');
  const orNull = (text: string) => (text === '-' ? null : Number(text));
  return {
    meter: {
      machineId: f[0],
      buyerId: f[1],
      providerId: f[2],
      storagePrice: f[4],
      storageAmountDays: Number(f[5]),
      runningPrice: f[6],
      runningUnitSeconds: Number(f[7]),
      storedAt: Number(f[8]),
      storagePeriodsCharged: Number(f[9]),
      slicesCharged: Number(f[10]),
      prepaidMsLeft: Number(f[11]),
      runningSince: orNull(f[12]),
      asOf: Number(f[13]),
      removedAt: orNull(f[14]),
    },
    hostId: f[3] === '-' ? null : f[3],
    revision: Number(f[15]),
  };
}
