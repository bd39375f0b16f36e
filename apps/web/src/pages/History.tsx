import { Link, useParams } from 'react-router';
import { EventTable } from '../components/EventTable';
import { type MachineEvent, api, call } from '../lib/api';

/** A buyer's machine's history: stored, started, stopped, migrated, charged, what failed and why. */
export function MachineHistoryPage() {
  const { id = '' } = useParams();
  return (
    <section className="panel">
      <div className="page-head">
        <div>
          <h1>Machine history</h1>
          <p className="muted">Everything that happened to this machine, newest first: its moves, commands to its host and their answers, charges, errors.</p>
        </div>
        <Link className="btn btn--ghost" to={`/machines/${id}`}>
          Back to the machine
        </Link>
      </div>
      <EventTable<MachineEvent, string>
        queryKey={['events', 'machine', id]}
        label="Machine history"
        load={(cursor) => call(api.GET('/api/machines/{id}/events', { params: { path: { id }, query: { cursor } } }))}
      />
    </section>
  );
}

/** A provider's host's history: its agent joined, went offline and back, machines arrived and left. */
export function HostHistoryPage() {
  const { id = '' } = useParams();
  return (
    <section className="panel">
      <div className="page-head">
        <div>
          <h1>Host history</h1>
          <p className="muted">
            Everything that happened on this host, newest first: its agent, the machines stored on it, commands and the agent&apos;s own events.
          </p>
        </div>
        <Link className="btn btn--ghost" to="/hosts">
          My hosts
        </Link>
      </div>
      <EventTable
        queryKey={['events', 'host', id]}
        label="Host history"
        load={(cursor) => call(api.GET('/api/hosts/{id}/events', { params: { path: { id }, query: { cursor } } }))}
      />
    </section>
  );
}
