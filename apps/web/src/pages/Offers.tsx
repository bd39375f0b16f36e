import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useLocation, useNavigate, useParams } from 'react-router';
import { ErrorBanner, Loading, QueryState } from '../components/forms';
import { MachineSummary } from '../components/MachineSummary';
import { OffersTable } from '../components/Offers';
import { api, call, ifMatch } from '../lib/api';
import { storedNotice } from '../lib/machines';
import { idempotencyHeader } from '../lib/idempotency';
import { keys, useMachine, useOffers, useOffersExplanation } from '../lib/queries';
import { useAction } from '../lib/useAction';

/** Report fig. 11 / 14 / 31: hosts that can hold a registered machine; choose one and store it. */
export function OffersPage() {
  const { id = '' } = useParams();
  const location = useLocation();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const machine = useMachine(id);
  const canSearch = !!machine.data && (machine.data.allowedActions.includes('searchProviders') || machine.data.allowedActions.includes('store'));
  const canStore = !!machine.data?.allowedActions.includes('store');
  const offers = useOffers(id, canSearch);
  const explanation = useOffersExplanation(id, canSearch && offers.data?.length === 0);
  const [chosen, setChosen] = useState<string | null>(null);
  const selected = chosen ?? offers.data?.[0]?.hostId ?? null;
  const storeError = (location.state as { storeError?: string } | null)?.storeError;

  const store = useAction({
    mutationFn: (hostId: string, idempotencyKey: string) =>
      call(
        api.POST('/api/machines/{id}/store', {
          params: { path: { id } },
          body: { hostId },
          headers: { ...ifMatch(machine.data!), ...idempotencyHeader(idempotencyKey) },
        }),
      ),
    onSuccess: (stored) => {
      queryClient.removeQueries({ queryKey: keys.offers(id) });
      queryClient.invalidateQueries({ queryKey: keys.machines });
      queryClient.invalidateQueries({ queryKey: keys.me });
      navigate('/computers', { state: { notice: storedNotice(stored) } });
    },
    onError: () => {
      queryClient.invalidateQueries({ queryKey: keys.machine(id) });
      queryClient.invalidateQueries({ queryKey: keys.offers(id) });
    },
  });

  if (machine.isPending || machine.error) return <QueryState query={machine} what="Loading the machine" />;
  const m = machine.data;
  return (
    <section className="panel">
      <div className="page-head">
        <div>
          <h1>Search results</h1>
          <p className="muted">Hosts that can hold {m.name} at or below the prices you asked.</p>
        </div>
        <div className="btn-row">
          {m.allowedActions.includes('edit') && (
            <Link className="btn btn--ghost" to={`/machines/${m.id}/edit`}>
              Edit configuration
            </Link>
          )}
          <Link className="btn btn--ghost" to="/computers">
            My computers
          </Link>
        </div>
      </div>
      {storeError && (
        <div className="alert alert--warning" role="alert">
          The configuration was registered, but storing it failed: {storeError} Choose a host again.
        </div>
      )}
      <h2 className="form-section">The following configuration</h2>
      <MachineSummary machine={m} />
      {!canSearch ? (
        <p className="alert alert--info">This machine is {m.state}: it is already placed on a host, so there is nothing to search for.</p>
      ) : (
        <>
          <h2 className="form-section">can be stored and started on these hosts</h2>
          <ErrorBanner error={store.error} />
          {offers.error ? (
            <ErrorBanner error={offers.error} />
          ) : offers.isPending ? (
            <Loading what="Searching providers" />
          ) : (
            <form
              onSubmit={(event) => {
                event.preventDefault();
                if (selected) store.mutate(selected);
              }}
            >
              <OffersTable offers={offers.data} selected={selected} onSelect={setChosen} selectable={canStore} explanation={explanation} />
              {canStore && offers.data.length > 0 && (
                <div className="form-actions">
                  <button type="submit" className="btn btn--primary" disabled={!selected || store.isPending}>
                    {store.isPending ? 'Storing…' : 'Store machine'}
                  </button>
                  <span className="muted">Reserves the machine's speed, memory and disk on the host and fixes its prices.</span>
                </div>
              )}
            </form>
          )}
        </>
      )}
    </section>
  );
}
