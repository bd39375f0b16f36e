import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useLocation } from 'react-router';
import { api, call, type BuyerAccount } from '../../lib/api';
import { newRequestId, toAmount } from '../../lib/billing';
import { idempotencyHeader } from '../../lib/idempotency';
import { keys } from '../../lib/queries';
import { useAction } from '../../lib/useAction';
import { ErrorBanner, Field, fieldErrors, Notice } from '../forms';
import { Money } from '../Money';

/**
 * "Add value": credits the balance; a retry of the same attempt (same requestId and
 * Idempotency-Key) adds nothing more. The limits per top-up and per day are shown up front.
 */
export function AddValue({ maxAmount, dailyRemaining }: { maxAmount?: string; dailyRemaining?: string }) {
  const queryClient = useQueryClient();
  const location = useLocation();
  const [amount, setAmount] = useState('');
  const requestId = useRef(newRequestId());
  const [done, setDone] = useState<{ amount: string; balance: string } | null>(null);
  const topUp = useAction({
    mutationFn: (value: string, idempotencyKey: string) =>
      call(api.POST('/api/account/top-ups', { body: { amount: value, requestId: requestId.current }, headers: idempotencyHeader(idempotencyKey) })),
    onSuccess: (result, value) => {
      requestId.current = newRequestId();
      setDone({ amount: value, balance: result.balance });
      setAmount('');
      queryClient.setQueryData<BuyerAccount>(keys.buyerAccount, (account) => (account ? { ...account, balance: result.balance } : account));
      queryClient.invalidateQueries({ queryKey: ['account'] });
      queryClient.invalidateQueries({ queryKey: keys.notifications });
      queryClient.invalidateQueries({ queryKey: keys.me });
    },
  });
  useEffect(() => {
    if (location.hash === '#add-value') document.getElementById('add-value-amount')?.focus();
  }, [location.hash]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setDone(null);
    topUp.mutate(toAmount(amount));
  };
  return (
    <form id="add-value" className="add-value" onSubmit={submit} noValidate aria-label="Add value">
      <Field
        id="add-value-amount"
        label="Amount"
        value={amount}
        onChange={(value) => {
          setAmount(value);
          if (value !== amount) requestId.current = newRequestId();
        }}
        unit="dollars"
        inputMode="decimal"
        autoComplete="off"
        hint={<TopUpLimits maxAmount={maxAmount} dailyRemaining={dailyRemaining} />}
        errors={fieldErrors(topUp.error, 'amount')}
      />
      <button type="submit" className="btn btn--primary" disabled={topUp.isPending}>
        {topUp.isPending ? 'Adding…' : 'Add value'}
      </button>
      {topUp.error && !fieldErrors(topUp.error, 'amount') ? <ErrorBanner error={topUp.error} /> : null}
      {done && (
        <Notice>
          Added <Money amount={done.amount} />. Your balance is now <Money amount={done.balance} />.
        </Notice>
      )}
    </form>
  );
}

/** "Up to $1000.00 per top-up; $4000.00 more today." */
function TopUpLimits({ maxAmount, dailyRemaining }: { maxAmount?: string; dailyRemaining?: string }) {
  if (maxAmount == null && dailyRemaining == null) return <>Dollars, up to 12 decimals.</>;
  return (
    <span data-testid="top-up-limits">
      Dollars, up to 12 decimals.
      {maxAmount != null && (
        <>
          {' '}
          Up to <Money amount={maxAmount} /> per top-up
        </>
      )}
      {dailyRemaining != null && (
        <>
          {maxAmount != null ? '; ' : ' '}
          <Money amount={dailyRemaining} /> more today (the day ends at midnight UTC)
        </>
      )}
      .
    </span>
  );
}
