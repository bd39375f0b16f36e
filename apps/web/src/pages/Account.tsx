import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link, useLocation } from 'react-router';
import { ErrorBanner, Field, fieldErrors, Notice, QueryState } from '../components/forms';
import { StandingAlert } from '../components/LowBalance';
import { StateBadge } from '../components/MachineSummary';
import { Statement } from '../components/Statement';
import {
  api,
  call,
  type ApiToken,
  type BuyerAccount,
  type BuyerMachineCost,
  type CreatedApiToken,
  type ProviderHostAccount,
  type ProviderMachine,
  type Session,
  type User,
} from '../lib/api';
import { formatCost, formatRate, newRequestId, remainingMs, toAmount } from '../lib/billing';
import { formatDateTime, formatDuration } from '../lib/format';
import { Money, Rounded } from '../components/Money';
import { idempotencyHeader } from '../lib/idempotency';
import { keys, resetSession, useBuyerAccount, useProviderAccount, useSessions, useTokens } from '../lib/queries';
import { useAction } from '../lib/useAction';
import { useNow } from '../lib/useNow';
/** Account information: a buyer's costs (report figs. 22, 23) or a provider's income (figs. 30, 32), the statement, API tokens. */
export function AccountPage({ user }: { user: User }) {
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Account</h1>
          <p className="muted">
            {user.role === 'buyer'
              ? 'What your machines cost, when each is next charged, and every movement of your money.'
              : 'What your hosts earn, what each machine on them pays, and every movement of your money.'}
          </p>
        </div>
        <dl className="account-id">
          <div>
            <dt>Handle</dt>
            <dd>{user.handle}</dd>
          </div>
          <div>
            <dt>Account type</dt>
            <dd>
              <span className={`badge badge--${user.role}`}>{user.role}</span>
            </dd>
          </div>
          <div>
            <dt>Email</dt>
            <dd>{user.email}</dd>
          </div>
          <div>
            <dt>Member since</dt>
            <dd>{formatDateTime(user.createdAt)}</dd>
          </div>
        </dl>
      </div>
      {user.role === 'buyer' ? <BuyerAccountView /> : <ProviderAccountView />}
      <ApiTokens />
      <Sessions />
    </>
  );
}

/**
 * When the balance moves: the header shows the account page's fresher figure, and the statement
 * re-fetches so the new entries appear with it.
 */
function useSyncHeaderBalance(balance: string | undefined) {
  const queryClient = useQueryClient();
  useEffect(() => {
    if (balance === undefined) return;
    queryClient.setQueryData<User | null>(keys.me, (me) => (me && me.balance !== balance ? { ...me, balance } : me));
    queryClient.invalidateQueries({ queryKey: ['account', 'statement'] });
  }, [balance, queryClient]);
}

// ——— Buyer (figs. 22, 23) ——————————————————————————————————————————————————————————————

function BuyerAccountView() {
  const account = useBuyerAccount();
  useSyncHeaderBalance(account.data?.balance);
  if (!account.data) return <QueryState query={account} what="Loading your account" />;
  const data = account.data;
  return (
    <>
      {account.error ? <ErrorBanner error={account.error} title="The figures could not be refreshed:" /> : null}
      <StandingAlert standing={data.standing} balance={data.balance} />
      <section className="panel balance-panel" aria-labelledby="balance-h">
        <div className="balance-card">
          <h2 id="balance-h" className="balance-card__label">
            Current balance
          </h2>
          <Money className="balance-card__value" amount={data.balance} testId="balance" />
          <span className="muted small">
            as of <time dateTime={data.asOf}>{formatDateTime(data.asOf)}</time>
          </span>
        </div>
        <AddValue maxAmount={data.topUpMaxAmount} dailyRemaining={data.topUpDailyRemaining} />
      </section>
      <BuyerCosts account={data} receivedAt={account.dataUpdatedAt} />
      <Statement machines={data.machines} />
    </>
  );
}

/**
 * "Add value": credits the balance; a retry of the same attempt (same requestId and
 * Idempotency-Key) adds nothing more. The limits per top-up and per day are shown up front.
 */
