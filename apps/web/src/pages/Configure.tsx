import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { ConfigFields } from '../components/ConfigFields';
import { ErrorBanner, Loading } from '../components/forms';
import { api, call } from '../lib/api';
import { idempotencyHeader } from '../lib/idempotency';
import { keys, useCatalog } from '../lib/queries';
import { useAction } from '../lib/useAction';
import { configFromCatalog, configFromSearchParams, configToSearchParams, EMPTY_CONFIG, toRegisterBody, toSpecBody, type ConfigForm } from '../lib/spec';

/**
 * Report fig. 7: configure a machine, then register it ($0.05) or search providers for the
 * configuration before registering it. `?from=<catalog id>` prefills from the catalog; the other
 * query parameters (as the search page links back) prefill field by field.
 */
export function ConfigurePage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const catalog = useCatalog();
  const from = params.get('from');
  const [form, setForm] = useState<ConfigForm | null>(() => (from ? null : configFromSearchParams(params)));

  useEffect(() => {
    if (form || !from || !catalog.data) return;
    const entry = catalog.data.find((c) => c.id === from);
    setForm(entry ? configFromCatalog(entry) : { ...EMPTY_CONFIG });
  }, [form, from, catalog.data]);

  const entry = catalog.data?.find((c) => c.id === form?.configurationId);
  const lockImage = !!entry?.preconfigured;

  const register = useAction({
    mutationFn: (f: ConfigForm, idempotencyKey: string) =>
      call(api.POST('/api/machines', { body: toRegisterBody(f), headers: idempotencyHeader(idempotencyKey) })),
    onSuccess: (machine) => {
      queryClient.invalidateQueries({ queryKey: keys.machines });
      queryClient.invalidateQueries({ queryKey: keys.me });
      navigate(`/machines/${machine.id}?registered=1`);
    },
  });
  // Searching first validates the configuration here, so field messages appear next to the
  // fields; the results are handed to the search page through the query cache.
  const search = useMutation({
    mutationFn: (f: ConfigForm) => call(api.POST('/api/market/search', { body: toSpecBody(f) })),
    onSuccess: (offers, f) => {
      queryClient.setQueryData(keys.search(toSpecBody(f)), offers);
      navigate(`/search?${configToSearchParams(f).toString()}`);
    },
  });
  const error = register.error ?? search.error;

  if (!form) {
    if (catalog.error) return <ErrorBanner error={catalog.error} />;
    return <Loading what="Loading the configuration" />;
  }
  const set = (key: keyof ConfigForm, value: string) => setForm({ ...form, [key]: value });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    search.reset();
    register.mutate(form);
  };
  return (
    <section className="panel">
      <div className="page-head">
        <div>
          <h1>Configure a machine</h1>
          <p className="muted">
            {entry ? (
              <>
                Starting from <strong>{entry.name}</strong>
                {entry.preconfigured ? ' (preconfigured: its operating system is installed)' : ''}. Prices start at the market average.
              </>
            ) : (
              'Describe the machine you need and the prices you are willing to pay.'
            )}
          </p>
        </div>
        <Link to="/browse" className="btn btn--ghost">
          Back to the catalog
        </Link>
      </div>
      <form onSubmit={submit} noValidate>
        <ErrorBanner error={error} />
        <ConfigFields form={form} set={set} error={error} catalog={catalog.data} lockImage={lockImage} />
        <div className="form-actions">
          <button type="submit" className="btn btn--primary" disabled={register.isPending}>
            {register.isPending ? 'Registering…' : 'Register configuration ($0.05)'}
          </button>
          <button
            type="button"
            className="btn"
            disabled={search.isPending}
            onClick={() => {
              register.reset();
              search.mutate(form);
            }}
          >
            {search.isPending ? 'Searching…' : 'Search providers'}
          </button>
          <span className="muted">Registering charges a $0.05 fee. Searching is free.</span>
        </div>
      </form>
    </section>
  );
}
