import type { Machine, MigrationOffer } from '../../lib/api';
import { arrivalTerms, methodLabel, type MigrationMethod } from '../../lib/migration';
import { ErrorBanner } from '../forms';

/**
 * The confirmation before a migration starts (README "Migration"; report §5.1.6): the destination's
 * prices, storage charged anew on arrival, the unused storage period not refunded, no running slice
 * to move. Nothing is sent until "Migrate now".
 */
export function MigrationConfirm({
  machine,
  offer,
  method,
  pending,
  error,
  onConfirm,
  onBack,
}: {
  machine: Pick<Machine, 'name' | 'state' | 'host'>;
  offer: MigrationOffer;
  method: MigrationMethod;
  pending: boolean;
  error: unknown;
  onConfirm: () => void;
  onBack: () => void;
}) {
  return (
    <div className="migration-confirm" role="group" aria-label={`Migrate ${machine.name} to ${offer.hostName}?`}>
      <h2 className="form-section">
        Move {machine.name} from {machine.host?.name ?? 'its host'} to {offer.hostName}?
      </h2>
      <p>By {methodLabel(method)}. The machine cannot be started or changed until it has arrived or the move was undone.</p>
      <ul className="terms" data-testid="arrival-terms">
        {arrivalTerms(offer, { hostName: machine.host?.name ?? null, state: machine.state }).map((term) => (
          <li key={term}>{term}</li>
        ))}
      </ul>
      <ErrorBanner error={error} />
      <div className="form-actions">
        <button type="button" className="btn btn--primary" disabled={pending} onClick={onConfirm}>
          {pending ? 'Starting the migration…' : 'Migrate now'}
        </button>
        <button type="button" className="btn btn--ghost" disabled={pending} onClick={onBack}>
          Back to the hosts
        </button>
      </div>
    </div>
  );
}
