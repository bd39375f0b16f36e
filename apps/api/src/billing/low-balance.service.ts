import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { judgeLowBalance, moneyToUnits, unitsToMoney } from '@virtuoso/domain';
import type { EntityManager } from 'typeorm';
import { Database } from '../common/database.service';
import { Sql, rowParts, select } from '../common/sql';
import { APP_CONFIG, AppConfig } from '../config';
import { BuyerStanding } from './buyer-standing.entity';
import { HeldBuyerMachineRunning } from './billing.events';
import { LowBalanceNotices } from './low-balance-notices';

const msOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

interface Standing {
  lowSince: number | null;
  overdrawnSince: number | null;
  heldAt: number | null;
  required: string;
}

/**
 * Low balance (docs/ARCHITECTURE.md §4). A buyer is short when their balance is below the sum
 * of the next charge of every machine billed to them (or below zero); they are warned at once, in
 * the app and by email, with the date of the first of those charges. Charges are never skipped:
 * one that falls due is made even if it takes the balance below zero, so money stays exact and
 * providers are paid for what was used. From the moment the balance is below zero, the buyer has
 * VIRTUOSO_LOW_BALANCE_GRACE_SECONDS to top up; if they are still short then, they are held:
 * their running machines are suspended (never deleted; storage goes on being charged) and none
 * may start or resume until a top-up covers the next charges again.
 */
@Injectable()
export class LowBalanceService {
  private readonly logger = new Logger('LowBalance');

