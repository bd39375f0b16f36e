import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { ErrorBanner, Field, fieldErrors, Loading, QueryState } from '../components/forms';
import { api, call } from '../lib/api';
import { EDITABLE_HOST_FIELDS, EMPTY_HOST, hostToForm, toCreateHostBody, toUpdateHostBody, type HostForm } from '../lib/hosts';
import { keys, useHost } from '../lib/queries';

const CHARGE_HINT = 'In what increments the buyer is charged.';

/** Report fig. 27: add a host, blank or copied from one of yours (`?copy=<host id>`). */
export function AddHostPage() {
  const [params] = useSearchParams();
  const copyId = params.get('copy');
  const source = useHost(copyId);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [form, setForm] = useState<HostForm | null>(copyId ? null : { ...EMPTY_HOST });
  useEffect(() => {
    if (!form && source.data) setForm(hostToForm(source.data, true));
  }, [form, source.data]);
  const create = useMutation({
    mutationFn: (f: HostForm) => call(api.POST('/api/hosts', { body: toCreateHostBody(f) })),
    onSuccess: (host) => {
      queryClient.invalidateQueries({ queryKey: keys.hosts });
      queryClient.invalidateQueries({ queryKey: keys.marketHosts });
      navigate('/hosts', { state: { notice: `${host.name} was added. Buyers can now store machines on it.` } });
    },
  });
  if (copyId && (source.error || !form)) return source.error ? <ErrorBanner error={source.error} /> : <Loading what="Loading the host to copy" />;
  if (!form) return null;
  return (
    <section className="panel">
      <div className="page-head">
        <div>
          <h1>{copyId ? `Add a host (copy of ${source.data?.name ?? ''})` : 'Add a host'}</h1>
          <p className="muted">
            Describe the physical machine the provider agent runs on and the prices you ask. The totals of speed, memory and storage are
            locked once the host is added.
          </p>
        </div>
        <Link className="btn btn--ghost" to="/hosts">
          Cancel
        </Link>
      </div>
      <form
        onSubmit={(event: FormEvent) => {
          event.preventDefault();
          create.mutate(form);
        }}
        noValidate
      >
        <ErrorBanner error={create.error} />
        <HostFields form={form} onChange={(key, value) => setForm({ ...form, [key]: value })} error={create.error} />
        <div className="form-actions">
          <button type="submit" className="btn btn--primary" disabled={create.isPending}>
            {create.isPending ? 'Adding…' : 'Add host'}
          </button>
        </div>
      </form>
    </section>
  );
}

/** Report fig. 29: only units, unit prices and periods can change; the rest is shown locked. */
export function EditHostPage() {
  const { id = '' } = useParams();
  const host = useHost(id);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [form, setForm] = useState<HostForm | null>(null);
  useEffect(() => {
    if (!form && host.data) setForm(hostToForm(host.data));
  }, [form, host.data]);
  const update = useMutation({
    mutationFn: (f: HostForm) => call(api.PATCH('/api/hosts/{id}', { params: { path: { id } }, body: toUpdateHostBody(f) })),
    onSuccess: (updated) => {
      queryClient.setQueryData(keys.host(id), updated);
      queryClient.invalidateQueries({ queryKey: keys.hosts });
      queryClient.invalidateQueries({ queryKey: keys.marketHosts });
      navigate('/hosts', { state: { notice: `${updated.name} was updated. New prices apply to machines stored from now on.` } });
    },
  });
  if (host.isPending || host.error) return <QueryState query={host} what="Loading the host" />;
  if (!form) return null;
  return (
    <section className="panel">
      <div className="page-head">
        <div>
          <h1>Edit {host.data.name}</h1>
          <p className="muted">
            Units, unit prices and charge periods can change; they apply to machines stored from now on, never retroactively. The other
            fields are locked.
          </p>
        </div>
        <Link className="btn btn--ghost" to="/hosts">
          Cancel
        </Link>
      </div>
      <form
        onSubmit={(event: FormEvent) => {
          event.preventDefault();
          update.mutate(form);
        }}
        noValidate
      >
        <ErrorBanner error={update.error} />
        <HostFields form={form} onChange={(key, value) => setForm({ ...form, [key]: value })} error={update.error} lockTotals />
        <div className="form-actions">
          <button type="submit" className="btn btn--primary" disabled={update.isPending}>
            {update.isPending ? 'Updating…' : 'Update host'}
          </button>
        </div>
      </form>
    </section>
  );
}

