// Pure formatting helpers. Money arrives from the API as exact decimal strings and is shown as
// sent: these helpers only put words around it, never arithmetic.

/** "3 / 30 days", "2.448 / 3600 seconds", "1 / 1 day" (report fig. 11). */
export function formatPeriodPrice(price: string | null | undefined, amount: number | null | undefined, unit: 'day' | 'second'): string {
  if (price == null || amount == null) return '—';
  return `${price} / ${amount} ${plural(amount, unit)}`;
}

/** "3 / month", "0.064386 / hour": what a buyer asked to pay (report fig. 9). */
export function formatAskedPrice(price: string | null | undefined, per: 'month' | 'hour'): string {
  if (price == null || price === '') return '—';
  return `${price} / ${per}`;
}

/** "$1000" — a dollar amount exactly as the API wrote it. */
export function formatMoney(amount: string | null | undefined): string {
  if (amount == null || amount === '') return '—';
  return amount.startsWith('-') ? `-$${amount.slice(1)}` : `$${amount}`;
}

export function plural(count: number, word: string): string {
  return count === 1 ? word : `${word}s`;
}

export function formatMb(mb: number | null | undefined): string {
  return mb == null ? '—' : `${mb} MB`;
}

export function formatBogomips(speed: number | null | undefined): string {
  return speed == null ? '—' : `${speed} bogomips`;
}

/** "$0.00001 per 1000 bogomips per second" — a host's unit price (report fig. 28, 33). */
export function formatUnitPrice(price: string, unit: number, unitName: 'bogomips' | 'MB', per: 'second' | 'day'): string {
  return `$${price} per ${unit} ${unitName} per ${per}`;
}

/** A locale date-time, or the raw text when it does not parse. */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** A locale date-time with seconds (statements, chart points), or the raw text when it does not parse. */
export function formatDateTimeSeconds(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/**
 * A form field's text as a whole number for the API. Text that is not a whole number is sent as
 * typed, so the server rejects it with its own message naming the field ("speed must be a whole
 * number"); the SPA does not second-guess the server's rules.
 */
export function toWholeNumber(text: string): number {
  const trimmed = text.trim();
  return (/^\d+$/.test(trimmed) ? Number(trimmed) : trimmed) as unknown as number;
}

/** A decimal price as typed, trimmed; "" stays "" so the server names the field. */
export function toPrice(text: string): string {
  return text.trim();
}

/** "700 B", "1.5 KB", "12.3 MB", "4.20 GB" — a file size in binary units. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes == null || !Number.isFinite(bytes)) return '—';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)} ${units[unit]}`;
}

/** "just now", "12 s ago", "4 min ago", "3 h ago", else the date — for heartbeats. */
export function formatAgo(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return 'never';
  const at = new Date(iso).getTime();
  if (Number.isNaN(at)) return iso;
  const seconds = Math.round((now - at) / 1000);
  if (seconds < 2) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return formatDateTime(iso);
}
