import { type MachineMeter, type Movement, MS_PER_DAY, MS_PER_SECOND, runningKey, storageKey } from './billing';
import { MONEY_SCALE, money } from './money/money';
import { Ratio } from './money/ratio';

/** A charge as the ledger recorded it: what was paid, and the user account id it went to. */
export interface PaidCharge {
  amount: string;
  payee: string;
}

/** Money back to a buyer for time paid for and not had, from the provider who was paid it. */
export interface Refund extends Movement {
  kind: 'refund';
  /** What it gives back: the rest of the storage period, or the prepaid running time left. */
  covers: 'storage' | 'running';
  /** The ledger key of the charge it gives part of back. */
  refunds: string;
  /** The time paid for and not had, and the length of what was paid for, in ms. */
  unusedMs: number;
  paidMs: number;
}

export interface RemovalRefunds {
  refunds: Refund[];
  /** The meter with the refunded running time gone (it is no longer the buyer's to use on a later store). */
  meter: MachineMeter;
}

export const refundKey = (chargeKey: string): string => `refund:${chargeKey}`;

/**
 * A provider forced its host away (the buyer did nothing wrong): refunds, pro rata, of
 *   - storage: the current period was paid at its start (billing.ts); the part after removedAt is
 *     given back: paid × (periodEnd − removedAt) / period. A removal at the exact start of a
 *     period has just paid it (billing's tie rule), so it is all given back;
 *   - running: the prepaid time left of the last slice charged: paid × prepaidMsLeft / slice.
 * `meter` is as meterOnRemoved left it (settled at removedAt, no longer running); `paid` are the
 * ledger's records of the current period's and the last slice's charges (null: nothing to refund),
 * so the refund is a fraction of what was really charged, to whom it was really paid.
 *
 * Rounding: each refund is the exact fraction rounded DOWN to money's 12 decimals, so a buyer is
 * never given back more than they paid; the provider keeps the sub-cent remainder (under 10^-12).
 * The refund is itself an exact money amount moved from one account to another, so the ledger
 * still balances to zero.
 */
export function refundsOnHostRemoval(meter: MachineMeter, paid: { storage: PaidCharge | null; running: PaidCharge | null }): RemovalRefunds {
  const removedAt = meter.removedAt;
  if (removedAt === null) throw new RangeError(`Machine ${meter.machineId} is still billed: nothing to refund`);
  const refunds: Refund[] = [];
  let after = meter;

  const period = meter.storagePeriodsCharged - 1;
  if (paid.storage && period >= 0) {
    const periodMs = meter.storageAmountDays * MS_PER_DAY;
    const periodEnd = meter.storedAt + meter.storagePeriodsCharged * periodMs;
    const unusedMs = Math.min(periodMs, Math.max(0, periodEnd - removedAt));
    const key = storageKey(meter.machineId, meter.storedAt, period);
    refunds.push(refund(meter, 'storage', key, paid.storage, unusedMs, periodMs, removedAt));
  }

  const slice = meter.slicesCharged - 1;
  if (paid.running && slice >= 0 && meter.prepaidMsLeft > 0) {
    const sliceMs = meter.runningUnitSeconds * MS_PER_SECOND;
    const unusedMs = Math.min(sliceMs, meter.prepaidMsLeft);
    refunds.push(refund(meter, 'running', runningKey(meter.machineId, slice), paid.running, unusedMs, sliceMs, removedAt));
    after = { ...meter, prepaidMsLeft: 0 };
  }
  return { refunds: refunds.filter((one) => one.amount !== '0'), meter: after };
}

function refund(meter: MachineMeter, covers: Refund['covers'], chargeKey: string, paid: PaidCharge, unusedMs: number, paidMs: number, at: number): Refund {
  const exact = Ratio.parse(money(paid.amount)).mul(Ratio.of(unusedMs, paidMs));
  return {
    key: refundKey(chargeKey),
    kind: 'refund',
    payer: paid.payee,
    payee: meter.buyerId,
    amount: money(exact.toDecimal(MONEY_SCALE, 'down')),
    at,
    machineId: meter.machineId,
    covers,
    refunds: chargeKey,
    unusedMs,
    paidMs,
  };
}

/** A stretch of time for people: "20 days", "2 days 3 hours", "43 minutes", "under a minute". */
export function describeDuration(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return ms > 0 ? 'under a minute' : 'no time';
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  const part = (count: number, word: string) => (count === 0 ? [] : [`${count} ${word}${count === 1 ? '' : 's'}`]);
  return [...part(days, 'day'), ...part(hours, 'hour'), ...(days > 0 ? [] : part(rest, 'minute'))].join(' ');
}
