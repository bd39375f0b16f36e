import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { QueryState } from '../components/forms';
import { HostStatus } from '../components/HostStatus';
import { api, call } from '../lib/api';
import { keys } from '../lib/queries';

/** How often the operator's overview is read again. */
const OVERVIEW_REFRESH_MS = 5_000;

/**
 * The market as its operator sees it (docs/ARCHITECTURE.md, Operating): hosts and their agents,
 * machines by state, migrations under way, and the ledger's invariant checked at each read.
 */
export function OperatorPage() {
  const overview = useQuery({ queryKey: keys.operatorOverview, queryFn: () => call(api.GET('/api/operator/overview')), refetchInterval: OVERVIEW_REFRESH_MS });
  const data = overview.data;
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Operator</h1>
          <p className="muted">
            The whole market, read again every {OVERVIEW_REFRESH_MS / 1000} s. <Link to="/operator/events">Event log</Link>
          </p>
        </div>
      </div>
      <QueryState query={overview} what="Loading the market" />
      {data && (
        <>
          <h2>Ledger</h2>
          <p className={data.ledger.balanced ? 'ledger-check ledger-check--ok' : 'ledger-check ledger-check--bad'} role="status">
            {data.ledger.balanced ? (
              <strong>Ledger balanced</strong>
            ) : (
              <strong>
                Ledger NOT balanced: difference {data.ledger.difference}, {data.ledger.mismatchedUsers} user(s) differ
              </strong>
            )}{' '}
            <span className="muted">
              — balances {data.ledger.balances}, ledger {data.ledger.ledger} over {data.ledger.entries} entries, checked{' '}
              {new Date(data.at).toLocaleTimeString()}
            </span>
          </p>

          <h2>
            Hosts and agents{' '}
            <span className="muted">
              ({data.agentsOnline} agent(s) online, {data.hostCount} in all)
            </span>
          </h2>
          {data.hosts.length === 0 ? (
            <p className="empty empty--boxed">No host or agent yet.</p>
          ) : (
            <div className="table-wrap">
              <table className="table table--compact table--fit table--cards" aria-label="Hosts and agents">
                <thead>
                  <tr>
                    <th scope="col">Host</th>
                    <th scope="col">Provider</th>
                    <th scope="col">Agent</th>
                    <th scope="col">Version</th>
                    <th scope="col" className="num">
                      Free speed
                    </th>
                    <th scope="col" className="num">
                      Free memory (MB)
                    </th>
                    <th scope="col" className="num">
                      Free storage (MB)
                    </th>
                    <th scope="col" className="num">
                      Machines
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.hosts.map((host) => (
                    <tr key={host.hostId ?? host.agentId ?? ''} className={host.health === 'online' ? undefined : 'is-offline'}>
                      <th scope="row">{host.name ?? <span className="muted">(agent without a host)</span>}</th>
                      <td data-label="Provider">{host.provider}</td>
                      <td data-label="Agent">
                        {host.health === 'none' ? (
                          <span className="muted">no agent</span>
                        ) : (
                          <HostStatus online={host.health === 'online'} lastHeartbeatAt={host.lastHeartbeatAt} />
                        )}
                      </td>
                      <td data-label="Version">{host.agentVersion ?? '—'}</td>
                      <td className="num" data-label="Free speed">
                        {host.resources ? `${host.resources.freeSpeed} of ${host.resources.speed}` : '—'}
                      </td>
                      <td className="num" data-label="Free memory (MB)">
                        {host.resources ? `${host.resources.freeMemory} of ${host.resources.memory}` : '—'}
                      </td>
                      <td className="num" data-label="Free storage (MB)">
                        {host.resources ? `${host.resources.freeStorage} of ${host.resources.storage}` : '—'}
                      </td>
                      <td className="num" data-label="Machines">
                        {host.machines}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}

          <h2>Machines by state</h2>
          {Object.keys(data.machinesByState).length === 0 ? (
            <p className="empty empty--boxed">No machine yet.</p>
          ) : (
            <table className="table table--compact table--fit" aria-label="Machines by state">
              <tbody>
                {Object.entries(data.machinesByState).map(([state, count]) => (
                  <tr key={state}>
                    <th scope="row">{state}</th>
                    <td className="num">{count}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}

          <h2>Migrations in progress</h2>
          {data.migrations.length === 0 ? (
            <p className="empty empty--boxed">No migration under way.</p>
          ) : (
            <table className="table table--compact table--fit" aria-label="Migrations in progress">
              <thead>
                <tr>
                  <th scope="col">Machine</th>
                  <th scope="col">From → to</th>
                  <th scope="col">Method</th>
                  <th scope="col">Phase</th>
                  <th scope="col">Started</th>
                </tr>
              </thead>
              <tbody>
                {data.migrations.map((migration) => (
                  <tr key={migration.id}>
                    <td>{migration.machineId}</td>
                    <td>
                      {migration.fromHost} → {migration.toHost}
                    </td>
                    <td>{migration.method}</td>
                    <td>{migration.phase}</td>
                    <td>{new Date(migration.startedAt).toLocaleString()}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </>
  );
}
