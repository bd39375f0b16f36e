import { Inject, Injectable } from '@nestjs/common';
import {
  type Charge,
  type MachineMeter,
  type MeterStep,
  MARKET_ACCOUNT,
  chargeMovement,
  chargedTo,
  moneyToUnits,
  nextDueAt,
  unitsToMoney,
} from '@virtuoso/domain';
import type { EntityManager } from 'typeorm';
import { userAccount } from '../accounts/ledger-entry.entity';
import { LedgerService, Posting } from '../accounts/ledger.service';
import { Clock, WALL_CLOCK } from '../common/clock';
import { ApiError } from '../common/errors';
import { Sql, exec, reusableChunks, rowParts, select, textArray } from '../common/sql';
import { nowIso } from '../common/time';
import { type DueChargeSums, dueChargeRows } from './due-charges';
import { HostIncome } from './host-income.entity';
import { MachineMeterRow } from './machine-meter.entity';
import { METER_COLUMNS, PROGRESS_SET, PROGRESS_TYPES, PROGRESS_WIDTH, meterOf, meterValues, progressValues } from './meter-rows';

/** One meter advanced by libs/domain, to write with the charges it made. */
export interface MeterChange {
  step: MeterStep;
  hostId: string | null;
  /** The revision read; null for a machine never billed before (a new row). */
  revision: number | null;
  /** Prices, provider or host changed (store, arrival): write every column, not only progress. */
  terms: boolean;
}

/**
 * A machine's meter reckoned at its buyer's mark (chargedTo), with the host it bills for, the
 * revision read (for the compare-and-set) and the mark.
 */
export interface LoadedMeter {
  meter: MachineMeter;
  hostId: string | null;
  revision: number;
  billedTo: number;
}

/** The pass's new mark of a buyer and when they next have something due. */
export interface BuyerMark {
  buyerId: string;
  billedTo: number;
  nextDueAt: number | null;
}

/** A charge's ledger posting, carrying the charge (the ledger ignores it). */
export type ChargePosting = Posting & { charge: Charge };

/** The ledger posting of a charge (libs/domain chargeMovement); fees go to the market, not to a host. */
export function postingOf(charge: Charge, hostId: string | null): ChargePosting {
  const movement = chargeMovement(charge);
  return {
    key: movement.key,
    kind: movement.kind,
    from: userAccount(movement.payer),
    to: movement.payee === MARKET_ACCOUNT ? MARKET_ACCOUNT : userAccount(movement.payee),
    amount: movement.amount,
    at: movement.at,
    machineId: movement.machineId ?? null,
    hostId: charge.kind === 'fee' ? null : hostId,
    charge,
  };
}

/**
 * Billing's writes and reads, in the caller's transaction: charges as ledger postings (a key never
 * twice), the income of the host each was for, and the meter rows (compare-and-set on their
 * revision). What to charge is libs/domain's and BillingService's; this only records it.
 */
@Injectable()
export class MeterPostings {
  constructor(
    private readonly ledger: LedgerService,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
  ) {}

  /**
   * A machine's meter, reckoned at its buyer's mark. On PostgreSQL the buyer's mark is locked until
   * the transaction ends (the billing pass locks it too, dueMarks): an event waits for a batch of
   * its buyer's and reckons from the mark it leaves, and the batch, reading the meters after its
   * lock, sees what the event wrote.
   */
  async load(em: EntityManager, machineId: string): Promise<LoadedMeter | null> {
    const row = await em.findOneBy(MachineMeterRow, { machineId });
    if (!row) return null;
    const billedTo = await this.markOf(em, row.buyerId);
    return { meter: chargedTo(meterOf(row), billedTo), hostId: row.hostId, revision: row.revision, billedTo };
  }

