import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { BILLED_STATES, VM_RUNNING_STATES, dueCharges } from '@virtuoso/domain';
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
import { BillingService, MeterChange } from './billing.service';
import { BillingStatus } from './billing-status.entity';
import { LowBalanceService } from './low-balance.service';
import { dueBuyers, dueMeters, dueMetersOfBuyers } from './meter-rows';

export interface BillingPass {
  /** The clock reading the pass charged up to. */
  at: number;
  meters: number;
  charges: number;
  batches: number;
  ms: number;
}

/** A meter far behind (a long outage, 1-second slices) is worked through over several batches. */
const MAX_CHARGES_PER_METER = 1000;
/** dueCharges' options, the same for every meter (not an object made for each). */
const DUE_OPTIONS = { limit: MAX_CHARGES_PER_METER };
const CONFLICT_RETRIES = 3;

/**
 * The billing daemon (report §6.1.9, storageupdate.pl and runningupdate.pl in one): every
 * VIRTUOSO_BILLING_INTERVAL_SECONDS, and once at boot, it reads `now` from the clock once and
 * charges everything due by then. Meters WHERE nextDueAt <= now are taken in batches of at most
 * VIRTUOSO_BILLING_BATCH_SIZE, whole buyers per batch (then any left due, in nextDueAt order:
 * docs/ARCHITECTURE.md §12); each batch is one transaction — libs/domain's
 * dueCharges for every meter, the ledger rows (a key never twice), balances, host incomes and the
 * meter rows — so a crash (even SIGKILL) loses or doubles nothing: a batch committed is done, one
 * not committed is redone by the next pass, to the same charges with the same keys. Then buyers
 * charged are checked for low balance, grace periods enforced and pending emails sent.
 */
@Injectable()
export class BillingPassService implements OnModuleDestroy {
  private readonly logger = new Logger('BillingPass');
  private readonly passes = new SinglePass<BillingPass>();
  private closing = false;

  constructor(
    private readonly db: Database,
    private readonly billing: BillingService,
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
    // Buyer by buyer (docs/ARCHITECTURE.md §12): a batch holds whole buyers, so that each
    // buyer's balance and standing, and mostly their providers' balances and hosts' incomes, are
    // written by one or two batches of the pass instead of by nearly every one.
    for (const group of buyerGroups(await dueBuyers(this.db.manager, now), this.config.billingBatchSize)) {
      if (!(await this.batches(now, total, result, group))) return result;
    }
    // Then whatever is still due (a meter far behind, a meter a hook made due meanwhile), oldest first.
    if (!(await this.batches(now, total, result, null))) return result;
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

  /**
   * Batches of `group`'s meters (null: anyone's, oldest due first), counted into `result`, until
   * none is due; false when the service is closing.
   */
  private async batches(now: number, total: MoneyTotal, result: BillingPass, group: BuyerGroup | null): Promise<boolean> {
    const size = this.config.billingBatchSize;
    for (;;) {
      if (this.closing) return false;
      const batch = await this.batchWithRetries(now, total, group);
      if (batch === null) return true;
      result.batches += 1;
      result.meters += batch.meters;
      result.charges += batch.charges;
      // All of the group's meters due at the start fit one batch (the usual case), or fewer came than asked: done.
      if (group && (group.due <= size || batch.meters < size)) return true;
    }
  }

  private async batchWithRetries(now: number, total: MoneyTotal, group: BuyerGroup | null) {
    for (let attempt = 1; ; attempt++) {
      try {
        const batch = await this.batch(now, group);
        // Counted once committed (a batch retried after a conflict is charged once).
        for (const amount of batch?.amounts ?? []) total.add(amount);
        return batch;
      } catch (error) {
        // A hook changed a meter of the batch meanwhile (PostgreSQL): redo it from fresh rows.
        if (!(error instanceof ApiError && error.getStatus() === 409) || attempt >= CONFLICT_RETRIES) throw error;
      }
    }
  }

  /**
   * One transaction: the next meters due (of a group of buyers, or of anyone, oldest due first),
   * charged up to now, and the low-balance standing of their buyers judged on the balances that
   * leaves. null when none is due.
   */
  private batch(now: number, group: BuyerGroup | null): Promise<{ meters: number; charges: number; amounts: string[] } | null> {
    return this.db.transaction(async (em) => {
      const size = this.config.billingBatchSize;
      const due = group ? await dueMetersOfBuyers(em, now, group.first, group.last, size) : await dueMeters(em, now, size);
      if (due.length === 0) return null;
      const buyers = new Set<string>();
      const changes: MeterChange[] = due.map(({ meter, hostId, revision }) => {
        buyers.add(meter.buyerId);
        // (Nothing due after all would mean a stale nextDueAt: writing the meter recomputes it.)
        return { step: dueCharges(meter, now, DUE_OPTIONS), hostId, revision, terms: false };
      });
      const { charges, balances } = await this.billing.apply(em, changes);
      await this.lowBalance.afterCharges(
        em,
        [...buyers].map((id) => ({ id, balance: balances.get(id) ?? null })),
        now,
      );
      return { meters: changes.length, charges: charges.length, amounts: charges.map((charge) => charge.amount) };
    });
  }
}

/** Buyers next to each other in id order, from `first` to `last`, billed together. */
export interface BuyerGroup {
  first: string;
  last: string;
  /** Their meters due when the pass began. */
  due: number;
}

/**
 * Cuts the buyers with meters due (in id order, with how many each) into runs of whole buyers of
 * at most `size` due meters; a buyer with more is a run alone (billed over several batches).
 */
export function buyerGroups(buyers: ReadonlyArray<{ buyerId: string; due: number }>, size: number): BuyerGroup[] {
  const groups: BuyerGroup[] = [];
  let current: BuyerGroup | null = null;
  for (const { buyerId, due } of buyers) {
    if (current && current.due + due <= size) {
      current.last = buyerId;
      current.due += due;
    } else {
      current = { first: buyerId, last: buyerId, due };
      groups.push(current);
    }
  }
  return groups;
}