function AddValue({ maxAmount, dailyRemaining }: { maxAmount?: string; dailyRemaining?: string }) {
  const queryClient = useQueryClient();
  const location = useLocation();
  const [amount, setAmount] = useState('');
  const requestId = useRef(newRequestId());
  const [done, setDone] = useState<{ amount: string; balance: string } | null>(null);
  const topUp = useAction({
    mutationFn: (value: string, idempotencyKey: string) =>
      call(api.POST('/api/account/top-ups', { body: { amount: value, requestId: requestId.current }, headers: idempotencyHeader(idempotencyKey) })),
    onSuccess: (result, value) => {
      requestId.current = newRequestId();
      setDone({ amount: value, balance: result.balance });
      setAmount('');
      queryClient.setQueryData<BuyerAccount>(keys.buyerAccount, (account) => (account ? { ...account, balance: result.balance } : account));
      queryClient.invalidateQueries({ queryKey: ['account'] });
      queryClient.invalidateQueries({ queryKey: keys.notifications });
      queryClient.invalidateQueries({ queryKey: keys.me });
    },
  });
  useEffect(() => {
    if (location.hash === '#add-value') document.getElementById('add-value-amount')?.focus();
  }, [location.hash]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setDone(null);
    topUp.mutate(toAmount(amount));
  };
  return (
    <form id="add-value" className="add-value" onSubmit={submit} noValidate aria-label="Add value">
      <Field
        id="add-value-amount"
        label="Amount"
        value={amount}
        onChange={(value) => {
          setAmount(value);
          if (value !== amount) requestId.current = newRequestId();
        }}
        unit="dollars"
        inputMode="decimal"
        autoComplete="off"
        hint={<TopUpLimits maxAmount={maxAmount} dailyRemaining={dailyRemaining} />}
        errors={fieldErrors(topUp.error, 'amount')}
      />
      <button type="submit" className="btn btn--primary" disabled={topUp.isPending}>
        {topUp.isPending ? 'Adding…' : 'Add value'}
      </button>
      {topUp.error && !fieldErrors(topUp.error, 'amount') ? <ErrorBanner error={topUp.error} /> : null}
      {done && (
        <Notice>
          Added <Money amount={done.amount} />. Your balance is now <Money amount={done.balance} />.
        </Notice>
      )}
    </form>
  );
}

