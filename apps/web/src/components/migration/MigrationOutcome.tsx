import type { Migration } from '../../lib/api';
import { formatDateTime } from '../../lib/format';
import { outcomeSentence } from '../../lib/migration';

/** After a migration: where the machine arrived and at which version, or why it rolled back. */
export function MigrationOutcome({ migration }: { migration: Migration }) {
  const sentence = outcomeSentence(migration);
  if (!sentence) return null;
  const committed = migration.phase === 'committed';
  return (
    <div className={`alert alert--${committed ? 'success' : 'warning'}`} role="status" data-testid="migration-outcome">
      <strong className="alert__title">{committed ? 'Migrated' : 'Migration rolled back'}</strong>
      {sentence}
      {migration.finishedAt && <span className="alert__extra">{formatDateTime(migration.finishedAt)}</span>}
    </div>
  );
}
