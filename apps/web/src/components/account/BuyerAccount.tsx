import { Link } from 'react-router';
import type { BuyerAccount, BuyerMachineCost } from '../../lib/api';
import { useBuyerAccount } from '../../lib/queries';
import { useNow } from '../../lib/useNow';
import { ErrorBanner, QueryState } from '../forms';
import { StandingAlert } from '../LowBalance';
import { StateBadge } from '../MachineSummary';
import { Statement } from '../Statement';
import { AddValue } from './AddValue';
import { CurrentBalance } from './CurrentBalance';
import { Cost, Rate, RunningDeadline, StorageDeadline } from './Charges';
import { useSyncHeaderBalance } from './useSyncHeaderBalance';

/** A buyer's account (report figs. 22, 23): the balance and adding value, what each machine costs and when it is next charged, the statement. */
export function BuyerAccountView() {
  const account = useBuyerAccount();
  useSyncHeaderBalance(account.data?.balance);
  if (!account.data) return <QueryState query={account} what="Loading your account" />;
  const data = account.data;
  return (
    <>
      {account.error ? <ErrorBanner error={account.error} title="The figures could not be refreshed:" /> : null}
      <StandingAlert standing={data.standing} balance={data.balance} />
      <section className="panel balance-panel" aria-labelledby="balance-h">
        <CurrentBalance balance={data.balance} asOf={data.asOf} />
        <AddValue maxAmount={data.topUpMaxAmount} dailyRemaining={data.topUpDailyRemaining} />
      </section>
      <BuyerCosts account={data} receivedAt={account.dataUpdatedAt} />
      <Statement machines={data.machines} />
    </>
  );
}

function BuyerCosts({ account, receivedAt }: { account: BuyerAccount; receivedAt: number }) {
  const now = useNow(1000);
  return (
    <section className="section" aria-labelledby="costs-h">
      <h2 id="costs-h">
        Costs of your machines <span className="count">{account.machines.length}</span>
      </h2>
      {account.machines.length === 0 ? (
        <div className="empty empty--boxed">
          <strong>None of your machines is stored on a host: nothing is being charged.</strong>
          <span>
            Storage is charged from the moment a machine is stored, running only while it runs. <Link to="/computers">My computers</Link>
          </span>
        </div>
      ) : (
        <div className="table-wrap">
          <table className="table table--costs table--fit">
            <thead>
              <tr>
                <th scope="col">Machine</th>
                <th scope="col">Storage cost</th>
                <th scope="col">Running cost</th>
                <th scope="col">Debit deadline for storage</th>
                <th scope="col">Debit deadline for running</th>
              </tr>
            </thead>
            <tbody>
              {account.machines.map((machine) => (
                <BuyerCostRow key={machine.id} machine={machine} receivedAt={receivedAt} now={now} />
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row">Total current cost:</th>
                <td className="money" data-testid="total-storage">
                  <Rate rate={account.totals.storagePerDay} per="day" />
                </td>
                <td className="money" data-testid="total-running">
                  <span className="pair pair--start">
                    <Rate rate={account.totals.runningPerSecond} per="second" />
                    <span className="pair__detail">of the machines running now</span>
                  </span>
                </td>
                <td colSpan={2} />
              </tr>
            </tfoot>
          </table>
        </div>
      )}
    </section>
  );
}

function BuyerCostRow({ machine, receivedAt, now }: { machine: BuyerMachineCost; receivedAt: number; now: number }) {
  return (
    <tr data-testid={`cost-${machine.id}`}>
      <th scope="row" className="cell-name">
        <Link to={`/machines/${machine.id}`}>{machine.name}</Link>
        <span className="pair pair--start">
          <StateBadge state={machine.state} />
          <span className="pair__detail">{machine.host ? `on ${machine.host.name} (${machine.host.owner})` : 'host removed'}</span>
        </span>
      </th>
      <td className="money">
        <Cost price={machine.storagePrice} amount={machine.storageAmount} unit="day" />
      </td>
      <td className="money">
        <Cost price={machine.runningPrice} amount={machine.runningUnitAmount} unit="second" />
      </td>
      <td>
        <StorageDeadline debit={machine.nextStorageDebit} receivedAt={receivedAt} now={now} />
      </td>
      <td>
        <RunningDeadline debit={machine.nextRunningDebit} prepaidMsLeft={machine.prepaidMsLeft} receivedAt={receivedAt} now={now} />
      </td>
    </tr>
  );
}