  /**
   * How far the billing pass has charged a buyer (0: not yet), locked on PostgreSQL as load says.
   * A buyer without a mark yet gets one (at 0, nothing due) to lock: a lock on no row is no lock,
   * and a buyer's first charges would take their balance before the mark their first meter makes —
   * against a transaction of theirs that locked that mark once it was there and then asked for the
   * balance, a deadlock (seen with concurrent first stores of one buyer). A concurrent maker of the
   * same mark waits for the other's insert, then inserts nothing.
   */
  async markOf(em: EntityManager, buyerId: string): Promise<number> {
    const read = new Sql(em);
    const lock = `SELECT "billedTo" FROM "buyer_billing" WHERE "buyerId" = ${read.p(buyerId)}${read.sqlite ? '' : ' FOR UPDATE'}`;
    let [mark] = await select<{ billedTo: number | string }>(em, lock, read.params);
    if (!mark) {
      const make = new Sql(em);
      await exec(
        em,
        `INSERT INTO "buyer_billing" ("buyerId", "billedTo", "nextDueAt") VALUES (${make.p(buyerId)}, 0, NULL) ON CONFLICT ("buyerId") DO NOTHING`,
        make.params,
      );
      [mark] = await select<{ billedTo: number | string }>(em, lock, read.params);
    }
    return Number(mark.billedTo);
  }

  /**
   * Writes meter changes and their charges in the caller's transaction: ledger rows (keys already
   * there are skipped), balances, host incomes, then the meter rows with a compare-and-set on
   * their revision, and brings their buyers' next due instant forward to theirs where it is
   * earlier. Returns the charges recorded and the new balances of the accounts they moved.
   */
  async apply(em: EntityManager, changes: readonly MeterChange[]): Promise<{ charges: Charge[]; balances: Map<string, string> }> {
    const result = await this.post(em, changes);
    await this.writeMeters(em, changes);
    await this.bringForward(
      em,
      changes.map((change) => change.step.meter),
    );
    return result;
  }

  /**
   * The charges of the steps, with the hosts they were for: ledger rows (keys already there are
   * skipped, or none expected: LedgerService.post), balances and host incomes; nothing else. The
   * billing pass calls it with a whole batch (it writes its buyers' marks, not the meters).
   */
  async post(
    em: EntityManager,
    steps: ReadonlyArray<{ step: MeterStep; hostId: string | null }>,
    options: { expectNew?: boolean } = {},
  ): Promise<{ charges: Charge[]; balances: Map<string, string> }> {
    // Each posting carries its charge: the ledger hands back the very objects it recorded (no map
    // of charges by key, a billing batch holds thousands).
    const postings: ChargePosting[] = [];
    for (const { step, hostId } of steps) {
      for (const charge of step.charges) postings.push(postingOf(charge, hostId));
    }
    const { applied, balances } = await this.ledger.post(em, postings, options);
    await this.addIncome(em, applied);
    return { charges: applied.map((posting) => posting.charge), balances };
  }

  /**
   * The charges due by `now` of the buyers from `first` to `last` with something due, made by the
   * database (due-charges.ts) and recorded with the sums read before (dueChargeSums): ledger rows
   * (none of them there yet: LedgerService.postSelected), balances and host incomes. The billing
   * pass's usual batch. Returns the new balances of the accounts moved.
   */
  async postDue(em: EntityManager, now: number, first: string, last: string, sums: DueChargeSums): Promise<Map<string, string>> {
    const sql = new Sql(em);
    const rows = dueChargeRows(sql, now, first, last);
    const balances = await this.ledger.postSelected(em, sql, rows, {
      debits: sums.debits.map(({ buyerId, amount, count }) => ({ account: userAccount(buyerId), amount, count })),
      credits: sums.credits.map(({ providerId, amount, count }) => ({ account: userAccount(providerId), amount, count })),
    });
    const deltas = new Map<string, { providerId: string; units: bigint }>();
    for (const { providerId, hostId, amount, count } of sums.credits) {
      if (hostId === null) continue;
      const entry = deltas.get(hostId) ?? { providerId, units: 0n };
      entry.units += moneyToUnits(amount) * BigInt(count);
      deltas.set(hostId, entry);
    }
    await this.moveIncome(em, deltas);
    return balances;
  }

  /**
   * The buyers' marks the billing pass moved on, and when each next has something due: one
   * statement. Their rows exist (the pass only bills buyers it read from buyer_billing).
   */
  async setMarks(em: EntityManager, marks: readonly BuyerMark[]): Promise<void> {
    for (const part of rowParts(em, marks, 3)) {
      const sql = new Sql(em);
      const source = sql.values(
        part.map((mark) => [mark.buyerId, mark.billedTo, mark.nextDueAt]),
        3,
        ['text', 'bigint', 'bigint'],
      );
      // PostgreSQL: the marks are also picked by key. Joined to the unnest alone, its planner hashes
      // a sequential scan of the whole table (every batch, the cost growing with the table) where a
      // lookup of each row by primary key is what is wanted. (SQLite looks each up by key as it is.)
      const picked = sql.sqlite ? '' : ` AND "buyer_billing"."buyerId" = ANY(${sql.p(textArray(part.map((mark) => mark.buyerId)))}::text[])`;
      await exec(
        em,
        `UPDATE "buyer_billing" SET "billedTo" = CAST(v.column2 AS bigint), "nextDueAt" = CAST(v.column3 AS bigint) FROM ${source} AS v ` +
          `WHERE "buyer_billing"."buyerId" = v.column1${picked}`,
        sql.params,
        true,
      );
    }
  }

