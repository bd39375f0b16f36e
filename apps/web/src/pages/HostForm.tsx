import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { ErrorBanner, Field, fieldErrors, Loading, QueryState } from '../components/forms';
import { JoinSteps, useJoinFlow, type JoinedAgent } from '../components/JoinSteps';
import { HostNetworkSection } from '../components/network/HostNetwork';
import { api, call } from '../lib/api';
import { EDITABLE_HOST_FIELDS, EMPTY_HOST, hostToForm, toCreateHostBody, toUpdateHostBody, type HostForm } from '../lib/hosts';
import { idempotencyHeader } from '../lib/idempotency';
import { keys, useHost } from '../lib/queries';
import { useAction } from '../lib/useAction';

const CHARGE_HINT = 'In what increments the buyer is charged.';

/**
 * Report fig. 27 made safe: add a host by starting the provider agent on it. The page creates a
 * one-time join token and shows the command; once the agent has joined, its measured facts
 * prefill the totals and cap them, and the host is added bound to that agent (`agentId`).
 * `?copy=<host id>` copies a host's units and prices (for another machine, so a new agent);
 * `?agent=none` is the secondary path: the manual form of the report, for a host added offline.
 */
export function AddHostPage() {
  const [params] = useSearchParams();
  const copyId = params.get('copy');
  const manual = params.get('agent') === 'none';
  const source = useHost(copyId);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [form, setForm] = useState<HostForm | null>(copyId ? null : { ...EMPTY_HOST });
  useEffect(() => {
    if (!form && source.data) setForm(hostToForm(source.data, true));
  }, [form, source.data]);

  // The agent: a join token, polled until an agent presents it.
  const joinFlow = useJoinFlow(!manual);
  const agent = joinFlow.agent;

  // Once the agent has joined, its facts become the totals (and their maximum).
  const prefilledFor = useRef<string | null>(null);
  useEffect(() => {
    if (manual || !agent || !form || prefilledFor.current === agent.agentId) return;
    prefilledFor.current = agent.agentId;
    setForm(prefillFromAgent(form, agent));
  }, [manual, agent, form]);

  const create = useAction({
    mutationFn: (f: HostForm, idempotencyKey: string) =>
      call(api.POST('/api/hosts', { body: toCreateHostBody(f, manual ? undefined : agent?.agentId), headers: idempotencyHeader(idempotencyKey) })),
    onSuccess: (host) => {
      queryClient.invalidateQueries({ queryKey: keys.hosts });
      queryClient.invalidateQueries({ queryKey: keys.marketHosts });
      const notice = host.agentId
        ? `${host.name} was added with its agent. Buyers can now store machines on it.`
        : `${host.name} was added. It is offline until a provider agent joins for it (Connect agent).`;
      navigate('/hosts', { state: { notice } });
    },
  });
  if (copyId && (source.error || !form)) return source.error ? <ErrorBanner error={source.error} /> : <Loading what="Loading the host to copy" />;
  if (!form) return null;
  const otherPath = (agentNone: boolean) => {
    const next = new URLSearchParams(params);
    if (agentNone) next.set('agent', 'none');
    else next.delete('agent');
    const query = next.toString();
    return `/hosts/new${query ? `?${query}` : ''}`;
  };
  const title = copyId ? `Add a host (copy of ${source.data?.name ?? ''})` : 'Add a host';
  const ready = manual || !!agent;
  return (
    <section className="panel">
      <div className="page-head">
        <div>
          <h1>{manual ? `${title} without an agent` : title}</h1>
          <p className="muted">
            {manual
              ? 'Describe the physical machine and the prices you ask. The host stays offline until a provider agent runs on it. The totals of speed, memory and storage are locked once the host is added.'
              : 'Start the provider agent on the physical machine you sell: it measures the machine, and you set your units and prices. The totals are locked once the host is added.'}
          </p>
        </div>
        <Link className="btn btn--ghost" to="/hosts">
          Cancel
        </Link>
      </div>
      {!manual && <JoinSteps flow={joinFlow} />}
      <form
        onSubmit={(event: FormEvent) => {
          event.preventDefault();
          if (ready) create.mutate(form);
        }}
        noValidate
      >
        <ErrorBanner error={create.error} />
        <HostFields
          form={form}
          onChange={(key, value) => setForm({ ...form, [key]: value })}
          error={create.error}
          agent={manual ? undefined : (agent ?? 'waiting')}
        />
        <div className="form-actions">
          <button type="submit" className="btn btn--primary" disabled={create.isPending || !ready}>
            {create.isPending ? 'Adding…' : 'Add host'}
          </button>
          {!ready && <span className="muted small">Waiting for the agent to join…</span>}
        </div>
      </form>
      <p className="secondary-path" hidden={!manual && !!agent}>
        {manual ? (
          <>
            Prefer the safe way? <Link to={otherPath(false)}>Add the host with its provider agent</Link>: the agent measures the machine and the host is online
            as soon as it is added.
          </>
        ) : (
          <>
            Cannot run the agent yet? <Link to={otherPath(true)}>Add without an agent (offline)</Link>: describe the machine by hand; it is listed offline until
            an agent runs on it.
          </>
        )}
      </p>
    </section>
  );
}

