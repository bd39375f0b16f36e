// Pure helpers of the account pages (report figs. 22, 23, 30, 32) and the statement. Money stays
// exact decimal text (rounded for reading only through format.ts); only durations (milliseconds)
// are computed here, for the countdowns between two fetches.
import { roundDecimal } from './format';

/**
 * Milliseconds left of a server-computed duration `inMs`, received at `receivedAt` (the browser's
 * clock, so a skewed clock does not matter), as of `now`; never below zero.
 */
export function remainingMs(inMs: number, receivedAt: number, now: number): number {
  return Math.max(0, inMs - Math.max(0, now - receivedAt));
}

/**
 * "$ 3 per 30 days", "$ 0.002016 per 3600 seconds": a machine's fixed price per period (fig. 22),
 * to six significant digits unless `exact` (the hover text).
 */
export function formatCost(price: string, amount: number, unit: 'day' | 'second', exact = false): string {
  return `$ ${exact ? price : roundDecimal(price, 6)} per ${amount} ${amount === 1 ? unit : `${unit}s`}`;
}

/** "$ 0.1 per day", "$ 0.000006333 per second": a rate to four significant digits, or exact (the hover text). */
export function formatRate(rate: string, per: 'day' | 'second', exact = false): string {
  return `$ ${exact ? rate : roundDecimal(rate, 4)} per ${per}`;
}

/** Whether an exact decimal amount is zero ("0", "0.000", "-0"). */
export function isZeroAmount(amount: string): boolean {
  return /^[-+]?0*(\.0*)?$/.test(amount.trim()) && /0/.test(amount);
}

/** Whether an exact decimal amount is below zero. */
export function isNegativeAmount(amount: string): boolean {
  return amount.trim().startsWith('-') && !isZeroAmount(amount);
}

/**
 * A signed ledger amount as a statement shows it: "−$3" for a debit, "+$25" for a credit (the
 * real minus sign, so a screen reader says "minus").
 */
export function formatSignedMoney(amount: string): string {
  const text = amount.trim();
  if (text.startsWith('-')) return `−$${text.slice(1)}`;
  if (isZeroAmount(text)) return `$${text.replace(/^\+/, '')}`;
  return `+$${text.replace(/^\+/, '')}`;
}

/** The amount typed in "Add value", as the API takes it: trimmed, without a leading "$". */
export function toAmount(text: string): string {
  return text.trim().replace(/^\$\s*/, '');
}

// ——— Statement ———————————————————————————————————————————————————————————————————————————

export const LEDGER_KIND_LABELS: Record<string, string> = {
  fee: 'Registration fee',
  storage: 'Storage',
  running: 'Running',
  topUp: 'Top-up',
  refund: 'Refund',
};

export type LedgerKind = 'fee' | 'storage' | 'running' | 'topUp' | 'refund';

export const LEDGER_KINDS: readonly LedgerKind[] = ['fee', 'storage', 'running', 'topUp', 'refund'];

/** The statement's filters as the form holds them: dates are <input type="date"> values (YYYY-MM-DD). */
export interface StatementFilters {
  kind: '' | LedgerKind;
  machineId: string;
  fromDate: string;
  toDate: string;
}

export const NO_FILTERS: StatementFilters = { kind: '', machineId: '', fromDate: '', toDate: '' };

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Local midnight of a date input's value, `plusDays` later, as ISO 8601; null when it is not a date. */
export function localDayStart(date: string, plusDays = 0): string | null {
  const match = DATE.exec(date.trim());
  if (!match) return null;
  const day = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]) + plusDays);
  return Number.isNaN(day.getTime()) ? null : day.toISOString();
}

export interface StatementQuery {
  kind?: LedgerKind;
  machineId?: string;
  /** Entries at or after: the start of the "from" day. */
  from?: string;
  /** Entries before: the end of the "to" day (both days are included). */
  to?: string;
  limit?: number;
  offset?: number;
}

/** The API query of a statement page; empty filters are left out. */
export function statementQuery(filters: StatementFilters, page?: { limit: number; offset: number }): StatementQuery {
  const query: StatementQuery = {};
  if (filters.kind) query.kind = filters.kind;
  if (filters.machineId) query.machineId = filters.machineId;
  const from = filters.fromDate ? localDayStart(filters.fromDate) : null;
  const to = filters.toDate ? localDayStart(filters.toDate, 1) : null;
  if (from) query.from = from;
  if (to) query.to = to;
  if (page) {
    query.limit = page.limit;
    query.offset = page.offset;
  }
  return query;
}

/** The address of the CSV export of every entry the filters match (no paging: the file has them all). */
export function statementCsvHref(filters: StatementFilters, base = '/api/account/statement'): string {
  const params = new URLSearchParams({ format: 'csv' });
  for (const [key, value] of Object.entries(statementQuery(filters))) params.set(key, String(value));
  return `${base}?${params.toString()}`;
}

/** "Showing 101–200 of 250", "No entries". */
export function pageRange(offset: number, count: number, total: number): string {
  if (total === 0 || count === 0) return 'No entries';
  return `Showing ${offset + 1}–${offset + count} of ${total}`;
}

/** A UUID for a top-up's requestId, so a retried request adds nothing more. */
export function newRequestId(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
