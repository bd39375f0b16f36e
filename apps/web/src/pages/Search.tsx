import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { ErrorBanner, Loading } from '../components/forms';
import { formToSummary, MachineSummary } from '../components/MachineSummary';
import { OffersTable } from '../components/Offers';
import { api, call, ifMatch } from '../lib/api';
import { storedNotice } from '../lib/machines';
import { idempotencyHeader } from '../lib/idempotency';
import { keys, useSearch, useSearchExplanation } from '../lib/queries';
import { useAction } from '../lib/useAction';
import { configFromSearchParams, configToSearchParams, toRegisterBody, toSpecBody } from '../lib/spec';

/**
 * Report searchproviderspre.pl: hosts for a configuration that is not registered yet. Storing
 * registers the configuration ($0.05) and then stores it on the chosen host.
 */
export function SearchPage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const form = configFromSearchParams(params);
  const spec = toSpecBody(form);
  const search = useSearch(spec, true);
  const explanation = useSearchExplanation(spec, search.data?.length === 0);
  const [chosen, setChosen] = useState<string | null>(null);
  const selected = chosen ?? search.data?.[0]?.hostId ?? null;

  // One click, two requests: each gets its own key derived from the action's (a key is bound to one path).
  const store = useAction({
    mutationFn: async (hostId: string, idempotencyKey: string) => {
      const machine = await call(api.POST('/api/machines', { body: toRegisterBody(form), headers: idempotencyHeader(`${idempotencyKey}.register`) }));
      try {
        return await call(
          api.POST('/api/machines/{id}/store', {
            params: { path: { id: machine.id } },
            body: { hostId },
            headers: { ...ifMatch(machine), ...idempotencyHeader(`${idempotencyKey}.store`) },
          }),
        );
      } catch (error) {
        // Registered but not stored (the host filled up meanwhile...): continue from the registered machine.
        throw Object.assign(error as Error, { registeredId: machine.id });
      }
    },
    onSuccess: (machine) => {
      queryClient.invalidateQueries({ queryKey: keys.machines });
      queryClient.invalidateQueries({ queryKey: keys.me });
      navigate('/computers', { state: { notice: `Registered (fee $0.05). ${storedNotice(machine)}` } });
    },
    onError: (error) => {
      const registeredId = (error as { registeredId?: string }).registeredId;
      queryClient.invalidateQueries({ queryKey: keys.machines });
      queryClient.invalidateQueries({ queryKey: keys.me });
      if (registeredId) {
        navigate(`/machines/${registeredId}/offers`, { state: { storeError: (error as Error).message } });
      }
    },
  });

  const back = `/configure?${configToSearchParams(form).toString()}`;
  return (
    <section className="panel">
      <div className="page-head">
        <div>
          <h1>Search results</h1>
          <p className="muted">This configuration is not registered yet. Storing it registers it first (fee $0.05).</p>
        </div>
        <Link className="btn btn--ghost" to={back}>
          Change configuration
        </Link>
      </div>
      <h2 className="form-section">The following configuration</h2>
      <MachineSummary machine={formToSummary(form)} />
      <h2 className="form-section">can be stored and started on these hosts</h2>
      <ErrorBanner error={store.error} />
      {search.error ? (
        <ErrorBanner error={search.error} />
      ) : search.isPending ? (
        <Loading what="Searching providers" />
      ) : (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            if (selected) store.mutate(selected);
          }}
        >
          <OffersTable offers={search.data} selected={selected} onSelect={setChosen} selectable explanation={explanation} />
          {search.data.length > 0 && (
            <div className="form-actions">
              <button type="submit" className="btn btn--primary" disabled={!selected || store.isPending}>
                {store.isPending ? 'Storing…' : 'Store machine'}
              </button>
              <span className="muted">Registers the configuration ($0.05), then reserves its resources on the chosen host.</span>
            </div>
          )}
        </form>
      )}
    </section>
  );
}