  /**
   * After events: each meter's buyer next has something due no later than the meter's next
   * charge (a first meter makes the buyer's row, marked at 0: nothing charged by a pass yet). A
   * meter whose billing stopped has no next charge and brings nothing forward.
   */
  private async bringForward(em: EntityManager, meters: readonly MachineMeter[]): Promise<void> {
    const earliest = new Map<string, number>();
    for (const meter of meters) {
      const due = nextDueAt(meter);
      if (due !== null) earliest.set(meter.buyerId, Math.min(earliest.get(meter.buyerId) ?? due, due));
    }
    for (const [buyerId, due] of [...earliest].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const sql = new Sql(em);
      await exec(
        em,
        `INSERT INTO "buyer_billing" ("buyerId", "billedTo", "nextDueAt") VALUES (${sql.p(buyerId)}, 0, ${sql.p(due)}) ` +
          `ON CONFLICT ("buyerId") DO UPDATE SET "nextDueAt" = CASE WHEN "buyer_billing"."nextDueAt" IS NULL ` +
          `OR excluded."nextDueAt" < "buyer_billing"."nextDueAt" THEN excluded."nextDueAt" ELSE "buyer_billing"."nextDueAt" END`,
        sql.params,
      );
    }
  }

  /** Adds storage and running charges to the income of the host they were for. */
  private addIncome(em: EntityManager, postings: readonly Posting[]): Promise<void> {
    const deltas = new Map<string, { providerId: string; units: bigint }>();
    const units = new Map<string, bigint>();
    for (const posting of postings) {
      if (!posting.hostId || (posting.kind !== 'storage' && posting.kind !== 'running')) continue;
      let amount = units.get(posting.amount);
      if (amount === undefined) {
        amount = moneyToUnits(posting.amount);
        units.set(posting.amount, amount);
      }
      const entry = deltas.get(posting.hostId) ?? { providerId: posting.to.slice('user:'.length), units: 0n };
      entry.units += amount;
      deltas.set(posting.hostId, entry);
    }
    return this.moveIncome(em, deltas);
  }

  /** Moves each host's income by its delta (bigint units), making the rows of hosts without one. */
  private async moveIncome(em: EntityManager, deltas: ReadonlyMap<string, { providerId: string; units: bigint }>): Promise<void> {
    if (deltas.size === 0) return;
    const updatedAt = nowIso(this.wallClock);
    // In host order, so that concurrent transactions lock the same rows in the same order.
    for (const part of rowParts(em, [...deltas.keys()].sort(), 5)) {
      const read = new Sql(em);
      if (!read.sqlite) {
        // PostgreSQL runs transactions side by side (SQLite one at a time, Database): a host's
        // first income row is made at 0 here, skipped if another transaction made it meanwhile,
        // so that every row exists and is locked below; a concurrent charge of the same host then
        // waits for this one and reads the new income instead of failing the compare-and-set.
        const seed = new Sql(em);
        const zero = part.map((hostId) => [hostId, deltas.get(hostId)!.providerId, null, unitsToMoney(0n), updatedAt]);
        await exec(
          em,
          `INSERT INTO "host_incomes" ("hostId", "providerId", "hostName", "income", "updatedAt") ` +
            `SELECT v.column1, v.column2, v.column3, v.column4, v.column5 FROM ${seed.values(zero, 5)} AS v WHERE true ON CONFLICT ("hostId") DO NOTHING`,
          seed.params,
          true,
        );
      }
      const rows = await select<{ hostId: string; income: string }>(
        em,
        `SELECT "hostId", "income" FROM "host_incomes" WHERE "hostId" IN ${read.inList(part)}${read.sqlite ? '' : ' ORDER BY "hostId" FOR UPDATE'}`,
        read.params,
        true,
      );
      const known = new Map(rows.map((row) => [row.hostId, row.income]));
      const fresh = part.filter((hostId) => !known.has(hostId));
      for (const known of rowParts(em, rows, 4)) {
        const write = new Sql(em);
        const values = known.map((row) => [row.hostId, unitsToMoney(moneyToUnits(row.income) + deltas.get(row.hostId)!.units), row.income, updatedAt]);
        const result = await exec(
          em,
          `UPDATE "host_incomes" SET "income" = v.column2, "updatedAt" = v.column4 FROM ${write.values(values, 4)} AS v ` +
            `WHERE "host_incomes"."hostId" = v.column1 AND "host_incomes"."income" = v.column3`,
          write.params,
          true,
        );
        if (result.affected !== known.length) throw new ApiError(409, 'a host income changed while billing; try again');
      }
      for (const added of rowParts(em, fresh, 5)) {
        const insert = new Sql(em);
        const values = added.map((hostId) => [hostId, deltas.get(hostId)!.providerId, null, unitsToMoney(deltas.get(hostId)!.units), updatedAt]);
        await exec(
          em,
          `INSERT INTO "host_incomes" ("hostId", "providerId", "hostName", "income", "updatedAt") ` +
            `SELECT v.column1, v.column2, v.column3, v.column4, v.column5 FROM ${insert.values(values, 5)} AS v WHERE true`,
          insert.params,
          true,
        );
      }
    }
  }

