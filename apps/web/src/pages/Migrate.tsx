import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { ErrorBanner, Loading, QueryState } from '../components/forms';
import { MachineSummary } from '../components/MachineSummary';
import { MigrationConfirm } from '../components/migration/MigrationConfirm';
import { MigrationOffersTable } from '../components/migration/MigrationOffersTable';
import { OffersVmmpLog } from '../components/migration/OffersVmmpLog';
import { api, call, ifMatch, type StartMigration } from '../lib/api';
import { idempotencyHeader } from '../lib/idempotency';
import { defaultChoice, parseChoice } from '../lib/migration';
import { keys, useMachine, useMigrationOffers } from '../lib/queries';
import { useAction } from '../lib/useAction';

/** Report fig. 20: where the machine can move, by which method; confirm, start, go to the machine's page. */
export function MigratePage() {
  const { id = '' } = useParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const machine = useMachine(id);
  const canMigrate = !!machine.data?.allowedActions.includes('migrate');
  const offers = useMigrationOffers(id, canMigrate);
  const [chosen, setChosen] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const choice = chosen ?? defaultChoice(offers.data ?? []);
  const picked = parseChoice(choice);
  const offer = picked ? offers.data?.find((o) => o.hostId === picked.hostId && o.methods.includes(picked.method)) : undefined;

  const migrate = useAction({
    mutationFn: (body: StartMigration, idempotencyKey: string) =>
      call(
        api.POST('/api/machines/{id}/migrate', {
          params: { path: { id } },
          body,
          headers: { ...ifMatch(machine.data!), ...idempotencyHeader(idempotencyKey) },
        }),
      ),
    onSuccess: (started) => {
      queryClient.setQueryData(keys.migration(id), started);
      queryClient.removeQueries({ queryKey: keys.migrationOffers(id) });
      queryClient.invalidateQueries({ queryKey: keys.machine(id) });
      queryClient.invalidateQueries({ queryKey: keys.machines });
      navigate(`/machines/${id}`, {
        state: { notice: `${machine.data?.name ?? 'The machine'}: migration to ${started.toHostName} by ${started.method} started.` },
      });
    },
    onError: () => {
      // The machine or the hosts may have changed meanwhile (412, 409): show them as they are now.
      queryClient.invalidateQueries({ queryKey: keys.machine(id), exact: true });
      queryClient.invalidateQueries({ queryKey: keys.migrationOffers(id) });
    },
  });

  if (machine.isPending || machine.error) return <QueryState query={machine} what="Loading the machine" />;
  const m = machine.data;
  return (
    <section className="panel">
      <div className="page-head">
        <div>
          <h1>Migrate {m.name}</h1>
          <p className="muted">
            {m.host ? `Stored on ${m.host.name} (${m.host.owner}). ` : ''}Hosts that can hold it, with the prices it would pay there and the ways each can
            receive it.
          </p>
        </div>
        <div className="btn-row">
          <Link className="btn btn--ghost" to={`/machines/${m.id}`}>
            Back to {m.name}
          </Link>
        </div>
      </div>
      <h2 className="form-section">The machine</h2>
      <MachineSummary machine={m} />
      {!canMigrate ? (
        <p className="alert alert--info" role="status">
          This machine is {m.state}: it can migrate only when it is stored, stopped or suspended.
        </p>
      ) : (
        <>
          <h2 className="form-section">Hosts it can move to</h2>
          {offers.error ? (
            <ErrorBanner error={offers.error} />
          ) : offers.isPending ? (
            <Loading what="Asking the hosts which migration methods they offer" />
          ) : offers.data.length === 0 ? (
            <div className="empty empty--boxed" role="status">
              <strong>No other host can hold this machine right now.</strong>
              <span>Hosts with enough free speed, memory and disk appear here.</span>
            </div>
          ) : confirming && offer && picked ? (
            <MigrationConfirm
              machine={m}
              offer={offer}
              method={picked.method}
              pending={migrate.isPending}
              error={migrate.error}
              onConfirm={() => migrate.mutate(picked)}
              onBack={() => {
                migrate.reset();
                setConfirming(false);
              }}
            />
          ) : (
            <form
              onSubmit={(event) => {
                event.preventDefault();
                if (offer) setConfirming(true);
              }}
            >
              {/* A refusal whose host is no longer offered lands here, with the hosts as they are now. */}
              <ErrorBanner error={migrate.error} />
              <MigrationOffersTable offers={offers.data} choice={choice} onChoose={setChosen} />
              <OffersVmmpLog offers={offers.data} />
              <div className="form-actions">
                <button type="submit" className="btn btn--primary" disabled={!offer}>
                  {offer && picked ? `Migrate to ${offer.hostName} by ${picked.method}…` : 'Migrate…'}
                </button>
                <span className="muted">
                  {offer ? 'You confirm the prices on the next step.' : 'No host answered with a migration method: none can be chosen now.'}
                </span>
              </div>
            </form>
          )}
        </>
      )}
    </section>
  );
}
