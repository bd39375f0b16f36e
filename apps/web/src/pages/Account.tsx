import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { ErrorBanner, Field, fieldErrors, QueryState } from '../components/forms';
import { api, call, type ApiToken, type CreatedApiToken, type User } from '../lib/api';
import { formatDateTime, formatMoney } from '../lib/format';
import { keys, useTokens } from '../lib/queries';

/** Account information (report fig. 22 / 30 come with the billing issue) and personal API tokens. */
export function AccountPage({ user }: { user: User }) {
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Account</h1>
          <p className="muted">Costs per machine and income per host arrive with billing.</p>
        </div>
      </div>
      <section className="panel">
        <dl className="summary summary--wide">
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
            <dt>Current balance</dt>
            <dd className="money balance" data-testid="balance">
              {formatMoney(user.balance)}
            </dd>
          </div>
          <div>
            <dt>Member since</dt>
            <dd>{formatDateTime(user.createdAt)}</dd>
          </div>
        </dl>
      </section>
      <ApiTokens />
    </>
  );
}

function ApiTokens() {
  const queryClient = useQueryClient();
  const tokens = useTokens();
  const [name, setName] = useState('');
  const [created, setCreated] = useState<CreatedApiToken | null>(null);
  const create = useMutation({
    mutationFn: () => call(api.POST('/api/auth/tokens', { body: { name: name.trim() } })),
    onSuccess: (token) => {
      setCreated(token);
      setName('');
      queryClient.invalidateQueries({ queryKey: keys.tokens });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setCreated(null);
    create.mutate();
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
        <Field label="Token name" value={name} onChange={setName} placeholder="billing-script" errors={fieldErrors(create.error, 'name')} />
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
        <button type="button" className="btn btn--small btn--danger-ghost" disabled={revoke.isPending} onClick={() => revoke.mutate()} aria-label={`Revoke ${token.name}`}>
          Revoke
        </button>
        {revoke.error ? <ErrorBanner error={revoke.error} /> : null}
      </td>
    </tr>
  );
}
