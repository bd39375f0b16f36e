import { formatCost, formatRate, remainingMs } from '../../lib/billing';
import { formatDateTime, formatDuration } from '../../lib/format';
import { Money, Rounded } from '../Money';

/** The figures of a machine's charges, shared by the buyer's costs and the provider's hosts: rates, prices, and when the next charge falls. */

/** A coming charge as the account endpoints give it: when, how long after the response, and how much. */
type Debit = { at: string; inMs: number; amount: string };

/** A rate rounded for reading, exact on hover. */
export function Rate({ rate, per }: { rate: string; per: 'day' | 'second' }) {
  return <Rounded shown={formatRate(rate, per)} exact={formatRate(rate, per, true)} />;
}

/** A fixed price per period, rounded for reading, exact on hover. */
export function Cost({ price, amount, unit }: { price: string; amount: number; unit: 'day' | 'second' }) {
  return <Rounded shown={formatCost(price, amount, unit)} exact={formatCost(price, amount, unit, true)} />;
}

export function StorageDeadline({ debit, receivedAt, now, testId }: { debit: Debit; receivedAt: number; now: number; testId?: string }) {
  const left = remainingMs(debit.inMs, receivedAt, now);
  return (
    <span className="pair pair--start deadline">
      <span data-testid={testId ?? 'storage-deadline'}>{formatDuration(left)}</span>
      <span className="pair__detail">
        <Money amount={debit.amount} /> on <time dateTime={debit.at}>{formatDateTime(debit.at)}</time>
      </span>
    </span>
  );
}

export function RunningDeadline({ debit, prepaidMsLeft, receivedAt, now }: { debit: Debit | null; prepaidMsLeft?: number; receivedAt: number; now: number }) {
  if (!debit) {
    return (
      <span className="pair pair--start deadline">
        <span data-testid="running-deadline">Not currently running</span>
        {prepaidMsLeft ? <span className="pair__detail">{formatDuration(prepaidMsLeft)} of the paid slice left for the next start</span> : null}
      </span>
    );
  }
  const left = remainingMs(debit.inMs, receivedAt, now);
  return (
    <span className="pair pair--start deadline">
      <span data-testid="running-deadline">{formatDuration(left)}</span>
      <span className="pair__detail">
        then <Money amount={debit.amount} /> for the next slice
      </span>
    </span>
  );
}
