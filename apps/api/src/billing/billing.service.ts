import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  type Charge,
  type MachineMeter,
  type MeterStep,
  type MeterTerms,
  compareMoney,
  isBalanceShort,
  meterOnArrived,
  meterOnRemoved,
  meterOnRestored,
  meterOnStart,
  meterOnStop,
  meterOnStored,
  moneyToUnits,
  refundsOnHostRemoval,
  registrationFeeCharge,
  runningKey,
  storageKey,
  unitsToMoney,
  type PaidCharge,
  type Refund,
  catchUpToMark,
} from '@virtuoso/domain';
import type { EntityManager } from 'typeorm';
import { LedgerEntry, userAccount, userOfAccount } from '../accounts/ledger-entry.entity';
import { LedgerService } from '../accounts/ledger.service';
import { User } from '../accounts/user.entity';
import { CLOCK, Clock, WALL_CLOCK } from '../common/clock';
import { ApiError } from '../common/errors';
import { nowIso } from '../common/time';
import { Host } from '../providers/host.entity';
import { BuyerStanding } from './buyer-standing.entity';
import { HostIncome } from './host-income.entity';
import { LowBalanceService } from './low-balance.service';
import { LoadedMeter, MeterChange, MeterPostings, postingOf } from './meter-postings.service';

export type { MeterChange } from './meter-postings.service';

/** The fields of a machine billing reads when it is stored or arrives: its owner, host and fixed prices. */
export interface BilledMachine {
  id: string;
  ownerId: string;
  hostId: string | null;
  storagePrice: string | null;
  storageAmount: number | null;
  runningPrice: string | null;
  runningUnitAmount: number | null;
}

/** A time given to a hook: ms, an ISO string, or nothing (the clock's now). */
export type HookTime = number | string | undefined;

/**
 * Billing hooks, called by the machines module inside the transaction that changes a machine's
 * state (the EntityManager passed in), so the charges and the state commit together or not at all:
 *   onStored    stored on a host (charges storage period 0; a machine stored again after its host
 *               was removed keeps the running time it paid for)
 *   onStarted   started or resumed (charges a running slice if none is prepaid)
 *   onStopped   stopped, suspended, or the guest powered itself off (pauses the slice, unrounded)
 *   onRemoved   deleted, or its host removed: billing stops
 *   onArrived   a migration committed on another host (storage restarts at the new prices)
 * and chargeRegistrationFee when a configuration is registered. The rules are libs/domain's
 * (billing.ts); MeterPostings records what they return: ledger entries (a key never twice), balances, the
 * provider's income per host, the meter row (compare-and-set on its revision), the buyer's next due
 * instant. A meter is read reckoned at its buyer's billing mark, and an event dated before the mark
 * also charges what it makes due up to it (libs/domain catchUpToMark). Then the buyer's
 * low-balance standing is re-checked. assertMayStart/assertMayStore refuse with 402 beforehand.
 */
@Injectable()
export class BillingService {
  private readonly logger = new Logger('Billing');

  constructor(
    private readonly ledger: LedgerService,
    private readonly postings: MeterPostings,
    private readonly lowBalance: LowBalanceService,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
  ) {}

  now(): number {
    return this.clock.now();
  }

  // ——— hooks —————————————————————————————————————————————————————————————————————————————

  async onStored(em: EntityManager, machine: BilledMachine, at?: HookTime): Promise<Charge[]> {
    const when = this.instant(at);
    const terms = await this.termsOf(em, machine);
    const current = await this.load(em, machine.id);
    const billedTo = current?.billedTo ?? (await this.postings.markOf(em, machine.ownerId));
    let step: MeterStep;
    if (!current) {
      step = meterOnStored({ machineId: machine.id, buyerId: machine.ownerId, at: when, ...terms });
    } else if (current.meter.removedAt !== null) {
      step = meterOnRestored(current.meter, { at: Math.max(when, current.meter.removedAt, current.meter.storedAt + 1), ...terms });
    } else {
      this.logger.warn(`machine ${machine.id} is already billed as stored; store ignored`);
      return [];
    }
    return this.commit(em, [{ step: catchUpToMark(step, billedTo), hostId: machine.hostId, revision: current?.revision ?? null, terms: true }], when);
  }

  onStarted(em: EntityManager, machineId: string, at?: HookTime): Promise<Charge[]> {
    return this.advance(em, machineId, at, (meter, when) => (meter.removedAt === null ? meterOnStart(meter, when) : null));
  }

  onStopped(em: EntityManager, machineId: string, at?: HookTime): Promise<Charge[]> {
    return this.advance(em, machineId, at, (meter, when) => meterOnStop(meter, when));
  }

