import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock, WALL_CLOCK } from '../common/clock';
import { type LedgerEntry as DomainEntry, ledgerBalances, ledgerEntries, moneyToUnits, unitsToMoney } from '@virtuoso/domain';
import type { EntityManager } from 'typeorm';
import { Database } from '../common/database.service';
import { ApiError, isUniqueViolation } from '../common/errors';
import { Sql, exec, rowParts, select } from '../common/sql';
import { nowIso } from '../common/time';
import { LedgerKind, userAccount, userOfAccount } from './ledger-entry.entity';

/** One movement to record: `amount` from account `from` to account `to`. */
export interface Posting {
  key: string;
  kind: LedgerKind;
  from: string;
  to: string;
  amount: string;
  /** ms since the epoch. */
  at: number;
  machineId?: string | null;
  hostId?: string | null;
}

export interface Posted<P extends Posting = Posting> {
  /** The movements recorded (those whose key was not in the ledger yet), the objects given. */
  applied: P[];
  /** New balance of each user account they moved, by user id. */
  balances: Map<string, string>;
}

/** How many movements each account pays (debits) and is paid (credits) at each amount. */
export interface SelectedSums {
  debits: ReadonlyArray<{ account: string; amount: string; count: number }>;
  credits: ReadonlyArray<{ account: string; amount: string; count: number }>;
}

export interface LedgerCheck {
  /** Every movement sums to zero and so does the whole ledger (one row = both sides). */
  total: string;
  /** Users whose stored balance differs from their credits minus their debits. */
  mismatches: Array<{ userId: string; balance: string; ledger: string }>;
  /** Movement keys that do not have exactly two sides: a key recorded under two payers (the primary key is the pair). */
  malformed: string[];
  users: number;
  entries: number;
}