/** A host added by hand gets its provider agent: the agent that joins with this token serves it. */
export function ConnectAgentPage() {
  const { id = '' } = useParams();
  const [params] = useSearchParams();
  // After "Revoke agent" the host gets a new agent even while the old one is still on record.
  const replacing = params.get('replace') === '1';
  const host = useHost(id);
  const queryClient = useQueryClient();
  const flow = useJoinFlow(!!host.data && (!host.data.agentId || replacing), id);
  useEffect(() => {
    if (flow.agent) {
      queryClient.invalidateQueries({ queryKey: keys.hosts });
      queryClient.invalidateQueries({ queryKey: keys.host(id) });
      queryClient.invalidateQueries({ queryKey: keys.marketHosts });
    }
  }, [flow.agent, id, queryClient]);
  if (host.isPending || host.error) return <QueryState query={host} what="Loading the host" />;
  return (
    <section className="panel">
      <div className="page-head">
        <div>
          <h1>Connect an agent to {host.data.name}</h1>
          <p className="muted">Start the provider agent on {host.data.name}: once it joins, the host is online and buyers can store and run machines on it.</p>
        </div>
        <Link className="btn btn--ghost" to="/hosts">
          Back to my hosts
        </Link>
      </div>
      {replacing && !flow.agent && (
        <p className="alert alert--info">The old agent was revoked: its secret no longer works. Start a new agent on {host.data.name} with this command.</p>
      )}
      {host.data.agentId && !replacing && !flow.agent ? (
        <p className="alert alert--info">This host already has its provider agent.</p>
      ) : (
        <JoinSteps flow={flow} joinedNote={`${host.data.name} is now served by this agent.`} />
      )}
      {flow.agent && (
        <p className="actions">
          <Link className="btn btn--primary" to="/hosts">
            Done
          </Link>
        </p>
      )}
    </section>
  );
}

/** Totals from the agent's facts; the name and processor only when the provider left them empty. */
function prefillFromAgent(form: HostForm, agent: JoinedAgent): HostForm {
  const { facts } = agent;
  return {
    ...form,
    name: form.name || facts.hostname,
    processor: form.processor || `x86-64, ${facts.cpus} ${facts.cpus === 1 ? 'CPU' : 'CPUs'}`,
    speed: String(facts.bogomips),
    memory: String(facts.memoryMb),
    storage: String(facts.freeDiskMb),
    agentHost: agent.agentHost,
    agentPort: String(agent.agentPort),
  };
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
            Units, unit prices and charge periods can change; they apply to machines stored from now on, never retroactively. The other fields are locked.
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
      {host.data.agentId && <HostNetworkSection host={host.data} />}
    </section>
  );
}

function HostFields({
  form,
  onChange,
  error,
  lockTotals,
  agent,
}: {
  form: HostForm;
  onChange: (key: keyof HostForm, value: string) => void;
  error: unknown;
  lockTotals?: boolean;
  /** Adding with an agent: its facts cap the totals and it supplies its address ('waiting' until it joins). */
  agent?: JoinedAgent | 'waiting';
}) {
  const editable = new Set<string>(EDITABLE_HOST_FIELDS);
  const joined = agent && agent !== 'waiting' ? agent : null;
  const limits: Partial<Record<keyof HostForm, number>> = joined
    ? { speed: joined.facts.bogomips, memory: joined.facts.memoryMb, storage: joined.facts.freeDiskMb }
    : {};
  const field = (key: keyof HostForm, label: string, extra: { unit?: string; hint?: string; numeric?: 'numeric' | 'decimal'; placeholder?: string } = {}) => {
    const fromAgent = !!agent && (key === 'agentHost' || key === 'agentPort');
    const isTotal = key === 'speed' || key === 'memory' || key === 'storage';
    const measuring = agent === 'waiting' && isTotal;
    const locked = !!lockTotals && !editable.has(key);
    // Values that come from the agent are read-only, without the "locked once added" badge.
    const fromAgentOnly = fromAgent || measuring;
    const max = limits[key];
    const hint = fromAgent
      ? agent === 'waiting'
        ? 'Reported by the agent when it joins.'
        : 'Reported by the agent.'
      : measuring
        ? 'Measured by the agent when it joins.'
        : max !== undefined
          ? `Measured by the agent: at most ${max}.`
          : extra.hint;
    return (
      <Field
        label={label}
        value={form[key]}
        onChange={locked || fromAgentOnly ? undefined : (value) => onChange(key, value)}
        locked={locked}
        className={fromAgentOnly ? 'field--locked' : undefined}
        unit={extra.unit}
        hint={hint}
        inputMode={extra.numeric}
        // An example, marked as one, so an empty field never looks filled in.
        placeholder={locked || fromAgentOnly || !extra.placeholder ? undefined : `e.g. ${extra.placeholder}`}
        max={max}
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
          {field('speedUnitPrice', 'Speed unit price', {
            unit: '$ / second',
            numeric: 'decimal',
            placeholder: '0.00001',
            hint: 'Per unit, per second of running.',
          })}
        </div>
      </fieldset>
      <fieldset className="form-group">
        <legend>Memory</legend>
        <div className="form-grid form-grid--3">
          {field('memory', 'Memory', { unit: 'MB', numeric: 'numeric', placeholder: '512', hint: 'Total for sale.' })}
          {field('memoryUnit', 'Memory unit', { unit: 'MB', numeric: 'numeric', placeholder: '4', hint: 'Sold in chunks of this size.' })}
          {field('memoryUnitPrice', 'Memory unit price', {
            unit: '$ / second',
            numeric: 'decimal',
            placeholder: '0.00001',
            hint: 'Per unit, per second of running.',
          })}
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