/** "Up to $1000.00 per top-up; $4000.00 more today." */
function TopUpLimits({ maxAmount, dailyRemaining }: { maxAmount?: string; dailyRemaining?: string }) {
  if (maxAmount == null && dailyRemaining == null) return <>Dollars, up to 12 decimals.</>;
  return (
    <span data-testid="top-up-limits">
      Dollars, up to 12 decimals.
      {maxAmount != null && (
        <>
          {' '}
          Up to <Money amount={maxAmount} /> per top-up
        </>
      )}
      {dailyRemaining != null && (
        <>
          {maxAmount != null ? '; ' : ' '}
          <Money amount={dailyRemaining} /> more today (the day ends at midnight UTC)
        </>
      )}
      .
    </span>
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

type Debit = { at: string; inMs: number; amount: string };

/** A rate rounded for reading, exact on hover. */
function Rate({ rate, per }: { rate: string; per: 'day' | 'second' }) {
  return <Rounded shown={formatRate(rate, per)} exact={formatRate(rate, per, true)} />;
}

/** A fixed price per period, rounded for reading, exact on hover. */
function Cost({ price, amount, unit }: { price: string; amount: number; unit: 'day' | 'second' }) {
  return <Rounded shown={formatCost(price, amount, unit)} exact={formatCost(price, amount, unit, true)} />;
}

function StorageDeadline({ debit, receivedAt, now, testId }: { debit: Debit; receivedAt: number; now: number; testId?: string }) {
  const left = remainingMs(debit.inMs, receivedAt, now);
  return (
    <span className="pair pair--start deadline">
      <span data-testid={testId ?? 'storage-deadline'}>{formatDuration(left)}</span>
      <span className="pair__detail">
        <Money amount={debit.amount} /> on <time dateTime={debit.at}>{formatDateTime(debit.at)}</time>
      </span>
    </span>
  );
}

function RunningDeadline({ debit, prepaidMsLeft, receivedAt, now }: { debit: Debit | null; prepaidMsLeft?: number; receivedAt: number; now: number }) {
  if (!debit) {
    return (
      <span className="pair pair--start deadline">
        <span data-testid="running-deadline">Not currently running</span>
        {prepaidMsLeft ? <span className="pair__detail">{formatDuration(prepaidMsLeft)} of the paid slice left for the next start</span> : null}
      </span>
    );
  }
  const left = remainingMs(debit.inMs, receivedAt, now);
  return (
    <span className="pair pair--start deadline">
      <span data-testid="running-deadline">{formatDuration(left)}</span>
      <span className="pair__detail">
        then <Money amount={debit.amount} /> for the next slice
      </span>
    </span>
  );
}

// ——— Provider (figs. 30, 32) ————————————————————————————————————————————————————————————

function ProviderAccountView() {
  const account = useProviderAccount();
  useSyncHeaderBalance(account.data?.balance);
  if (!account.data) return <QueryState query={account} what="Loading your account" />;
  const data = account.data;
  const machines = data.hosts.flatMap((host) => host.machines);
  return (
    <>
      {account.error ? <ErrorBanner error={account.error} title="The figures could not be refreshed:" /> : null}
      <section className="panel balance-panel" aria-labelledby="balance-h">
        <div className="balance-card">
          <h2 id="balance-h" className="balance-card__label">
            Current balance
          </h2>
          <Money className="balance-card__value" amount={data.balance} testId="balance" />
          <span className="muted small">
            as of <time dateTime={data.asOf}>{formatDateTime(data.asOf)}</time>
          </span>
        </div>
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

// ——— API tokens ——————————————————————————————————————————————————————————————————————————

function ApiTokens() {
  const queryClient = useQueryClient();
  const tokens = useTokens();
  const [name, setName] = useState('');
  const [created, setCreated] = useState<CreatedApiToken | null>(null);
  const create = useAction({
    mutationFn: (tokenName: string, idempotencyKey: string) =>
      call(api.POST('/api/auth/tokens', { body: { name: tokenName }, headers: idempotencyHeader(idempotencyKey) })),
    onSuccess: (token) => {
      setCreated(token);
      setName('');
      queryClient.invalidateQueries({ queryKey: keys.tokens });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setCreated(null);
    create.mutate(name.trim());
  };
  return (
    <section className="panel">
      <h2>API tokens</h2>
      <p className="muted">
        Personal tokens let your scripts use the <a href="/api/docs">Virtuoso API</a> as you: send <code>Authorization: Bearer &lt;token&gt;</code>.
      </p>
      {created && (
        <div className="alert alert--success token-once" role="status">
          <strong>Token “{created.name}” created. Copy it now: it will not be shown again.</strong>
          <div className="token-once__row">
            <code className="token" data-testid="new-token" aria-label="New API token">
              {created.token}
            </code>
            <button type="button" className="btn btn--small" onClick={() => navigator.clipboard?.writeText(created.token).catch(() => undefined)}>
              Copy
            </button>
            <button type="button" className="btn btn--small btn--ghost" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
        </div>
      )}
      <form onSubmit={submit} className="inline-form" noValidate>
        <ErrorBanner error={create.error} />
        <Field label="Token name" value={name} onChange={setName} placeholder="e.g. billing-script" errors={fieldErrors(create.error, 'name')} />
        <button type="submit" className="btn btn--primary" disabled={create.isPending}>
          Create token
        </button>
      </form>
      <QueryState query={tokens} what="Loading your tokens" />
      {tokens.data && tokens.data.length === 0 && <p className="empty">No tokens yet.</p>}
      {tokens.data && tokens.data.length > 0 && (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Token</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {tokens.data.map((token) => (
                <TokenRow key={token.id} token={token} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function TokenRow({ token }: { token: ApiToken }) {
  const queryClient = useQueryClient();
  const revoke = useMutation({
    mutationFn: () => call(api.DELETE('/api/auth/tokens/{id}', { params: { path: { id: token.id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.tokens }),
  });
  return (
    <tr>
      <th scope="row">{token.name}</th>
      <td className="mono">{token.prefix}…</td>
      <td>{formatDateTime(token.createdAt)}</td>
      <td>{token.lastUsedAt ? formatDateTime(token.lastUsedAt) : <span className="muted">never</span>}</td>
      <td className="cell-actions">
        <button
          type="button"
          className="btn btn--small btn--danger-ghost"
          disabled={revoke.isPending}
          onClick={() => revoke.mutate()}
          aria-label={`Revoke ${token.name}`}
        >
          Revoke
        </button>
        {revoke.error ? <ErrorBanner error={revoke.error} /> : null}
      </td>
    </tr>
  );
}

// ——— Sessions ————————————————————————————————————————————————————————————————————————————

/** Where this account is signed in; a session left open elsewhere can be ended from here. */
function Sessions() {
  const sessions = useSessions();
  return (
    <section className="panel" aria-labelledby="sessions-h">
      <h2 id="sessions-h">Signed-in sessions</h2>
      <p className="muted">Every browser signed in to this account. Revoke one you do not recognise or no longer use: it is signed out at once.</p>
      <QueryState query={sessions} what="Loading your sessions" />
      {sessions.data && (
        <div className="table-wrap">
          <table className="table table--fit table--cards">
            <thead>
              <tr>
                <th scope="col">Browser</th>
                <th scope="col">Signed in</th>
                <th scope="col">Last used</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {sessions.data.map((session) => (
                <SessionRow key={session.id} session={session} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function SessionRow({ session }: { session: Session }) {
  const queryClient = useQueryClient();
  const revoke = useMutation({
    mutationFn: () => call(api.DELETE('/api/auth/sessions/{id}', { params: { path: { id: session.id } } })),
    onSuccess: () => (session.current ? resetSession(queryClient, null) : queryClient.invalidateQueries({ queryKey: keys.sessions })),
  });
  return (
    <tr>
      <th scope="row">
        {session.userAgent ?? <span className="muted">unknown browser</span>}
        {session.current && <span className="badge"> this browser</span>}
      </th>
      <td data-label="Signed in">{formatDateTime(session.createdAt)}</td>
      <td data-label="Last used">{formatDateTime(session.lastUsedAt)}</td>
      <td className="cell-actions">
        <button
          type="button"
          className="btn btn--small btn--danger-ghost"
          disabled={revoke.isPending}
          onClick={() => revoke.mutate()}
          aria-label={session.current ? 'Revoke this session (sign out)' : `Revoke the session of ${session.userAgent ?? 'an unknown browser'}`}
        >
          {session.current ? 'Revoke (sign out)' : 'Revoke'}
        </button>
        {revoke.error ? <ErrorBanner error={revoke.error} /> : null}
      </td>
    </tr>
  );
}
