import { useId, useState } from 'react';
import {
  formatSignedMoney,
  isNegativeAmount,
  LEDGER_KIND_LABELS,
  LEDGER_KINDS,
  NO_FILTERS,
  pageRange,
  statementCsvHref,
  type LedgerKind,
  type StatementFilters,
} from '../lib/billing';
import { formatDateTimeSeconds } from '../lib/format';
import { useStatement } from '../lib/queries';
import { QueryState } from './forms';

const PAGE_SIZE = 20;

/**
 * The account's ledger entries, newest first: filters (kind, machine, dates), pages, and the CSV
 * export of everything the filters match.
 */
export function Statement({ machines }: { machines: readonly { id: string; name: string }[] }) {
  const id = useId();
  const [filters, setFilters] = useState<StatementFilters>(NO_FILTERS);
  const [offset, setOffset] = useState(0);
  const statement = useStatement(filters, offset, PAGE_SIZE);
  const update = (change: Partial<StatementFilters>) => {
    setFilters((current) => ({ ...current, ...change }));
    setOffset(0);
  };
  const page = statement.data;
  const filtered = filters.kind || filters.machineId || filters.fromDate || filters.toDate;
  return (
    <section className="section" aria-labelledby={`${id}-h`}>
      <div className="section__head">
        <h2 id={`${id}-h`}>Statement</h2>
        <a className="btn btn--small" href={statementCsvHref(filters)} download="statement.csv">
          Download CSV
        </a>
      </div>
      <form className="filters" onSubmit={(event) => event.preventDefault()} aria-label="Statement filters">
        <div className="field">
          <label htmlFor={`${id}-kind`}>Kind</label>
          <select id={`${id}-kind`} value={filters.kind} onChange={(event) => update({ kind: event.target.value as '' | LedgerKind })}>
            <option value="">All kinds</option>
            {LEDGER_KINDS.map((kind) => (
              <option key={kind} value={kind}>
                {LEDGER_KIND_LABELS[kind]}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-machine`}>Machine</label>
          <select id={`${id}-machine`} value={filters.machineId} onChange={(event) => update({ machineId: event.target.value })}>
            <option value="">All machines</option>
            {machines.map((machine) => (
              <option key={machine.id} value={machine.id}>
                {machine.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-from`}>From</label>
          <input
            id={`${id}-from`}
            type="date"
            value={filters.fromDate}
            max={filters.toDate || undefined}
            onChange={(event) => update({ fromDate: event.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-to`}>To</label>
          <input
            id={`${id}-to`}
            type="date"
            value={filters.toDate}
            min={filters.fromDate || undefined}
            onChange={(event) => update({ toDate: event.target.value })}
          />
        </div>
        {filtered && (
          <button type="button" className="btn btn--small btn--ghost" onClick={() => update(NO_FILTERS)}>
            Clear filters
          </button>
        )}
      </form>
      <QueryState query={statement} what="Loading your statement" />
      {page && page.items.length === 0 && (
        <p className="empty empty--boxed">{filtered ? 'No entries match these filters.' : 'No money has moved on this account yet.'}</p>
      )}
      {page && page.items.length > 0 && (
        <>
          <div className="table-wrap">
            <table className="table table--compact table--statement table--fit" aria-describedby={`${id}-range`}>
              <thead>
                <tr>
                  <th scope="col">Date</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Description</th>
                  <th scope="col">Machine</th>
                  <th scope="col">Host</th>
                  <th scope="col" className="num">
                    Amount
                  </th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((entry) => (
                  <tr key={entry.key}>
                    <td className="nowrap">
                      <time dateTime={entry.at}>{formatDateTimeSeconds(entry.at)}</time>
                    </td>
                    <td>
                      <span className={`kind kind--${entry.kind}`}>{LEDGER_KIND_LABELS[entry.kind] ?? entry.kind}</span>
                    </td>
                    <td>{entry.description}</td>
                    <td>{entry.machineName ?? <span className="muted">—</span>}</td>
                    <td>{entry.hostName ?? <span className="muted">—</span>}</td>
                    <td className={`num money ${isNegativeAmount(entry.amount) ? 'amount--debit' : 'amount--credit'}`}>{formatSignedMoney(entry.amount)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="pager">
            <span id={`${id}-range`} className="muted small" aria-live="polite">
              {pageRange(page.offset, page.items.length, page.total)}
            </span>
            <div className="btn-row">
              <button type="button" className="btn btn--small" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}>
                Newer
              </button>
              <button type="button" className="btn btn--small" disabled={offset + PAGE_SIZE >= page.total} onClick={() => setOffset(offset + PAGE_SIZE)}>
                Older
              </button>
            </div>
          </div>
        </>
      )}
    </section>
  );
}
