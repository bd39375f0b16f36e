import { Link, useLocation } from 'react-router';
import { Notice, QueryState } from '../components/forms';
import { MachineActions } from '../components/MachineActions';
import { StateBadge } from '../components/MachineSummary';
import type { Machine, User } from '../lib/api';
import { formatAskedPrice, formatPeriodPrice } from '../lib/format';
import { groupByState, groupTitle, hasFixedPrices } from '../lib/machines';
import { useMachines } from '../lib/queries';
import { HostsList } from './Hosts';

/** Report mycomputers.pl: a buyer's machines grouped by state; a provider's hosts. */
export function MyComputersPage({ user }: { user: User }) {
  return user.role === 'provider' ? <HostsList /> : <BuyerMachines />;
}

function BuyerMachines() {
  const location = useLocation();
  const notice = (location.state as { notice?: string } | null)?.notice;
  const machines = useMachines();
  const groups = groupByState(machines.data ?? []);
  return (
    <>
      <div className="page-head">
        <div>
          <h1>My computers</h1>
          <p className="muted">Each machine shows only the actions its state allows.</p>
        </div>
        <div className="btn-row">
          <Link className="btn btn--primary" to="/browse">
            Browse machines
          </Link>
          <Link className="btn" to="/configure">
            Configure a machine
          </Link>
        </div>
      </div>
      {notice && <Notice>{notice}</Notice>}
      <QueryState query={machines} what="Loading your machines" />
      {machines.data && groups.length === 0 && (
        <div className="empty empty--boxed">
          <strong>You have no machines yet.</strong>
          <span>
            <Link to="/browse">Browse the catalog</Link> and register a configuration to get started.
          </span>
        </div>
      )}
      {groups.map((group) => (
        <section key={group.state} className="section" aria-labelledby={`group-${group.state}`}>
          <h2 id={`group-${group.state}`}>
            {groupTitle(group.state)} <span className="count">{group.machines.length}</span>
          </h2>
          <MachinesTable machines={group.machines} />
        </section>
      ))}
    </>
  );
}

function MachinesTable({ machines }: { machines: Machine[] }) {
  const fixed = machines.some(hasFixedPrices);
  return (
    <div className="table-wrap">
      <table className="table table--machines table--fit table--cards">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Status</th>
            <th scope="col">Processor</th>
            <th scope="col" className="num">
              Speed (bogomips)
            </th>
            <th scope="col">Operating system</th>
            <th scope="col" className="num">
              Memory (MB)
            </th>
            <th scope="col" className="num">
              Disk (MB)
            </th>
            {fixed && <th scope="col">Host</th>}
            <th scope="col" className="num">
              {fixed ? 'Storage price' : 'Asked storage'}
            </th>
            <th scope="col" className="num">
              {fixed ? 'Running price' : 'Asked running'}
            </th>
          </tr>
        </thead>
        <tbody>
          {machines.map((m) => (
            <tr key={m.id}>
              <th scope="row" className="cell-name">
                <Link to={`/machines/${m.id}`}>{m.name}</Link>
                <MachineActions machine={m} />
              </th>
              <td data-label="Status">
                <StateBadge state={m.state} />
              </td>
              <td data-label="Processor">{m.processor}</td>
              <td className="num" data-label="Speed (bogomips)">
                {m.speed}
              </td>
              <td data-label="Operating system">{m.os}</td>
              <td className="num" data-label="Memory (MB)">
                {m.memory}
              </td>
              <td className="num" data-label="Disk (MB)">
                {m.disk}
              </td>
              {fixed && (
                <td data-label="Host">
                  {m.host ? (
                    <span className="pair pair--start">
                      <span>{m.host.name}</span>
                      <span className="pair__detail">{m.host.owner}</span>
                    </span>
                  ) : (
                    '—'
                  )}
                </td>
              )}
              <td
                className="num money"
                data-label={fixed ? 'Storage price' : 'Asked storage'}
                title={hasFixedPrices(m) ? (m.storagePrice ?? undefined) : m.askedStoragePerMonth}
              >
                {hasFixedPrices(m) ? formatPeriodPrice(m.storagePrice, m.storageAmount, 'day') : formatAskedPrice(m.askedStoragePerMonth, 'month')}
              </td>
              <td
                className="num money"
                data-label={fixed ? 'Running price' : 'Asked running'}
                title={hasFixedPrices(m) ? (m.runningPrice ?? undefined) : m.askedRunningPerHour}
              >
                {hasFixedPrices(m) ? formatPeriodPrice(m.runningPrice, m.runningUnitAmount, 'second') : formatAskedPrice(m.askedRunningPerHour, 'hour')}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
