import type { MigrationLogLine } from '../../lib/api';
import { formatLogLine } from '../../lib/migration';

/** The migration's log: the VMMP messages and the front-end's steps in the report's text form, folded away by default. */
export function MigrationLog({ lines, open = false }: { lines: MigrationLogLine[]; open?: boolean }) {
  if (lines.length === 0) return null;
  return (
    <details className="migration-log" open={open}>
      <summary>
        VMMP log ({lines.length} {lines.length === 1 ? 'line' : 'lines'})
      </summary>
      <pre data-testid="migration-log">{lines.map(formatLogLine).join('\n')}</pre>
    </details>
  );
}
