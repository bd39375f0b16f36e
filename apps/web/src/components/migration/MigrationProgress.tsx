import type { Migration } from '../../lib/api';
import { formatBytesProgress, formatRate, formatTimeLeft, migrationPercent, migrationSecondsLeft, phaseWords } from '../../lib/migration';

/**
 * The migration under way (fig. 21's "migrationstatus", footnote 14, made real): the phase in
 * words and a progress bar with bytes done of total, percent, rate and time left. Without a known
 * size the bar is indeterminate (no aria-valuenow).
 */
export function MigrationProgress({ migration }: { migration: Migration }) {
  const percent = migrationPercent(migration);
  const rate = formatRate(migration.bytesPerSecond);
  const bytes = formatBytesProgress(migration);
  return (
    <div className="migration-progress">
      <p className="migration-progress__phase" data-testid="migration-phase">
        {phaseWords(migration)}
      </p>
      <div
        className={`progress${percent == null ? ' progress--indeterminate' : ''}`}
        role="progressbar"
        aria-label="Migration progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent ?? undefined}
        aria-valuetext={percent == null ? bytes : `${percent}%: ${bytes}`}
      >
        <div className="progress__bar" style={{ width: `${percent ?? 100}%` }} />
      </div>
      <p className="migration-progress__figures" aria-live="polite">
        <span data-testid="migration-bytes">{bytes}</span>
        {percent != null && <span data-testid="migration-percent">{percent}%</span>}
        <span data-testid="migration-rate">{rate ?? 'measuring the rate…'}</span>
        <span data-testid="migration-time-left">{formatTimeLeft(migrationSecondsLeft(migration))}</span>
      </p>
    </div>
  );
}
