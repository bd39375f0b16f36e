import { NavLink, Outlet, Link } from 'react-router';
import { formatMoney } from '../lib/format';
import { useMe } from '../lib/queries';

/** The report's frame: brand, nav bar (Home, Switch user, Account, My computers), the user, a footer. */
export function Layout() {
  const me = useMe();
  const user = me.data ?? null;
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar__inner">
          <Link to="/" className="brand" aria-label="Virtuoso home">
            <span className="brand__mark" aria-hidden="true">
              V
            </span>
            <span className="brand__name">Virtuoso</span>
          </Link>
          <nav className="nav" aria-label="Main">
            <NavLink to="/" end>
              Home
            </NavLink>
            {user?.role !== 'provider' && <NavLink to="/browse">Browse machines</NavLink>}
            {user && <NavLink to={user.role === 'provider' ? '/hosts' : '/computers'}>My computers</NavLink>}
            {user?.role === 'buyer' && <NavLink to="/media">Media</NavLink>}
            {user && <NavLink to="/marketplace">Provider marketplace</NavLink>}
            {user && <NavLink to="/account">Account</NavLink>}
            <NavLink to="/switch-user">Switch user</NavLink>
          </nav>
          <div className="whoami">
            {me.isPending ? null : user ? (
              <>
                <span className="whoami__handle" data-testid="current-user">
                  {user.handle}
                </span>
                <span className={`badge badge--${user.role}`}>{user.role}</span>
                <span className="whoami__balance" title="Balance">
                  {formatMoney(user.balance)}
                </span>
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
      </header>
      <main id="main" className="main">
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
