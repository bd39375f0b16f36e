import { useState, type FormEvent } from 'react';
import { EventTable } from '../components/EventTable';
import { api, call, type OperatorEvent } from '../lib/api';

interface Filters {
  kind?: string;
  source?: 'market' | 'agent';
  machineId?: string;
  hostId?: string;
  userId?: string;
  from?: string;
  to?: string;
}

const FIELDS: Array<{ name: keyof Filters; label: string; placeholder: string }> = [
  { name: 'kind', label: 'Kind or category', placeholder: 'machine, agent.reply, qmp…' },
  { name: 'machineId', label: 'Machine id', placeholder: 'UUID' },
  { name: 'hostId', label: 'Host id', placeholder: 'UUID' },
  { name: 'userId', label: 'User id', placeholder: 'UUID' },
  { name: 'from', label: 'From', placeholder: '2026-11-25T00:00:00Z' },
  { name: 'to', label: 'To', placeholder: '2026-11-26T00:00:00Z' },
];

/** The operator's view of the market's one ordered event log, with its filters. */
export function OperatorEventsPage() {
  const [filters, setFilters] = useState<Filters>({});
  const apply = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const next: Filters = {};
    for (const { name } of [...FIELDS, { name: 'source' as const }]) {
      const value = String(form.get(name) ?? '').trim();
      if (value) (next as Record<string, string>)[name] = value;
    }
    setFilters(next);
  };
  return (
    <section className="panel">
      <div className="page-head">
        <div>
          <h1>Event log</h1>
          <p className="muted">Every event of the front-end and the provider agents, in the order the market recorded them, newest first.</p>
        </div>
      </div>
      <form className="filters" onSubmit={apply} aria-label="Filters">
        {FIELDS.map((field) => (
          <label key={field.name}>
            {field.label}
            <input name={field.name} defaultValue={filters[field.name] ?? ''} placeholder={field.placeholder} />
          </label>
        ))}
        <label>
          Source
          <select name="source" defaultValue={filters.source ?? ''}>
            <option value="">any</option>
            <option value="market">market</option>
            <option value="agent">agent</option>
          </select>
        </label>
        <button type="submit" className="btn">
          Apply
        </button>
      </form>
      <EventTable<OperatorEvent>
        queryKey={['events', 'operator', filters]}
        label="Event log"
        load={(cursor) => call(api.GET('/api/operator/events', { params: { query: { ...filters, cursor } } }))}
        extraColumns={[
          { title: 'Machine', cell: (event) => <code className="small">{event.machineId?.slice(0, 8) ?? ''}</code> },
          { title: 'Host', cell: (event) => <code className="small">{event.hostId?.slice(0, 8) ?? ''}</code> },
          {
            title: 'Buyer / provider',
            cell: (event) => (
              <code className="small">
                {[event.buyerId, event.providerId]
                  .filter(Boolean)
                  .map((id) => id!.slice(0, 8))
                  .join(' / ')}
              </code>
            ),
          },
        ]}
      />
    </section>
  );
}