/** Postings in the ledger's primary key order: by payer, then key. */
const byPayerAndKey = (a: Posting, b: Posting): number => (a.from < b.from ? -1 : a.from > b.from ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

const LEDGER_COLUMNS = ['key', 'kind', 'debitAccount', 'creditAccount', 'amount', 'machineId', 'hostId', 'at', 'createdAt'] as const;
/** The types of a posting's values on PostgreSQL (Sql.values): `at` read as bigint. */
const LEDGER_TYPES = ['text', 'text', 'text', 'text', 'text', 'text', 'text', 'bigint'] as const;

/**
 * The one writer of the ledger and of user balances. Posting happens in the caller's transaction:
 * keys already in the ledger are skipped (a movement can never apply twice), the new rows are
 * inserted, and each user's balance moves by the exact sum of their new entries with a
 * compare-and-set on the balance read, so concurrent writers on PostgreSQL cannot lose an update.
 */
@Injectable()
export class LedgerService {
  private readonly logger = new Logger('Ledger');

  constructor(
    private readonly db: Database,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
  ) {}

  /**
   * Records the movements not yet in the ledger and moves the balances they touch. Returns those
   * it recorded, and the new balance of every user account they moved. `expectNew`: the caller
   * knows none of the keys is in the ledger (the billing pass: its buyers' marks say so), so the
   * savepoint that lets keys there be skipped is not taken (two round trips on PostgreSQL); a key
   * there after all fails the caller's transaction with a 409, and the caller redoes it without.
   */
  async post<P extends Posting>(em: EntityManager, postings: readonly P[], { expectNew = false }: { expectNew?: boolean } = {}): Promise<Posted<P>> {
    if (postings.length === 0) return { applied: [], balances: new Map() };
    const byKey = new Map<string, P>();
    const units = new Map<string, bigint>();
    for (const posting of postings) {
      if (byKey.has(posting.key)) continue;
      if (posting.from === posting.to) throw new Error(`movement ${posting.key} pays ${posting.from} to itself`);
      let amount = units.get(posting.amount);
      if (amount === undefined) {
        amount = moneyToUnits(posting.amount);
        units.set(posting.amount, amount);
      }
      if (amount < 0n) throw new Error(`movement ${posting.key} has a negative amount`);
      byKey.set(posting.key, posting);
    }
    // In primary key order (payer, key): inserting in order touches each page of it once.
    const unique = [...byKey.values()].sort(byPayerAndKey);
    let applied = unique;
    // The usual case: none of the keys is in the ledger yet, and a plain INSERT says so by not
    // failing (on PostgreSQL, ON CONFLICT DO NOTHING would make every row a speculative insertion:
    // the billing pass's 125,000 ledger rows took 1.45–1.5 s instead of 0.86–0.92 s;
    // docs/ARCHITECTURE.md §12). Otherwise, unless none was expected, undo it to the savepoint and
    // insert only the movements not there.
    if (!expectNew) await exec(em, 'SAVEPOINT ledger_post', [], true);
    try {
      await this.insert(em, unique);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      if (expectNew) throw new ApiError(409, 'a movement expected new is in the ledger already; try again');
      await exec(em, 'ROLLBACK TO SAVEPOINT ledger_post', [], true);
      applied = await this.insertNotThere(em, unique);
    }
    if (!expectNew) await exec(em, 'RELEASE SAVEPOINT ledger_post', [], true);
    const balances = await this.moveBalances(em, applied, units);
    return { applied, balances };
  }

  /**
   * Records movements the database makes itself: `rows` is a SELECT of new ledger rows (columns
   * key, kind, debitAccount, creditAccount, amount, machineId, hostId, at, in the ledger's primary
   * key order; its placeholders in `sql`), and `sums` says how many of them each account pays and
   * is paid at each amount — what the balances move by. None of the keys may be in the ledger yet:
   * one that is fails the caller's transaction with a 409 (as post with expectNew). The rows
   * inserted must be the rows summed, and debits and credits must balance, or it throws.
   * Returns the new balance of every user account moved.
   */
  async postSelected(em: EntityManager, sql: Sql, rows: string, sums: SelectedSums): Promise<Map<string, string>> {
    const byAccount = new Map<string, bigint>();
    const units = new Map<string, bigint>();
    const sidesOf = (side: SelectedSums['debits'], sign: bigint) => {
      let count = 0;
      let total = 0n;
      for (const { account, amount, count: times } of side) {
        let each = units.get(amount);
        if (each === undefined) {
          each = moneyToUnits(amount);
          if (each < 0n) throw new Error(`movements to ${account} have a negative amount`);
          units.set(amount, each);
        }
        byAccount.set(account, (byAccount.get(account) ?? 0n) + sign * each * BigInt(times));
        count += times;
        total += each * BigInt(times);
      }
      return { count, total };
    };
    const debits = sidesOf(sums.debits, -1n);
    const credits = sidesOf(sums.credits, 1n);
    if (debits.count !== credits.count || debits.total !== credits.total) {
      throw new Error(
        `the movements' debits (${debits.count}, ${unitsToMoney(debits.total)}) and credits (${credits.count}, ${unitsToMoney(credits.total)}) differ`,
      );
    }
    if (debits.count === 0) return new Map();
    let result: { affected: number };
    try {
      result = await exec(
        em,
        // createdAt bound after the rows' placeholders, in text order (SQLite binds them by position).
        `INSERT INTO "ledger_entries" (${LEDGER_COLUMNS.map((c) => `"${c}"`).join(', ')}) ` +
          `SELECT s."key", s."kind", s."debitAccount", s."creditAccount", s."amount", s."machineId", s."hostId", s."at", k."createdAt" ` +
          `FROM (${rows}) AS s CROSS JOIN (SELECT ${sql.p(nowIso(this.wallClock))} AS "createdAt") AS k`,
        sql.params,
        true,
      );
    } catch (error) {
      if (isUniqueViolation(error)) throw new ApiError(409, 'a movement expected new is in the ledger already; try again');
      throw error;
    }
    if (result.affected !== debits.count) throw new Error(`inserted ${result.affected} movements where ${debits.count} were summed`);
    return this.moveAccounts(em, byAccount);
  }

  /** Inserts the postings not in the ledger yet under their payer; returns them. */
  private async insertNotThere<P extends Posting>(em: EntityManager, postings: P[]): Promise<P[]> {
    const existing = await this.existingKeys(em, postings);
    this.logger.warn(`skipped ${existing.size} movement(s) already in the ledger, e.g. ${[...existing][0]}`);
    const fresh = postings.filter((posting) => !existing.has(posting.key));
    try {
      await this.insert(em, fresh);
    } catch (error) {
      // PostgreSQL: another transaction committed one of them meanwhile.
      if (isUniqueViolation(error)) throw new ApiError(409, 'the ledger changed while posting; try again');
      throw error;
    }
    return fresh;
  }

  /** The keys of the postings already in the ledger under their payer. */
  private async existingKeys(em: EntityManager, postings: Posting[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (const part of rowParts(em, postings, 2)) {
      const sql = new Sql(em);
      const pairs = sql.values(
        part.map((posting) => [posting.from, posting.key]),
        2,
      );
      const rows = await select<{ key: string }>(
        em,
        `SELECT "key" FROM "ledger_entries" e JOIN ${pairs} AS v ON e."debitAccount" = v.column1 AND e."key" = v.column2`,
        sql.params,
      );
      for (const row of rows) found.add(row.key);
    }
    return found;
  }

  /** Inserts the rows; fails with a unique violation when one of them is in the ledger already. */
  private async insert(em: EntityManager, postings: Posting[]): Promise<void> {
    const createdAt = nowIso(this.wallClock);
    const perRow = LEDGER_COLUMNS.length - 1;
    // In the order given (primary key order), json_each keeping it on SQLite.
    for (const part of rowParts(em, postings, perRow)) {
      const sql = new Sql(em);
      // createdAt is the same for every row: bound once, not once a row (placeholders in text order).
      const created = sql.p(createdAt);
      const rows = sql.values(
        part.map((p) => [p.key, p.kind, p.from, p.to, p.amount, p.machineId ?? null, p.hostId ?? null, p.at]),
        perRow,
        LEDGER_TYPES,
      );
      await exec(
        em,
        `INSERT INTO "ledger_entries" (${LEDGER_COLUMNS.map((c) => `"${c}"`).join(', ')}) ` +
          `SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7, CAST(v.column8 AS bigint), ${created} FROM ${rows} AS v`,
        sql.params,
        true,
      );
    }
  }

  /** Moves each user's balance by the sum of their new entries (bigint units: exact, one write per user). */
  private moveBalances(em: EntityManager, postings: Posting[], units: Map<string, bigint>): Promise<Map<string, string>> {
    const byAccount = new Map<string, bigint>();
    for (const posting of postings) {
      const amount = units.get(posting.amount)!;
      byAccount.set(posting.from, (byAccount.get(posting.from) ?? 0n) - amount);
      byAccount.set(posting.to, (byAccount.get(posting.to) ?? 0n) + amount);
    }
    return this.moveAccounts(em, byAccount);
  }

  /** Moves each user account's balance by its delta (other accounts have no balance row); returns the new balances by user id. */
  private async moveAccounts(em: EntityManager, byAccount: ReadonlyMap<string, bigint>): Promise<Map<string, string>> {
    // Each account's user once (not two user ids cut out of every posting).
    const deltas = new Map<string, bigint>();
    for (const [account, delta] of byAccount) {
      const user = userOfAccount(account);
      if (user) deltas.set(user, delta);
    }
    const balances = new Map<string, string>();
    // In id order, so that concurrent posters lock the same users in the same order (no deadlock).
    const ids = [...deltas.keys()].sort();
    for (const part of rowParts(em, ids, 3)) {
      const read = new Sql(em);
      // PostgreSQL runs transactions side by side: lock the rows read, so that a concurrent poster
      // (two starts of one buyer at once) waits for this one and then reads the new balance instead
      // of failing the compare-and-set below. SQLite runs one transaction at a time (Database).
      const rows = await select<{ id: string; balance: string }>(
        em,
        `SELECT "id", "balance" FROM "users" WHERE "id" IN ${read.inList(part)}${read.sqlite ? '' : ' ORDER BY "id" FOR UPDATE'}`,
        read.params,
        true,
      );
      if (rows.length !== part.length) {
        const missing = part.filter((id) => !rows.some((row) => row.id === id));
        throw new Error(`no such user account: ${missing.slice(0, 3).map(userAccount).join(', ')}`);
      }
      const write = new Sql(em);
      const values = rows.map((row) => {
        const balance = unitsToMoney(moneyToUnits(row.balance) + deltas.get(row.id)!);
        balances.set(row.id, balance);
        return [row.id, balance, row.balance];
      });
      const result = await exec(
        em,
        `UPDATE "users" SET "balance" = v.column2 FROM ${write.values(values, 3)} AS v ` + `WHERE "users"."id" = v.column1 AND "users"."balance" = v.column3`,
        write.params,
        true,
      );
      if (result.affected !== rows.length) throw new ApiError(409, 'a balance changed while posting to the ledger; try again');
    }
    return balances;
  }

  /**
   * Checks the ledger with libs/domain's ledgerBalances: each movement balances, the ledger sums to
   * zero, and every user's stored balance equals their credits minus their debits.
   */
  async verify(em: EntityManager = this.db.manager): Promise<LedgerCheck> {
    const rows = await select<{ key: string; kind: LedgerKind; debitAccount: string; creditAccount: string; amount: string; at: number | string }>(
      em,
      'SELECT "key", "kind", "debitAccount", "creditAccount", "amount", "at" FROM "ledger_entries"',
      [],
    );
    const entries: DomainEntry[] = [];
    for (const row of rows) {
      entries.push(
        ...ledgerEntries({ key: row.key, kind: row.kind, payer: row.debitAccount, payee: row.creditAccount, amount: row.amount, at: Number(row.at) }),
      );
    }
    const summary = ledgerBalances(entries);
    const users = await select<{ id: string; balance: string }>(em, 'SELECT "id", "balance" FROM "users"', []);
    const mismatches = users
      .map((user) => ({ userId: user.id, balance: user.balance, ledger: summary.balances[userAccount(user.id)] ?? '0' }))
      .filter((user) => moneyToUnits(user.balance) !== moneyToUnits(user.ledger));
    return { total: summary.total, mismatches, malformed: [...summary.malformed, ...summary.unbalanced], users: users.length, entries: rows.length };
  }
}
