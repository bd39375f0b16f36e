import { exactMoney, formatMoney } from '../lib/format';

/** A dollar amount rounded for reading, with the exact amount on hover (title) for whoever needs it. */
export function Money({ amount, className, testId }: { amount: string | null | undefined; className?: string; testId?: string }) {
  return (
    <span className={className ? `money ${className}` : 'money'} title={exactMoney(amount)} data-testid={testId}>
      {formatMoney(amount)}
    </span>
  );
}

/** Text shown rounded, with the exact text on hover when the two differ. */
export function Rounded({ shown, exact, className }: { shown: string; exact: string; className?: string }) {
  return (
    <span className={className} title={shown === exact ? undefined : exact}>
      {shown}
    </span>
  );
}
