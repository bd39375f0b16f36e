import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, call, type Session } from '../../lib/api';
import { formatDateTime } from '../../lib/format';
import { keys, resetSession, useSessions } from '../../lib/queries';
import { ErrorBanner, QueryState } from '../forms';

/** Where this account is signed in; a session left open elsewhere can be ended from here. */
export function Sessions() {
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
