import { useQueryClient } from '@tanstack/react-query';
import { Fragment, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { ErrorBanner, QueryState } from '../components/forms';
import { ConfigurationPriceHistory } from '../components/PriceHistory';
import { api, call, type Configuration, type User } from '../lib/api';
import { formatBogomips, formatMb } from '../lib/format';
import { idempotencyHeader } from '../lib/idempotency';
import { useAction } from '../lib/useAction';
import { keys, useCatalog, useMe } from '../lib/queries';
import { configFromCatalog, configToSearchParams, toRegisterBody } from '../lib/spec';

/** Report fig. 6 / 10: standard configurations and preconfigured machines with market averages. */
export function BrowsePage() {
  const catalog = useCatalog();
  const me = useMe();
  const user = me.data ?? null;
  const standard = catalog.data?.filter((c) => !c.preconfigured) ?? [];
  const preconfigured = catalog.data?.filter((c) => c.preconfigured) ?? [];
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Browse machines</h1>
          <p className="muted">
            Storage and running prices are market averages over every host that could hold the configuration today: a guide to what to bid.
          </p>
        </div>
        {user?.role !== 'provider' && (
          <Link className="btn btn--primary" to="/configure">
            Configure a custom machine
          </Link>
        )}
      </div>
      {!user && (
        <p className="alert alert--info">
          <Link to="/signin?next=/browse">Sign in</Link> or <Link to="/signup">sign up</Link> as a buyer to register a machine.
        </p>
      )}
      {user?.role === 'provider' && <p className="alert alert--info">You are signed in as a provider: these are the configurations buyers start from.</p>}
      <QueryState query={catalog} what="Loading the catalog" />
      {catalog.data && (
        <>
          <section className="section">
            <h2>Suggested configurations</h2>
            <CatalogTable entries={standard} user={user} kind="standard" />
          </section>
          <section className="section">
            <h2>Preconfigured machines</h2>
            <p className="muted">The operating system is already installed on these machines' disks.</p>
            <CatalogTable entries={preconfigured} user={user} kind="preconfigured" />
          </section>
        </>
      )}
    </>
  );
}

function CatalogTable({ entries, user, kind }: { entries: Configuration[]; user: User | null; kind: 'standard' | 'preconfigured' }) {
  const showActions = user?.role !== 'provider';
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const toggle = (id: string) =>
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const columns = showActions ? 9 : 8;
  if (entries.length === 0) return <p className="empty">No {kind} configurations yet.</p>;
  return (
    <div className="table-wrap">
      <table className="table table--catalog table--fit">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Processor</th>
            <th scope="col">Speed</th>
            <th scope="col">Operating system</th>
            <th scope="col">Memory</th>
            <th scope="col">Disk</th>
            <th scope="col" className="num">
              Storage / month
            </th>
            <th scope="col" className="num">
              Running / hour
            </th>
            {showActions && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {entries.map((entry) => (
            <Fragment key={entry.id}>
              <tr className={open.has(entry.id) ? 'has-subrow' : undefined}>
                <th scope="row" className="cell-name">
                  <span className="cell-name__title">{entry.name}</span>
                  <button
                    type="button"
                    className="link-button small"
                    aria-expanded={open.has(entry.id)}
                    aria-controls={`history-${entry.id}`}
                    aria-label={`Price history of ${entry.name}`}
                    onClick={() => toggle(entry.id)}
                  >
                    <span aria-hidden="true">{open.has(entry.id) ? '▾ ' : '▸ '}</span>
                    Price history
                  </button>
                </th>
                <td>{entry.processor}</td>
                <td>{formatBogomips(entry.speed)}</td>
                <td>{entry.os}</td>
                <td>{formatMb(entry.memory)}</td>
                <td>{formatMb(entry.disk)}</td>
                <td className="num money">{entry.averageStoragePerMonth ?? <span className="muted">no host yet</span>}</td>
                <td className="num money">{entry.averageRunningPerHour ?? <span className="muted">no host yet</span>}</td>
                {showActions && (
                  <td className="cell-actions">
                    <CatalogActions entry={entry} signedIn={!!user} />
                  </td>
                )}
              </tr>
              {open.has(entry.id) && (
                <tr className="subrow subrow--plain" id={`history-${entry.id}`}>
                  <td colSpan={columns}>
                    <ConfigurationPriceHistory id={entry.id} name={entry.name} />
                  </td>
                </tr>
              )}
            </Fragment>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function CatalogActions({ entry, signedIn }: { entry: Configuration; signedIn: boolean }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const form = configFromCatalog(entry);
  const configureUrl = `/configure?from=${encodeURIComponent(entry.id)}`;
  const searchUrl = `/search?${configToSearchParams(form).toString()}`;
  const hasPrices = entry.averageStoragePerMonth != null && entry.averageRunningPerHour != null;
  const register = useAction({
    mutationFn: (_: void, idempotencyKey: string) =>
      call(api.POST('/api/machines', { body: toRegisterBody(form), headers: idempotencyHeader(idempotencyKey) })),
    onSuccess: (machine) => {
      queryClient.invalidateQueries({ queryKey: keys.machines });
      queryClient.invalidateQueries({ queryKey: keys.me });
      navigate(`/machines/${machine.id}?registered=1`);
    },
  });
  const guard = (url: string) => (signedIn ? url : `/signin?next=${encodeURIComponent(url)}`);
  if (!entry.preconfigured) {
    return (
      <Link className="btn btn--small" to={guard(configureUrl)} aria-label={`Configure ${entry.name}`}>
        Configure
      </Link>
    );
  }
  return (
    <div className="stack-xs">
      <div className="btn-row">
        {signedIn && hasPrices ? (
          <button
            type="button"
            className="btn btn--small btn--primary"
            onClick={() => register.mutate()}
            disabled={register.isPending}
            aria-label={`Register ${entry.name} ($0.05)`}
            title="Register at the market-average prices; a fee of $0.05 is charged"
          >
            Register ($0.05)
          </button>
        ) : (
          <Link className="btn btn--small btn--primary" to={guard(configureUrl)} aria-label={`Register ${entry.name} ($0.05)`}>
            Register ($0.05)
          </Link>
        )}
        <Link className="btn btn--small" to={guard(hasPrices ? searchUrl : configureUrl)} aria-label={`Find providers for ${entry.name}`}>
          Find providers
        </Link>
        <Link className="btn btn--small btn--ghost" to={guard(configureUrl)} aria-label={`Configure ${entry.name}`}>
          Configure
        </Link>
      </div>
      {register.error ? <ErrorBanner error={register.error} /> : null}
    </div>
  );
}
