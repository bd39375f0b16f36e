import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { BILLED_STATES, type MachineMeter, type MeterStep, VM_RUNNING_STATES, billBuyer } from '@virtuoso/domain';
import { CLOCK, Clock } from '../common/clock';
import { Daemons, SinglePass } from '../common/daemons';
import { Database } from '../common/database.service';
import { ApiError } from '../common/errors';
import { select } from '../common/sql';
import { Metrics } from '../metrics/metrics.service';
import { APP_CONFIG, AppConfig } from '../config';
import { MoneyTotal, passEvent } from '../events/charge-summary';
import { EventLog } from '../events/event-log.service';
import { Machine } from '../machines/machine.entity';
import { NotificationsService } from '../notifications/notifications.service';
import { BillingService } from './billing.service';
import { BillingStatus } from './billing-status.entity';
import { LowBalanceService } from './low-balance.service';
import { type DueChargeSums, dueChargeSums } from './due-charges';
import { type BuyerMark, MeterPostings } from './meter-postings.service';
import { dueBuyers, dueMarks, dueMetersOfBuyers } from './meter-rows';

export interface BillingPass {
  /** The clock reading the pass charged up to. */
  at: number;
  meters: number;
  charges: number;
  batches: number;
  ms: number;
}

/** A meter far behind (a long outage, 1-second slices) is worked through over several batches (libs/domain billBuyer). */
export const MAX_CHARGES_PER_METER = 1000;
const CONFLICT_RETRIES = 3;

/**
 * The billing daemon (report §6.1.9, storageupdate.pl and runningupdate.pl in one): every
 * VIRTUOSO_BILLING_INTERVAL_SECONDS, and once at boot, it reads `now` from the clock once and
 * charges everything due by then, buyer by buyer (docs/ARCHITECTURE.md §12). Each buyer keeps a
 * mark (buyer_billing): everything due up to it is charged. The buyers with something due are
 * taken in id order, whole buyers per batch of at most VIRTUOSO_BILLING_BATCH_SIZE meters (on
 * PostgreSQL VIRTUOSO_BILLING_CONCURRENCY batches at once), and each batch is one transaction —
 * the charges libs/domain's billBuyer makes for every buyer from their mark (made by the database
 * as a rule: due-charges.ts), the ledger rows (a key never twice), balances, host incomes and the
 * buyers' new marks; the meter rows are not written — so a crash
 * (even SIGKILL) loses or doubles nothing: a batch committed is done, one not committed is redone
 * by the next pass, to the same charges with the same keys.
 * Then buyers charged are checked for low balance, grace periods enforced and pending emails sent.
 */
@Injectable()
export class BillingPassService implements OnModuleDestroy {
  private readonly logger = new Logger('BillingPass');
  private readonly passes = new SinglePass<BillingPass>();
  private closing = false;

  constructor(
    private readonly db: Database,
    private readonly billing: BillingService,
    private readonly postings: MeterPostings,
    private readonly lowBalance: LowBalanceService,
    private readonly notifications: NotificationsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly daemons: Daemons,
    private readonly metrics: Metrics,
    private readonly eventLog: EventLog,
  ) {}

  /** On the leader: a pass on becoming it (docs/ARCHITECTURE.md §12), then one every interval until the app closes. */
  async start(): Promise<void> {
    this.closing = false;
    this.daemons.onLeadership('billing-pass', async () => {
      await this.adoptUnbilled().catch((error: unknown) =>
        this.logger.error(`adopting unbilled machines failed: ${error instanceof Error ? error.message : String(error)}`),
      );
      await this.runPassSafely();
    });
    this.daemons.every('billing-pass', this.config.billingIntervalSeconds, () => this.runPassSafely());
  }

