import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, call, type ApiToken, type CreatedApiToken } from '../../lib/api';
import { formatDateTime } from '../../lib/format';
import { idempotencyHeader } from '../../lib/idempotency';
import { keys, useTokens } from '../../lib/queries';
import { useAction } from '../../lib/useAction';
import { ErrorBanner, Field, fieldErrors, QueryState } from '../forms';

/** Personal API tokens: create one (its secret shown once), list them, revoke one. */
export function ApiTokens() {
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