function HostFields({
  form,
  onChange,
  error,
  lockTotals,
}: {
  form: HostForm;
  onChange: (key: keyof HostForm, value: string) => void;
  error: unknown;
  lockTotals?: boolean;
}) {
  const editable = new Set<string>(EDITABLE_HOST_FIELDS);
  const field = (key: keyof HostForm, label: string, extra: { unit?: string; hint?: string; numeric?: 'numeric' | 'decimal'; placeholder?: string } = {}) => {
    const locked = lockTotals && !editable.has(key);
    return (
      <Field
        label={label}
        value={form[key]}
        onChange={locked ? undefined : (value) => onChange(key, value)}
        locked={locked}
        unit={extra.unit}
        hint={extra.hint}
        inputMode={extra.numeric}
        placeholder={locked ? undefined : extra.placeholder}
        errors={fieldErrors(error, key)}
      />
    );
  };
  return (
    <>
      <fieldset className="form-group">
        <legend>Host</legend>
        <div className="form-grid">
          {field('name', 'Name', { placeholder: 'virt8' })}
          {field('processor', 'Processor', { placeholder: 'Pentium3' })}
        </div>
      </fieldset>
      <fieldset className="form-group">
        <legend>Speed</legend>
        <div className="form-grid form-grid--3">
          {field('speed', 'Speed', { unit: 'bogomips', numeric: 'numeric', placeholder: '10000', hint: 'Total for sale.' })}
          {field('speedUnit', 'Speed unit', { unit: 'bogomips', numeric: 'numeric', placeholder: '1000', hint: 'Sold in chunks of this size.' })}
          {field('speedUnitPrice', 'Speed unit price', { unit: '$ / second', numeric: 'decimal', placeholder: '0.00001', hint: 'Per unit, per second of running.' })}
        </div>
      </fieldset>
      <fieldset className="form-group">
        <legend>Memory</legend>
        <div className="form-grid form-grid--3">
          {field('memory', 'Memory', { unit: 'MB', numeric: 'numeric', placeholder: '512', hint: 'Total for sale.' })}
          {field('memoryUnit', 'Memory unit', { unit: 'MB', numeric: 'numeric', placeholder: '4', hint: 'Sold in chunks of this size.' })}
          {field('memoryUnitPrice', 'Memory unit price', { unit: '$ / second', numeric: 'decimal', placeholder: '0.00001', hint: 'Per unit, per second of running.' })}
        </div>
        <div className="form-grid form-grid--3">
          {field('runningUnitAmount', 'Running period', { unit: 'seconds', numeric: 'numeric', placeholder: '3600', hint: CHARGE_HINT })}
        </div>
      </fieldset>
      <fieldset className="form-group">
        <legend>Storage</legend>
        <div className="form-grid form-grid--3">
          {field('storage', 'Storage', { unit: 'MB', numeric: 'numeric', placeholder: '100000', hint: 'Total for sale.' })}
          {field('storageUnit', 'Storage unit', { unit: 'MB', numeric: 'numeric', placeholder: '100', hint: 'Sold in chunks of this size.' })}
          {field('storageUnitPrice', 'Storage unit price', { unit: '$ / day', numeric: 'decimal', placeholder: '0.01', hint: 'Per unit, per day stored.' })}
        </div>
        <div className="form-grid form-grid--3">
          {field('storageAmount', 'Storage period', { unit: 'days', numeric: 'numeric', placeholder: '30', hint: CHARGE_HINT })}
        </div>
      </fieldset>
      <fieldset className="form-group">
        <legend>Connection and agent</legend>
        <div className="form-grid form-grid--3">
          {field('connectionSpeed', 'Connection speed', { placeholder: '1Gbps' })}
          {field('agentHost', 'Agent host', { placeholder: '127.0.0.1', hint: 'Where the provider agent listens.' })}
          {field('agentPort', 'Agent port', { numeric: 'numeric', placeholder: '8000' })}
        </div>
      </fieldset>
    </>
  );
}