  /** Lets a pass in progress finish its batch (before the database closes); the scheduler clears the interval. */
  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    await this.passes.current?.catch(() => undefined);
  }

  /** One pass at the clock's now. Overlapping calls share the pass in progress. */
  runPass(): Promise<BillingPass> {
    return this.passes.run(() => this.pass(this.clock.now()));
  }

  /**
   * Machines stored before billing existed (a database from an older version) have no meter: they
   * are billed from now on, as if stored now (and started now, if running). Returns how many.
   */
  async adoptUnbilled(): Promise<number> {
    const rows = await select<{ id: string; state: string }>(
      this.db.manager,
      'SELECT m."id", m."state" FROM "machines" m LEFT JOIN "machine_meters" b ON b."machineId" = m."id" ' +
        `WHERE b."machineId" IS NULL AND m."hostId" IS NOT NULL AND m."storagePrice" IS NOT NULL AND m."state" IN (${[...BILLED_STATES].map((state) => `'${state}'`).join(', ')})`,
      [],
    );
    for (const row of rows) {
      await this.db.transaction(async (em) => {
        const machine = await em.findOneByOrFail(Machine, { id: row.id });
        await this.billing.onStored(em, machine);
        if (VM_RUNNING_STATES.has(machine.state)) await this.billing.onStarted(em, machine.id);
      });
    }
    if (rows.length > 0) this.logger.log(`billing ${rows.length} machine(s) stored before billing existed, from now on`);
    return rows.length;
  }

  private async runPassSafely(): Promise<void> {
    try {
      const pass = await this.runPass();
      if (pass.charges > 0) this.logger.log(`charged ${pass.charges} over ${pass.meters} meters in ${pass.ms} ms`);
    } catch (error) {
      this.logger.error(`billing pass failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  }

  private async pass(now: number): Promise<BillingPass> {
    const started = performance.now();
    const result: BillingPass = { at: now, meters: 0, charges: 0, batches: 0, ms: 0 };
    const total = new MoneyTotal();
    // Rounds until no buyer has anything due: a buyer with a meter far behind is billed up to a
    // mark short of now (billBuyer) and is due again in the next round; so is one an event made due
    // meanwhile. Each round moves every buyer it bills on, so the rounds end.
    for (let due = await dueBuyers(this.db.manager, now); due.length > 0; due = await dueBuyers(this.db.manager, now)) {
      await this.eachBatch(buyerGroups(due, this.batchSize()), async (group) => {
        const batch = await this.batchWithRetries(now, total, group);
        if (batch === null) return; // none of its buyers has anything due any more
        result.batches += 1;
        result.meters += batch.meters;
        result.charges += batch.charges;
      });
      if (this.closing) return result;
    }
    await this.lowBalance.enforce(now);
    result.ms = Math.round(performance.now() - started);
    this.metrics.billingPassDuration.observe(result.ms / 1000);
    this.metrics.billingCharges.inc(result.charges);
    await this.db.transaction(async (em) => {
      const status = await em.findOneBy(BillingStatus, { id: 'billing' });
      await em.save(BillingStatus, {
        id: 'billing',
        lastPassAt: Math.max(now, status?.lastPassAt ?? 0),
        lastPassMeters: result.meters,
        lastPassCharges: result.charges,
        lastPassMs: result.ms,
        passes: (status?.passes ?? 0) + 1,
      });
      // One event per pass that charged, with the status it updates (not per batch: a batch that
      // committed is in the ledger whatever happens to the pass; its rows are the machines' charges).
      if (result.charges > 0) {
        await this.eventLog.record(
          em,
          passEvent({ meters: result.meters, charges: result.charges, batches: result.batches, total: total.total, ms: result.ms }),
        );
      }
    });
    void this.notifications.dispatch();
    return result;
  }

  /** Meters a batch (VIRTUOSO_BILLING_BATCH_SIZE; by default per database, AppConfig.billingBatchSize). */
  private batchSize(): number {
    return this.config.billingBatchSize ?? (this.db.oneAtATime ? 10_000 : 5000);
  }

  /**
   * Runs the groups' batches, up to VIRTUOSO_BILLING_CONCURRENCY at a time on PostgreSQL (SQLite
   * runs one transaction at a time, Database). Batches bill disjoint buyers; they meet only on the
   * providers' balances and the hosts' incomes, which each locks in id order after its ledger
   * insert: one batch reads its meters and inserts its ledger rows while another settles and
   * commits. Stops taking groups once one fails or the app closes; the first failure is thrown.
   */
  private async eachBatch(groups: readonly BuyerGroup[], work: (group: BuyerGroup) => Promise<void>): Promise<void> {
    const width = this.db.oneAtATime ? 1 : this.config.billingConcurrency;
    let next = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (next < groups.length && !failed && !this.closing) {
        const group = groups[next++];
        try {
          await work(group);
        } catch (error) {
          failed = true;
          throw error;
        }
      }
    };
    const outcomes = await Promise.allSettled(Array.from({ length: Math.min(width, groups.length) }, worker));
    const failure = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failure) throw failure.reason;
  }

  private async batchWithRetries(now: number, total: MoneyTotal, group: BuyerGroup) {
    for (let attempt = 1; ; attempt++) {
      try {
        // Its charges are new (the buyers' marks say so): the ledger is told to expect that, and
        // if one is there after all the batch is redone letting the ledger skip it.
        const batch = await this.batch(now, group, attempt === 1);
        // Counted once committed (a batch retried after a conflict is charged once).
        for (const { amount, count } of batch?.amounts ?? []) total.add(amount, count);
        return batch;
      } catch (error) {
        // A host's income changed meanwhile (PostgreSQL: its compare-and-set), or a charge was in
        // the ledger already: redo the batch from fresh rows.
        if (!(error instanceof ApiError && error.getStatus() === 409) || attempt >= CONFLICT_RETRIES) throw error;
      }
    }
  }

  /**
   * One transaction: the buyers of the group with something due (their marks locked on
   * PostgreSQL), their charges from their marks up to now, posted, their new marks and next due
   * instants written, and their low-balance standing judged on the balances that leaves. null
   * when none of them has anything due any more. The charges are made by the database
   * (billInDatabase) unless a meter has as many due as the pass's limit, one would pay its own
   * buyer, or this is a retry (a charge was there already: the ledger must skip it); then by
   * libs/domain in the process (billInProcess), which handles all of those.
   */
  private batch(now: number, group: BuyerGroup, firstAttempt: boolean): Promise<Batch | null> {
    return this.db.transaction(async (em) => {
      const marks = await dueMarks(em, now, group.first, group.last);
      if (marks.length === 0) return null;
      if (firstAttempt) {
        const sums = await dueChargeSums(em, now, group.first, group.last);
        if (sums.mostOfOneMeter < MAX_CHARGES_PER_METER && sums.selfPaid === 0) return this.billInDatabase(em, now, group, marks, sums);
      }
      return this.billInProcess(em, now, group, marks, firstAttempt);
    });
  }

  /**
   * The batch's charges made by one INSERT … SELECT (due-charges.ts), the balances, incomes and
   * marks moved by their sums: every buyer charged up to now (no meter reaches the limit).
   */
  private async billInDatabase(em: EntityManager, now: number, group: BuyerGroup, marks: readonly Mark[], sums: DueChargeSums): Promise<Batch> {
    const balances = await this.postings.postDue(em, now, group.first, group.last, sums);
    const next = marks.map(({ buyerId, billedTo }) => ({ buyerId, billedTo: Math.max(billedTo, now), nextDueAt: sums.nextDueAt.get(buyerId) ?? null }));
    await this.markAndJudge(em, now, next, balances);
    return { meters: sums.meters, charges: sums.charges, amounts: sums.debits.map(({ amount, count }) => ({ amount, count })) };
  }

  /**
   * The batch's meters with a charge due read (and the earliest next due instant of the others),
   * each buyer charged from their mark up to now by libs/domain's billBuyer, the charges posted
   * (`expectNew`: none there yet; else the ledger skips those there), the new marks written.
   */
  private async billInProcess(em: EntityManager, now: number, group: BuyerGroup, marks: readonly Mark[], expectNew: boolean): Promise<Batch> {
    const meters = new Map<string, MachineMeter[]>(marks.map((mark) => [mark.buyerId, []]));
    const hosts = new Map<string, string | null>();
    const { due, laterDue } = await dueMetersOfBuyers(em, now, group.first, group.last);
    for (const { meter, hostId } of due) {
      meters.get(meter.buyerId)!.push(meter);
      hosts.set(meter.machineId, hostId);
    }
    const steps: Array<{ step: MeterStep; hostId: string | null }> = [];
    const next: BuyerMark[] = [];
    for (const { buyerId, billedTo } of marks) {
      const bill = billBuyer(meters.get(buyerId)!, billedTo, now, MAX_CHARGES_PER_METER);
      for (const step of bill.steps) steps.push({ step, hostId: hosts.get(step.meter.machineId) ?? null });
      // The buyer's other meters have nothing due up to now, so up to the new mark either: their next due instants stand.
      const later = laterDue.get(buyerId) ?? null;
      const nextDueAt = bill.nextDueAt === null ? later : later === null ? bill.nextDueAt : Math.min(bill.nextDueAt, later);
      next.push({ buyerId, billedTo: bill.billedTo, nextDueAt });
    }
    const { charges, balances } = await this.postings.post(em, steps, { expectNew });
    await this.markAndJudge(em, now, next, balances);
    const amounts = new Map<string, number>();
    for (const { amount } of charges) amounts.set(amount, (amounts.get(amount) ?? 0) + 1);
    return { meters: steps.length, charges: charges.length, amounts: [...amounts].map(([amount, count]) => ({ amount, count })) };
  }
  /** The batch's buyers' new marks written, and their low-balance standing judged on the balances the charges left. */
  private async markAndJudge(em: EntityManager, now: number, next: readonly BuyerMark[], balances: ReadonlyMap<string, string>): Promise<void> {
    await this.postings.setMarks(em, next);
    await this.lowBalance.afterCharges(
      em,
      next.map(({ buyerId }) => ({ id: buyerId, balance: balances.get(buyerId) ?? null })),
      now,
    );
  }
}

/** A buyer's mark as a batch read it. */
type Mark = { buyerId: string; billedTo: number };

/** What a committed batch charged: meters with charges, charges, and how many at each amount. */
interface Batch {
  meters: number;
  charges: number;
  amounts: Array<{ amount: string; count: number }>;
}

/** Buyers next to each other in id order, from `first` to `last`, billed together. */
export interface BuyerGroup {
  first: string;
  last: string;
  /** Their live meters when the pass began. */
  meters: number;
}

/**
 * Cuts the buyers with something due (in id order, with how many live meters each) into runs of
 * whole buyers of at most `size` meters; a buyer with more is a run alone (one transaction: a
 * buyer's mark covers all their meters).
 */
export function buyerGroups(buyers: ReadonlyArray<{ buyerId: string; meters: number }>, size: number): BuyerGroup[] {
  const groups: BuyerGroup[] = [];
  let current: BuyerGroup | null = null;
  for (const { buyerId, meters } of buyers) {
    if (current && current.meters + meters <= size) {
      current.last = buyerId;
      current.meters += meters;
    } else {
      current = { first: buyerId, last: buyerId, meters };
      groups.push(current);
    }
  }
  return groups;
}
