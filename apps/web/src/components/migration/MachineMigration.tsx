import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import type { Machine } from '../../lib/api';
import { isActiveMigration } from '../../lib/migration';
import { keys, useMigration, useMigrations } from '../../lib/queries';
import { ErrorBanner } from '../forms';
import { CancelMigration } from './CancelMigration';
import { MigrationHistory } from './MigrationHistory';
import { MigrationLog } from './MigrationLog';
import { MigrationOutcome } from './MigrationOutcome';
import { MigrationProgress } from './MigrationProgress';

/**
 * The machine page's migration section: while one is under way its progress (polled every second),
 * log and Cancel; afterwards its outcome; and the list of past migrations. Nothing for a machine
 * that never migrated.
 */
export function MachineMigration({ machine }: { machine: Pick<Machine, 'id' | 'state'> }) {
  const queryClient = useQueryClient();
  const placed = machine.state !== 'registered';
  const migrating = machine.state === 'migrating';
  const current = useMigration(machine.id, placed, migrating);
  const history = useMigrations(machine.id, placed && current.data != null);
  const phase = current.data?.phase;

  // The end of a migration changes the machine (host, version, prices, state) and the balance
  // (storage charged on arrival); each new phase changes the list.
  const lastPhase = useRef(phase);
  useEffect(() => {
    const before = lastPhase.current;
    lastPhase.current = phase;
    if (before === undefined || before === phase) return;
    queryClient.invalidateQueries({ queryKey: keys.migrations(machine.id) });
    if (isActiveMigration(before) && !isActiveMigration(phase)) {
      queryClient.invalidateQueries({ queryKey: keys.machine(machine.id), exact: true });
      queryClient.invalidateQueries({ queryKey: keys.machines, exact: true });
      queryClient.invalidateQueries({ queryKey: keys.me });
      queryClient.invalidateQueries({ queryKey: keys.buyerAccount });
    }
  }, [phase, machine.id, queryClient]);

  if (current.error) return migrating ? <ErrorBanner error={current.error} /> : null;
  const m = current.data;
  if (!m) return null;
  const active = isActiveMigration(m.phase);
  return (
    <section className="migration" aria-label="Migration">
      <h2 className="form-section">{active ? `Migrating to ${m.toHostName}` : 'Migration'}</h2>
      {active ? (
        <>
          <MigrationProgress migration={m} />
          {m.phase !== 'committing' && <CancelMigration machineId={machine.id} />}
        </>
      ) : (
        <MigrationOutcome migration={m} />
      )}
      <MigrationLog key={m.id} lines={m.log} />
      <h3 className="form-section">Past migrations</h3>
      {history.error ? <ErrorBanner error={history.error} /> : history.data ? <MigrationHistory migrations={history.data} /> : null}
    </section>
  );
}