  constructor(
    private readonly db: Database,
    private readonly notices: LowBalanceNotices,
    private readonly events: EventEmitter2,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  get graceMs(): number {
    return this.config.lowBalanceGraceSeconds * 1000;
  }

  /** The sum of the next debits of the buyer's billed machines (units). */
  async requiredOf(em: EntityManager, buyerId: string): Promise<bigint> {
    return (await this.requiredFromMeters(em, [buyerId])).get(buyerId) ?? 0n;
  }

  /** Sums the nextDebits column of the buyers' billed machines. */
  private async requiredFromMeters(em: EntityManager, buyerIds: readonly string[]): Promise<Map<string, bigint>> {
    const required = new Map<string, bigint>(buyerIds.map((id) => [id, 0n]));
    const units = new Map<string, bigint>();
    for (const part of rowParts(em, buyerIds)) {
      const sql = new Sql(em);
      const rows = await select<{ buyerId: string; nextDebits: string }>(
        em,
        `SELECT "buyerId", "nextDebits" FROM "machine_meters" WHERE "buyerId" IN ${sql.inList(part)} AND "removedAt" IS NULL`,
        sql.params,
        true,
      );
      for (const row of rows) {
        let amount = units.get(row.nextDebits);
        if (amount === undefined) {
          amount = moneyToUnits(row.nextDebits);
          units.set(row.nextDebits, amount);
        }
        required.set(row.buyerId, required.get(row.buyerId)! + amount);
      }
    }
    return required;
  }

  private async standings(em: EntityManager, ids: readonly string[]): Promise<Map<string, Standing>> {
    const known = new Map<string, Standing>();
    for (const part of rowParts(em, ids)) {
      const sql = new Sql(em);
      const rows = await select<Record<string, unknown>>(em, `SELECT * FROM "buyer_standings" WHERE "userId" IN ${sql.inList(part)}`, sql.params, true);
      for (const row of rows) {
        known.set(row.userId as string, {
          lowSince: msOrNull(row.lowSince),
          overdrawnSince: msOrNull(row.overdrawnSince),
          heldAt: msOrNull(row.heldAt),
          required: row.required as string,
        });
      }
    }
    return known;
  }

  /**
   * Re-checks these buyers in the caller's transaction after something changed what they owe next
   * (a store, start, stop, removal: summed afresh from their meters) or what they hold (a top-up).
   */
  async evaluate(em: EntityManager, buyerIds: readonly string[], now: number): Promise<void> {
    const ids = [...new Set(buyerIds)];
    const required = await this.requiredFromMeters(em, ids);
    const balances = new Map<string, string>();
    for (const part of rowParts(em, ids)) {
      const sql = new Sql(em);
      const rows = await select<{ id: string; balance: string; role: string }>(
        em,
        `SELECT "id", "balance", "role" FROM "users" WHERE "id" IN ${sql.inList(part)}`,
        sql.params,
        true,
      );
      for (const row of rows) if (row.role === 'buyer') balances.set(row.id, row.balance);
    }
    await this.judge(
      em,
      [...balances].map(([id, balance]) => ({ id, balance, required: required.get(id) ?? 0n })),
      await this.standings(em, ids),
      now,
    );
  }

  /**
   * After a billing batch: charges change balances, never what buyers owe next, so the sum kept in
   * their standing serves (summed from the meters for a buyer who has none yet).
   */
  async afterCharges(em: EntityManager, buyers: ReadonlyArray<{ id: string; balance: string | null }>, now: number): Promise<void> {
    const charged = buyers.filter((buyer): buyer is { id: string; balance: string } => buyer.balance !== null);
    if (charged.length === 0) return;
    const known = await this.standings(
      em,
      charged.map((buyer) => buyer.id),
    );
    const missing = charged.filter((buyer) => !known.has(buyer.id)).map((buyer) => buyer.id);
    const summed = missing.length > 0 ? await this.requiredFromMeters(em, missing) : new Map<string, bigint>();
    const items = charged.map((buyer) => ({
      id: buyer.id,
      balance: buyer.balance,
      required: known.has(buyer.id) ? moneyToUnits(known.get(buyer.id)!.required) : (summed.get(buyer.id) ?? 0n),
    }));
    await this.judge(em, items, known, now);
  }

  /** Warns the newly short, clears those covered again, keeps each buyer's next-debits sum. */
  private async judge(
    em: EntityManager,
    buyers: ReadonlyArray<{ id: string; balance: string; required: bigint }>,
    known: Map<string, Standing>,
    now: number,
  ): Promise<void> {
    const writes: BuyerStanding[] = [];
    for (const buyer of buyers) {
      const was = known.get(buyer.id);
      const required = unitsToMoney(buyer.required);
      const judged = judgeLowBalance(moneyToUnits(buyer.balance), buyer.required, was, now);
      const next: BuyerStanding = { userId: buyer.id, ...judged.standing, required, updatedAt: now };
      if (was && next.lowSince === was.lowSince && next.overdrawnSince === was.overdrawnSince && next.heldAt === was.heldAt && next.required === was.required)
        continue;
      writes.push(next);
      if (judged.warn) await this.notices.warn(em, buyer.id, buyer.balance, required, now);
      if (judged.restored) await this.notices.restored(em, buyer.id, buyer.balance, required, now);
    }
    if (writes.length > 0) await em.upsert(BuyerStanding, writes, ['userId']);
  }

  /**
   * Holds buyers overdrawn for the whole grace period and still short, then suspends the running machines
   * of every held buyer (again on later passes, should a suspension fail). Returns how many
   * machines it asked to suspend.
   */
  async enforce(now: number): Promise<number> {
    const deadline = now - this.graceMs;
    await this.db.transaction(async (em) => {
      const overdue = await em
        .createQueryBuilder(BuyerStanding, 's')
        .where('s.overdrawnSince IS NOT NULL AND s.heldAt IS NULL AND s.overdrawnSince <= :deadline', { deadline })
        .getMany();
      if (overdue.length === 0) return;
      // Balances may have moved since the warning: look again before holding anyone.
      await this.evaluate(
        em,
        overdue.map((standing) => standing.userId),
        now,
      );
      const still = await em
        .createQueryBuilder(BuyerStanding, 's')
        .where('s.overdrawnSince IS NOT NULL AND s.heldAt IS NULL AND s.overdrawnSince <= :deadline', { deadline })
        .getMany();
      for (const standing of still) {
        await em.update(BuyerStanding, { userId: standing.userId }, { heldAt: now, updatedAt: now });
        await this.notices.held(em, standing, now);
      }
    });
    const running = await select<{ machineId: string; buyerId: string }>(
      this.db.manager,
      'SELECT m."machineId", m."buyerId" FROM "machine_meters" m JOIN "buyer_standings" s ON s."userId" = m."buyerId" ' +
        'WHERE s."heldAt" IS NOT NULL AND m."runningSince" IS NOT NULL AND m."removedAt" IS NULL',
      [],
    );
    if (running.length === 0) return 0;
    // The machines context suspends each one (BillingSuspensions); billing cannot call it, it depends on billing.
    for (const { machineId, buyerId } of running) {
      try {
        await this.events.emitAsync(HeldBuyerMachineRunning.event, new HeldBuyerMachineRunning(machineId, buyerId));
      } catch (error) {
        this.logger.warn(`could not suspend ${machineId} for low balance: ${error instanceof Error ? error.message : String(error)}; will retry`);
      }
    }
    return running.length;
  }
}
