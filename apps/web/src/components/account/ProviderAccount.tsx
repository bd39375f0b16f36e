import { Link } from 'react-router';
import type { ProviderHostAccount, ProviderMachine } from '../../lib/api';
import { useProviderAccount } from '../../lib/queries';
import { useNow } from '../../lib/useNow';
import { ErrorBanner, QueryState } from '../forms';
import { StateBadge } from '../MachineSummary';
import { Money } from '../Money';
import { Statement } from '../Statement';
import { CurrentBalance } from './CurrentBalance';
import { Cost, Rate, RunningDeadline, StorageDeadline } from './Charges';
import { useSyncHeaderBalance } from './useSyncHeaderBalance';

/** A provider's account (report figs. 30, 32): the balance and income, what each host and each machine on it makes, the statement. */
export function ProviderAccountView() {
  const account = useProviderAccount();
  useSyncHeaderBalance(account.data?.balance);
  if (!account.data) return <QueryState query={account} what="Loading your account" />;
  const data = account.data;
  const machines = data.hosts.flatMap((host) => host.machines);
  return (
    <>
      {account.error ? <ErrorBanner error={account.error} title="The figures could not be refreshed:" /> : null}
      <section className="panel balance-panel" aria-labelledby="balance-h">
        <CurrentBalance balance={data.balance} asOf={data.asOf} />
        <div className="balance-card">
          <span className="balance-card__label">Income from your hosts</span>
          <Money className="balance-card__value balance-card__value--secondary" amount={data.income} testId="income" />
          <span className="muted small">since you joined, removed hosts included</span>
        </div>
        <p className="making" data-testid="making">
          Your hosts are currently making you{' '}
          <strong className="money">
            <Rate rate={data.making.storagePerDay} per="day" />
          </strong>{' '}
          of storing all the virtual machines and{' '}
          <strong className="money">
            <Rate rate={data.making.runningPerSecond} per="second" />
          </strong>{' '}
          of running the currently running ones.
        </p>
      </section>
      <section className="section" aria-labelledby="hosts-h">
        <h2 id="hosts-h">
          Your hosts <span className="count">{data.hosts.length}</span>
        </h2>
        {data.hosts.length === 0 ? (
          <div className="empty empty--boxed">
            <strong>You have no hosts yet.</strong>
            <span>
              <Link to="/hosts/new">Add a host</Link> to start earning.
            </span>
          </div>
        ) : (
          data.hosts.map((host) => <HostAccount key={host.id} host={host} receivedAt={account.dataUpdatedAt} />)
        )}
      </section>
      <Statement machines={machines} />
    </>
  );
}

function HostAccount({ host, receivedAt }: { host: ProviderHostAccount; receivedAt: number }) {
  const now = useNow(1000);
  return (
    <article className="panel host-account" aria-labelledby={`host-${host.id}`} data-testid={`host-account-${host.name}`}>
      <div className="host-account__head">
        <h3 id={`host-${host.id}`}>{host.name}</h3>
        <span className="muted small">{host.processor}</span>
      </div>
      <dl className="summary summary--wide">
        <div>
          <dt>Storage</dt>
          <dd>{host.storage} MB</dd>
        </div>
        <div>
          <dt>Memory</dt>
          <dd>{host.memory} MB</dd>
        </div>
        <div>
          <dt>Speed</dt>
          <dd>{host.speed} bogomips</dd>
        </div>
        <div>
          <dt>Current storage price</dt>
          <dd className="money">
            ${host.storageUnitPrice} for {host.storageUnit} MB per day, charged every {host.storageAmount} {host.storageAmount === 1 ? 'day' : 'days'}
          </dd>
        </div>
        <div>
          <dt>Current running price</dt>
          <dd className="money">
            ${host.speedUnitPrice} for {host.speedUnit} bogomips and ${host.memoryUnitPrice} for {host.memoryUnit} MB per second, charged every{' '}
            {host.runningUnitAmount} {host.runningUnitAmount === 1 ? 'second' : 'seconds'}
          </dd>
        </div>
        <div>
          <dt>Income</dt>
          <dd className="money" data-testid="host-income">
            <Money amount={host.income} />
          </dd>
        </div>
        <div>
          <dt>Making now</dt>
          <dd className="money">
            <Rate rate={host.making.storagePerDay} per="day" /> · <Rate rate={host.making.runningPerSecond} per="second" />
          </dd>
        </div>
      </dl>
      {host.machines.length === 0 ? (
        <p className="muted">There are no virtual machines stored or running on this host.</p>
      ) : (
        <div className="table-wrap">
          <table className="table table--compact">
            <caption className="sr-only">Virtual machines on {host.name}</caption>
            <thead>
              <tr>
                <th scope="col">Machine</th>
                <th scope="col">Storage price</th>
                <th scope="col">Running price</th>
                <th scope="col">Client next billed for storage</th>
                <th scope="col">Client next billed for running</th>
              </tr>
            </thead>
            <tbody>
              {host.machines.map((machine) => (
                <ProviderMachineRow key={machine.id} machine={machine} receivedAt={receivedAt} now={now} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </article>
  );
}

function ProviderMachineRow({ machine, receivedAt, now }: { machine: ProviderMachine; receivedAt: number; now: number }) {
  return (
    <tr>
      <th scope="row">
        <span className="pair pair--start">
          <span>{machine.name}</span>
          <StateBadge state={machine.state} />
        </span>
      </th>
      <td className="money">
        <Cost price={machine.storagePrice} amount={machine.storageAmount} unit="day" />
      </td>
      <td className="money">
        <Cost price={machine.runningPrice} amount={machine.runningUnitAmount} unit="second" />
      </td>
      <td>
        <StorageDeadline debit={machine.nextStorageBill} receivedAt={receivedAt} now={now} />
      </td>
      <td>
        <RunningDeadline debit={machine.nextRunningBill} receivedAt={receivedAt} now={now} />
      </td>
    </tr>
  );
}
