import type { ReactNode } from 'react';
import { Link, Navigate, useLocation } from 'react-router';
import type { Role, User } from '../lib/api';
import { useMe } from '../lib/queries';
import { ErrorBanner, Loading } from './forms';

/**
 * Renders its children for a signed-in user (of the given role, if any). Anonymous visitors go to
 * sign-in and come back; a user of the other role sees why the page is not for them.
 */
export function RequireUser({ role, children }: { role?: Role; children: (user: User) => ReactNode }) {
  const me = useMe();
  const location = useLocation();
  if (me.isPending) return <Loading />;
  if (me.error) return <ErrorBanner error={me.error} />;
  const user = me.data;
  if (!user) {
    const next = `${location.pathname}${location.search}`;
    return <Navigate to={`/signin?next=${encodeURIComponent(next)}`} replace />;
  }
  if (role && user.role !== role) return <WrongRole user={user} role={role} />;
  return <>{children(user)}</>;
}

function WrongRole({ user, role }: { user: User; role: Role }) {
  return (
    <section className="panel panel--narrow">
      <h1>This page is for {role} accounts</h1>
      <p>
        You are signed in as <strong>{user.handle}</strong>, a {user.role} account.{' '}
        {role === 'buyer'
          ? 'Buyers register machine configurations and rent them from providers.'
          : role === 'operator'
            ? 'Operators run the market; their accounts are made on the server (npm run operator).'
            : 'Providers add hosts and sell their resources.'}
      </p>
      <p className="actions">
        <Link className="btn btn--primary" to="/computers">
          My computers
        </Link>
        <Link className="btn" to="/switch-user">
          Switch user
        </Link>
      </p>
    </section>
  );
}
