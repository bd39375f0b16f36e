import type { Migration } from '../../lib/api';
import { formatBytes, formatDateTime } from '../../lib/format';
import { formatMigrationDuration, migrationDurationMs, outcomeLabel } from '../../lib/migration';

/** The machine's migrations, newest first: when, from → to, method, outcome, bytes that crossed the wire, duration. */
export function MigrationHistory({ migrations }: { migrations: Migration[] }) {
  if (migrations.length === 0) return <p className="muted">This machine has not migrated yet.</p>;
  return (
    <div className="table-wrap">
      <table className="table table--compact table--fit table--cards table--migrations">
        <caption className="sr-only">Past migrations</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">From → to</th>
            <th scope="col">Method</th>
            <th scope="col">Outcome</th>
            <th scope="col" className="num">
              Transferred
            </th>
            <th scope="col" className="num">
              Duration
            </th>
          </tr>
        </thead>
        <tbody>
          {migrations.map((m) => (
            <tr key={m.id}>
              <th scope="row">{formatDateTime(m.startedAt)}</th>
              <td data-label="From → to">
                {m.fromHostName} → {m.toHostName}
              </td>
              <td data-label="Method">{m.method}</td>
              <td data-label="Outcome" title={m.error ?? undefined}>
                <span className="pair pair--start">
                  <span>{outcomeLabel(m)}</span>
                  {m.phase === 'rolled-back' && m.error && <span className="pair__detail">{m.error}</span>}
                </span>
              </td>
              <td className="num" data-label="Transferred" title={m.bytesTransferred != null ? `${m.bytesTransferred} bytes` : undefined}>
                {m.bytesTransferred != null ? formatBytes(m.bytesTransferred) : '—'}
              </td>
              <td className="num" data-label="Duration" title={m.transferMs != null ? `copy: ${formatMigrationDuration(m.transferMs)}` : undefined}>
                {formatMigrationDuration(migrationDurationMs(m))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
