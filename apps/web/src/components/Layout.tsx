import { useEffect, useState } from 'react';
import { Link, NavLink, Outlet, useLocation, useNavigate } from 'react-router';
import { exactMoney, formatMoney } from '../lib/format';
import { useMe, useNotifications, useSignOut } from '../lib/queries';
import { LowBalanceBanner } from './LowBalance';

/**
 * The report's frame: brand, nav bar (Home, Switch user, Account, My computers / My hosts), the
 * user with Sign out, a footer. On a phone the nav and the user fold behind a Menu button, so the
 * bar stays one line high.
 */
export function Layout() {
  const me = useMe();
  const user = me.data ?? null;
  const location = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  // A link followed from the folded menu closes it.
  useEffect(() => setMenuOpen(false), [location.pathname]);
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className={`topbar${menuOpen ? ' topbar--open' : ''}`}>
        <div className="topbar__inner">
          <Link to="/" className="brand" aria-label="Virtuoso home">
            <span className="brand__mark" aria-hidden="true">
              V
            </span>
            <span className="brand__name">Virtuoso</span>
          </Link>
          <button
            type="button"
            className="btn btn--ghost btn--small menu-toggle"
            aria-expanded={menuOpen}
            aria-controls="main-menu"
            onClick={() => setMenuOpen((open) => !open)}
          >
            {menuOpen ? 'Close' : 'Menu'}
          </button>
          <div className="topbar__menu" id="main-menu">
            <nav className="nav" aria-label="Main">
              <NavLink to="/" end>
                Home
              </NavLink>
              {user?.role !== 'provider' && (
                <NavLink to="/browse" title="Browse machines">
                  Browse
                </NavLink>
              )}
              {user?.role === 'provider' && <NavLink to="/hosts">My hosts</NavLink>}
              {user?.role === 'operator' && <NavLink to="/operator">Operator</NavLink>}
              {user?.role === 'buyer' && <NavLink to="/computers">My computers</NavLink>}
              {user?.role === 'buyer' && <NavLink to="/media">Media</NavLink>}
              {user && (
                <NavLink to="/marketplace" title="Provider marketplace">
                  Marketplace
                </NavLink>
              )}
              {user && <NavLink to="/account">Account</NavLink>}
              <NavLink to="/switch-user">Switch user</NavLink>
            </nav>
            <div className="whoami">
              {me.isPending ? null : user ? (
                <>
                  <span className="whoami__handle" data-testid="current-user" title={user.handle}>
                    {user.handle}
                  </span>
                  <span className={`badge badge--${user.role}`}>{user.role}</span>
                  <Link className="whoami__balance" to="/account" title={`Balance ${exactMoney(user.balance)}: your account`}>
                    {formatMoney(user.balance)}
                  </Link>
                  <NotificationBell />
                  <SignOutButton />
                </>
              ) : (
                <>
                  <Link to="/signin" className="btn btn--ghost btn--small">
                    Sign in
                  </Link>
                  <Link to="/signup" className="btn btn--primary btn--small">
                    Sign up
                  </Link>
                </>
              )}
            </div>
          </div>
        </div>
      </header>
      <main id="main" className="main">
        {user?.role === 'buyer' && <LowBalanceBanner />}
        <Outlet />
      </main>
      <footer className="footer">
        <div className="footer__inner">
          <span>Virtuoso — raw virtual machines, bought and sold by the second.</span>
          <nav aria-label="Footer">
            <a href="/api/docs">API reference</a>
            <Link to="/marketplace">Provider marketplace</Link>
            <Link to="/browse">Browse machines</Link>
          </nav>
        </div>
      </footer>
    </div>
  );
}

/** Ends this browser's session (POST /api/auth/signout) and goes home. */
function SignOutButton() {
  const signOut = useSignOut();
  const navigate = useNavigate();
  return (
    <button
      type="button"
      className="btn btn--ghost btn--small"
      disabled={signOut.isPending}
      onClick={() => signOut.mutate(undefined, { onSettled: () => navigate('/', { replace: true }) })}
    >
      {signOut.isPending ? 'Signing out…' : 'Sign out'}
    </button>
  );
}

/** A bell with the number of unread notices; polled, so a warning shows up without a reload. */
function NotificationBell() {
  const notifications = useNotifications();
  const unread = notifications.data?.unread ?? 0;
  const label = unread === 0 ? 'Notifications' : `Notifications (${unread} unread)`;
  return (
    <NavLink to="/notifications" className={`bell${unread ? ' bell--unread' : ''}`} aria-label={label} title={label}>
      <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
        <path
          d="M12 3a6 6 0 0 0-6 6v3.6l-1.7 2.9A1 1 0 0 0 5.2 17h13.6a1 1 0 0 0 .9-1.5L18 12.6V9a6 6 0 0 0-6-6Zm-2.5 15.5a2.5 2.5 0 0 0 5 0"
          fill="none"
          stroke="currentColor"
          strokeWidth="1.8"
          strokeLinecap="round"
          strokeLinejoin="round"
        />
      </svg>
      {unread > 0 && (
        <span className="bell__count" data-testid="unread-count">
          {unread > 99 ? '99+' : unread}
        </span>
      )}
    </NavLink>
  );
}
