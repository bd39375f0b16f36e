import { Link } from 'react-router';
import { useMe } from '../lib/queries';

export function HomePage() {
  const me = useMe();
  const user = me.data ?? null;
  return (
    <>
      <section className="hero">
        <div className="hero__text">
          <h1>Rent raw virtual machines from providers you choose</h1>
          <p className="lead">
            Virtuoso is a marketplace for virtual machines. <strong>Buyers</strong> pick a configuration — processor speed, memory, disk and the highest price
            they will pay — and register it. Virtuoso finds the <strong>providers</strong> whose hosts can hold it at that price; the buyer stores the machine
            on one, then starts, stops, suspends and resumes it at will, sees its screen in the browser and installs an operating system from an ISO image,
            paying for storage by the day and for running by the second.
          </p>
          <div className="actions">
            {!user && (
              <>
                <Link className="btn btn--primary btn--large" to="/signup">
                  Sign up for an account
                </Link>
                <Link className="btn btn--large" to="/signin">
                  Sign in
                </Link>
              </>
            )}
            {user?.role === 'buyer' && (
              <>
                <Link className="btn btn--primary btn--large" to="/browse">
                  Browse machines
                </Link>
                <Link className="btn btn--large" to="/computers">
                  My computers
                </Link>
              </>
            )}
            {user?.role === 'provider' && (
              <>
                <Link className="btn btn--primary btn--large" to="/hosts/new">
                  Add a host
                </Link>
                <Link className="btn btn--large" to="/hosts">
                  My hosts
                </Link>
              </>
            )}
          </div>
          {user && (
            <p className="muted">
              Signed in as <strong>{user.handle}</strong> ({user.role}).
            </p>
          )}
        </div>
      </section>

      {user?.role === 'provider' ? <ProviderCards /> : <BuyerCards />}
    </>
  );
}

/** What a provider does here: hosts, the market's prices, income. */
function ProviderCards() {
  return (
    <section className="cards" aria-label="Your hosts">
      <article className="card">
        <h2>Add a host</h2>
        <p>Start the provider agent on a physical machine: it measures it and joins; then set the units you sell and their prices.</p>
        <Link to="/hosts/new">Add a host →</Link>
      </article>
      <article className="card">
        <h2>My hosts</h2>
        <p>Each host's status, free resources and prices; edit units and prices, copy a host, or remove it.</p>
        <Link to="/hosts">My hosts →</Link>
      </article>
      <article className="card">
        <h2>Compare prices</h2>
        <p>Every host in the market with its free resources and unit prices, and the market's mean prices over time.</p>
        <Link to="/marketplace">Provider marketplace →</Link>
      </article>
      <article className="card">
        <h2>Income</h2>
        <p>What your hosts earn, what each machine on them pays and when, and every movement of your money.</p>
        <Link to="/account">Account →</Link>
      </article>
    </section>
  );
}

/** How buying works, for buyers and visitors. */
function BuyerCards() {
  return (
    <>
      <section className="cards" aria-label="How it works">
        <article className="card">
          <h2>Browse</h2>
          <p>Standard configurations and preconfigured machines, each with the market-average price to store and to run it.</p>
          <Link to="/browse">Browse machines →</Link>
        </article>
        <article className="card">
          <h2>Configure &amp; register</h2>
          <p>Set the speed, memory and disk you need and the highest storage and running prices you accept. Registering costs $0.05.</p>
          <Link to="/configure">Configure a machine →</Link>
        </article>
        <article className="card">
          <h2>Find a provider &amp; store</h2>
          <p>Every host that fits your machine at your prices is listed. Pick one: its resources are reserved and its prices fixed.</p>
          <Link to="/computers">My computers →</Link>
        </article>
        <article className="card">
          <h2>Use it in the browser</h2>
          <p>Each running machine has a console in the page: its screen, its keyboard, Ctrl-Alt-Del. Upload an ISO to install any system.</p>
          <Link to="/media">Media →</Link>
        </article>
        <article className="card">
          <h2>Sell your hosts</h2>
          <p>
            Providers start the provider agent on a physical host, which measures it, then set the units they sell and the unit prices — and see what other
            providers charge.
          </p>
          <Link to="/marketplace">Provider marketplace →</Link>
        </article>
      </section>
    </>
  );
}