  onRemoved(em: EntityManager, machineId: string, at?: HookTime): Promise<Charge[]> {
    return this.advance(em, machineId, at, (meter, when) => meterOnRemoved(meter, when));
  }

  async onArrived(em: EntityManager, machine: BilledMachine, at?: HookTime): Promise<Charge[]> {
    const when = this.instant(at);
    const current = await this.load(em, machine.id);
    if (!current || current.meter.removedAt !== null) return this.onStored(em, machine, when);
    const terms = await this.termsOf(em, machine);
    const step = catchUpToMark(meterOnArrived(current.meter, Math.max(when, current.meter.storedAt + 1), terms), current.billedTo);
    return this.commit(em, [{ step, hostId: machine.hostId, revision: current.revision, terms: true }], when);
  }

  /** The registration fee (libs/domain registrationFeeCharge), or 402 when the balance is below it. */
  async chargeRegistrationFee(em: EntityManager, machine: { id: string; ownerId: string }, amount: string, at?: HookTime): Promise<Charge> {
    const when = this.instant(at);
    const charge = registrationFeeCharge({ machineId: machine.id, buyerId: machine.ownerId, at: when, amount });
    const balance = await this.balanceOf(em, machine.ownerId);
    if (compareMoney(balance, charge.amount) < 0) throw new ApiError(402, `balance ${balance} is below the registration fee ${charge.amount}`);
    await this.ledger.post(em, [postingOf(charge, null)]);
    return charge;
  }

  /**
   * After a forced removal of its host stopped a machine's billing (onRemoved, same transaction):
   * gives the buyer back, pro rata, the rest of the storage period and the prepaid running time
   * left (libs/domain refundsOnHostRemoval), from whoever the ledger says was paid, as 'refund'
   * movements; the host's income goes down by them. Returns the refunds posted.
   */
  async refundHostRemoval(em: EntityManager, machineId: string): Promise<Refund[]> {
    const current = await this.load(em, machineId);
    if (!current || current.meter.removedAt === null) return [];
    const meter = current.meter;
    const paidOf = async (key: string | null): Promise<(PaidCharge & { hostId: string | null }) | null> => {
      const entry = key ? await em.findOneBy(LedgerEntry, { debitAccount: userAccount(meter.buyerId), key }) : null;
      const payee = entry ? userOfAccount(entry.creditAccount) : null;
      return entry && payee ? { amount: entry.amount, payee, hostId: entry.hostId } : null;
    };
    const storage = await paidOf(meter.storagePeriodsCharged > 0 ? storageKey(meter.machineId, meter.storedAt, meter.storagePeriodsCharged - 1) : null);
    const running = await paidOf(meter.slicesCharged > 0 && meter.prepaidMsLeft > 0 ? runningKey(meter.machineId, meter.slicesCharged - 1) : null);
    const { refunds, meter: after } = refundsOnHostRemoval(meter, { storage, running });
    const hostOf = (refund: Refund) => (refund.covers === 'storage' ? storage : running)?.hostId ?? null;
    const { applied } = await this.ledger.post(
      em,
      refunds.map((refund) => ({
        key: refund.key,
        kind: 'refund',
        from: userAccount(refund.payer),
        to: userAccount(refund.payee),
        amount: refund.amount,
        at: refund.at,
        machineId: refund.machineId,
        hostId: hostOf(refund),
      })),
    );
    for (const posting of applied) if (posting.hostId) await this.postings.lowerIncome(em, posting.hostId, posting.amount);
    if (after !== meter)
      await this.postings.writeMeters(em, [{ step: { meter: after, charges: [] }, hostId: current.hostId, revision: current.revision, terms: false }]);
    await this.lowBalance.evaluate(em, [meter.buyerId], meter.removedAt!);
    const posted = new Set(applied.map((posting) => posting.key));
    return refunds.filter((refund) => posted.has(refund.key));
  }

  /** Keeps a removed host's name with its income (the provider's account page still shows it). */
  async hostRemoved(em: EntityManager, host: { id: string; name: string }): Promise<void> {
    await em.update(HostIncome, { hostId: host.id }, { hostName: host.name, updatedAt: nowIso(this.wallClock) });
  }

  // ——— refusals ——————————————————————————————————————————————————————————————————————————