  /**
   * Writes meter rows with a compare-and-set on their revision: progress (charges, starts, stops)
   * as one UPDATE … FROM (VALUES …) of the changing columns; a (re)store or an arrival as an upsert
   * of every column, inserted only if no row exists. A row that moved on meanwhile throws (409), so
   * the transaction rolls back and the work is redone from fresh rows.
   */
  async writeMeters(em: EntityManager, changes: readonly MeterChange[]): Promise<void> {
    // In primary-key order, for the same reason as the ledger's inserts.
    const progress = changes
      .filter((change) => !change.terms && change.revision !== null)
      .sort((a, b) => (a.step.meter.machineId < b.step.meter.machineId ? -1 : a.step.meter.machineId > b.step.meter.machineId ? 1 : 0));
    for (const part of rowParts(em, progress, PROGRESS_WIDTH)) {
      const sql = new Sql(em);
      const source = sql.values(
        part.map((change) => progressValues(change.step.meter, change.revision!)),
        PROGRESS_WIDTH,
        PROGRESS_TYPES,
      );
      const result = await exec(
        em,
        `UPDATE "machine_meters" SET ${PROGRESS_SET} FROM ${source} AS v ` +
          `WHERE "machine_meters"."machineId" = v.column1 AND "machine_meters"."revision" = CAST(v.column2 AS integer)`,
        sql.params,
        true,
      );
      if (result.affected !== part.length) throw new ApiError(409, "a machine's billing changed meanwhile; try again");
    }
    const whole = changes.filter((change) => change.terms || change.revision === null);
    const set = METER_COLUMNS.filter((column) => column !== 'machineId').map((column) => `"${column}" = excluded."${column}"`);
    for (const part of reusableChunks(whole, METER_COLUMNS.length)) {
      const sql = new Sql(em);
      const values = part.map((change) => sql.row(meterValues(change.step.meter, change.hostId, (change.revision ?? -1) + 1)));
      const result = await exec(
        em,
        `INSERT INTO "machine_meters" (${METER_COLUMNS.map((column) => `"${column}"`).join(', ')}) VALUES ${values.join(', ')} ` +
          `ON CONFLICT ("machineId") DO UPDATE SET ${set.join(', ')} WHERE "machine_meters"."revision" = excluded."revision" - 1`,
        sql.params,
        true,
      );
      if (result.affected !== part.length) throw new ApiError(409, "a machine's billing changed meanwhile; try again");
    }
  }

  /** A refund comes out of what the host earned its provider (compare-and-set on the income read). */
  async lowerIncome(em: EntityManager, hostId: string, amount: string): Promise<void> {
    const row = await em.findOneBy(HostIncome, { hostId });
    if (!row) return;
    const income = unitsToMoney(moneyToUnits(row.income) - moneyToUnits(amount));
    const result = await em.update(HostIncome, { hostId, income: row.income }, { income, updatedAt: nowIso(this.wallClock) });
    if (result.affected !== 1) throw new ApiError(409, 'a host income changed while refunding; try again');
  }
}
