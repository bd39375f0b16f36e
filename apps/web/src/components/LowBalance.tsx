import { Link, useLocation } from 'react-router';
import type { BuyerAccount } from '../lib/api';
import { formatDateTime, formatDuration } from '../lib/format';
import { Money } from './Money';
import { useBuyerAccount } from '../lib/queries';
import { useNow } from '../lib/useNow';

type Standing = BuyerAccount['standing'];

/** What a buyer whose balance runs low must know: why, what happens when, and what to do. */
export function StandingAlert({ standing, balance, compact = false }: { standing: Standing; balance: string; compact?: boolean }) {
  const now = useNow(1000);
  if (!standing.low && !standing.held) return null;
  const addValue = compact ? (
    <Link className="btn btn--small btn--primary" to="/account#add-value">
      Add value
    </Link>
  ) : (
    <a className="btn btn--small btn--primary" href="#add-value">
      Add value
    </a>
  );
  if (standing.held) {
    return (
      <div className="alert alert--error low-balance" role="alert" data-testid="low-balance">
        <strong className="alert__title">Your running machines were suspended: the balance ran out</strong>
        <span className="alert__message">
          Your balance is <Money amount={balance} />. None of your machines can start or resume until you add value covering the next charges (
          <Money amount={standing.nextCharges} />
          ). Nothing was deleted.
        </span>
        <span className="low-balance__action">{addValue}</span>
      </div>
    );
  }
  const suspendAt = standing.suspendAt ? Date.parse(standing.suspendAt) : null;
  return (
    <div className="alert alert--warning low-balance" role="alert" data-testid="low-balance">
      <strong className="alert__title">Low balance</strong>
      <span className="alert__message">
        Your balance (<Money amount={balance} />) does not cover the next charges of your machines (<Money amount={standing.nextCharges} /> in all).
        {suspendAt != null ? (
          <>
            {' '}
            Unless you add value, your running machines will be suspended{' '}
            <strong>{suspendAt > now ? `in ${formatDuration(suspendAt - now)}` : 'at the next billing pass'}</strong> ({formatDateTime(standing.suspendAt)});
            they are never deleted.
          </>
        ) : (
          ' Add value before the next charge falls due to keep your machines running.'
        )}
      </span>
      <span className="low-balance__action">{addValue}</span>
    </div>
  );
}

/** The banner every buyer page shows while a low-balance warning is active (the account page shows its own). */
export function LowBalanceBanner() {
  const location = useLocation();
  const onAccount = location.pathname === '/account';
  const account = useBuyerAccount(!onAccount, 30_000);
  if (onAccount || !account.data) return null;
  return (
    <div className="banner">
      <StandingAlert standing={account.data.standing} balance={account.data.balance} compact />
    </div>
  );
}