  /**
   * Before a start or resume: 402 while the buyer is held (grace over, balance short), or when
   * the balance does not cover what starting would charge at once (a running slice).
   */
  async assertMayStart(em: EntityManager, machineId: string, ownerId: string, at?: HookTime): Promise<void> {
    const when = this.instant(at);
    const balance = await this.balanceOf(em, ownerId);
    await this.assertNotHeld(em, ownerId, balance);
    const current = await this.load(em, machineId);
    if (!current || current.meter.removedAt !== null) return;
    const due = sum(meterOnStart(current.meter, when).charges);
    if (moneyToUnits(balance) < due) throw topUpFirst(balance, unitsToMoney(due));
  }

  /** Before a store: 402 while held, or when the balance does not cover storage period 0. */
  async assertMayStore(em: EntityManager, ownerId: string, storagePrice: string): Promise<void> {
    const balance = await this.balanceOf(em, ownerId);
    await this.assertNotHeld(em, ownerId, balance);
    if (compareMoney(balance, storagePrice) < 0) throw topUpFirst(balance, storagePrice);
  }

  private async assertNotHeld(em: EntityManager, ownerId: string, balance: string): Promise<void> {
    const standing = await em.findOneBy(BuyerStanding, { userId: ownerId });
    if (!standing || standing.heldAt === null) return;
    const required = await this.lowBalance.requiredOf(em, ownerId);
    if (isBalanceShort(moneyToUnits(balance), required)) throw topUpFirst(balance, unitsToMoney(required));
  }

  /** Posts the changes and re-checks their buyers' standing (hooks). */
  private async commit(em: EntityManager, changes: MeterChange[], at: number): Promise<Charge[]> {
    const { charges } = await this.postings.apply(em, changes);
    await this.lowBalance.evaluate(em, [...new Set(changes.map((change) => change.step.meter.buyerId))], at);
    return charges;
  }

  private async advance(em: EntityManager, machineId: string, at: HookTime, rule: (meter: MachineMeter, at: number) => MeterStep | null): Promise<Charge[]> {
    const when = this.instant(at);
    const current = await this.load(em, machineId);
    if (!current) return []; // never stored since billing began: nothing to bill
    const ruled = rule(current.meter, when);
    if (!ruled || (ruled.meter === current.meter && ruled.charges.length === 0)) return [];
    const step = catchUpToMark(ruled, current.billedTo);
    return this.commit(em, [{ step, hostId: current.hostId, revision: current.revision, terms: false }], when);
  }

  // ——— reading and writing (MeterPostings) ——————————————————————————————————————————————————

  load(em: EntityManager, machineId: string): Promise<LoadedMeter | null> {
    return this.postings.load(em, machineId);
  }

  private async termsOf(em: EntityManager, machine: BilledMachine): Promise<MeterTerms> {
    const host = machine.hostId ? await em.findOne(Host, { select: { id: true, ownerId: true }, where: { id: machine.hostId } }) : null;
    if (!host) throw new Error(`machine ${machine.id} has no host to bill for`);
    if (machine.storagePrice === null || machine.storageAmount === null || machine.runningPrice === null || machine.runningUnitAmount === null) {
      throw new Error(`machine ${machine.id} has no fixed prices`);
    }
    return {
      providerId: host.ownerId,
      storagePrice: machine.storagePrice,
      storageAmountDays: machine.storageAmount,
      runningPrice: machine.runningPrice,
      runningUnitSeconds: machine.runningUnitAmount,
    };
  }

  /**
   * The balance a check before a charge goes by. PostgreSQL runs transactions side by side (SQLite
   * one at a time, Database): the buyer's row is locked, so that a concurrent request of the same
   * buyer waits and checks the balance this one leaves (no two charges both passing one check).
   * Their billing mark is locked first: every transaction here and the billing pass's batches take
   * a buyer's mark before their balance (a start locking the balance, then the mark to read its
   * meter, against a batch holding the mark and posting to the balance, would deadlock).
   */
  private async balanceOf(em: EntityManager, userId: string): Promise<string> {
    const postgres = em.connection.options.type === 'postgres';
    if (postgres) await this.postings.markOf(em, userId);
    const lock = postgres ? { lock: { mode: 'pessimistic_write' as const } } : {};
    return (await em.findOneOrFail(User, { select: { id: true, balance: true }, where: { id: userId }, ...lock })).balance;
  }

  private instant(at: HookTime): number {
    if (at === undefined) return this.clock.now();
    const value = typeof at === 'number' ? at : Date.parse(at);
    if (!Number.isSafeInteger(value)) throw new Error(`not an instant: ${String(at)}`);
    return value;
  }
}

const sum = (charges: readonly Charge[]): bigint => charges.reduce((total, charge) => total + moneyToUnits(charge.amount), 0n);

export const topUpFirst = (balance: string, charge: string) => new ApiError(402, `top up first: balance ${balance} is below the next charge ${charge}`);
