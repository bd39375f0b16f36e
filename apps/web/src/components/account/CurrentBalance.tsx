import { formatDateTime } from '../../lib/format';
import { Money } from '../Money';

/** The balance card that opens both the buyer's and the provider's balance panel: the balance and when it was read. */
export function CurrentBalance({ balance, asOf }: { balance: string; asOf: string }) {
  return (
    <div className="balance-card">
      <h2 id="balance-h" className="balance-card__label">
        Current balance
      </h2>
      <Money className="balance-card__value" amount={balance} testId="balance" />
      <span className="muted small">
        as of <time dateTime={asOf}>{formatDateTime(asOf)}</time>
      </span>
    </div>
  );
}
