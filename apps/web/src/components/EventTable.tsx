import { useInfiniteQuery } from '@tanstack/react-query';
import { ErrorBanner } from './forms';
import type { LogEvent } from '../lib/api';
import { formatDateTime } from '../lib/format';

interface Page<E, C> {
  items: E[];
  next: C | null;
}

/**
 * Events of the market's log (docs/ARCHITECTURE.md "Event log"), newest first, a page at a time:
 * "Older events" asks for the page after the last one shown (the cursor of the global order).
 */
export function EventTable<E extends Omit<LogEvent, 'id'> & { id: number | null }, C extends number | string = number>({
  queryKey,
  load,
  label,
  extraColumns = [],
}: {
  queryKey: readonly unknown[];
  load: (cursor: C | undefined) => Promise<Page<E, C>>;
  label: string;
  extraColumns?: Array<{ title: string; cell: (event: E) => React.ReactNode }>;
}) {
  const events = useInfiniteQuery({
    queryKey,
    queryFn: ({ pageParam }) => load(pageParam as C | undefined),
    initialPageParam: undefined as C | undefined,
    getNextPageParam: (last) => last.next ?? undefined,
  });
  const rows = events.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <>
      <ErrorBanner error={events.error} />
      {events.isPending && <p className="muted">Loading the events…</p>}
      {!events.isPending && rows.length === 0 && !events.error && <p className="empty empty--boxed">No events yet.</p>}
      {rows.length > 0 && (
        <table className="table table--compact" aria-label={label}>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Recorded</th>
              <th scope="col">Kind</th>
              <th scope="col">What happened</th>
              {extraColumns.map((column) => (
                <th scope="col" key={column.title}>
                  {column.title}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((event) => (
              // A charge read from the ledger has no event number: one per write time.
              <tr key={event.id ?? `${event.kind}:${event.at}`}>
                <td className="muted small">{event.id}</td>
                <td>
                  <time dateTime={event.at} title={event.source === 'agent' ? `on the agent: ${event.occurredAt}` : undefined}>
                    {formatDateTime(event.at)}
                  </time>
                </td>
                <td>
                  <code>{event.kind}</code>
                </td>
                <td>{event.message}</td>
                {extraColumns.map((column) => (
                  <td key={column.title}>{column.cell(event)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {events.hasNextPage && (
        <button type="button" className="btn" disabled={events.isFetchingNextPage} onClick={() => events.fetchNextPage()}>
          Older events
        </button>
      )}
    </>
  );
}
