// Pure formatting helpers. Money arrives from the API as exact decimal strings: it is rounded
// for reading here with decimal (string) arithmetic, never floats, and pages show the exact text
// on hover (the Money component's title).

const DECIMAL = /^([-+]?)(\d*)(?:\.(\d*))?$/;

/**
 * An exact decimal as people read it: `significant` significant digits (at least `minDecimals`
 * decimals, trailing zeros beyond them dropped), rounded half away from zero. Digits left of the
 * point are never dropped. Text that is not a plain decimal is returned as it is.
 * "0.0000063333333333333333" → "0.000006333"; "996.997983999" with 2 decimals → "997.00".
 */
export function roundDecimal(text: string, significant = 4, minDecimals = 0): string {
  const match = DECIMAL.exec(text.trim());
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) return text;
  const sign = match[1] === '-' ? '-' : '';
  const whole = match[2].replace(/^0+(?=\d)/, '') || '0';
  const fraction = match[3] ?? '';
  let decimals: number;
  if (whole !== '0') {
    decimals = Math.max(0, significant - whole.length);
  } else {
    const zeros = /^0*/.exec(fraction)![0].length;
    decimals = zeros === fraction.length ? 0 : zeros + significant;
  }
  decimals = Math.max(decimals, minDecimals);
  const digits = BigInt(whole + fraction.padEnd(decimals + 1, '0').slice(0, decimals + 1));
  // digits has one decimal too many: round it away (half up on the magnitude).
  const rounded = (digits + 5n) / 10n;
  let out = rounded.toString().padStart(decimals + 1, '0');
  out = decimals > 0 ? `${out.slice(0, -decimals)}.${out.slice(-decimals)}` : out;
  if (decimals > minDecimals) {
    out = out.replace(/0+$/, '');
    const point = out.indexOf('.');
    if (point >= 0 && out.length - point - 1 < minDecimals) out = out.padEnd(point + 1 + minDecimals, '0');
    out = out.replace(/\.$/, '');
  }
  return /^[0.]*$/.test(out) ? out : `${sign}${out}`;
}

/** Significant digits of a price per period: enough to compare two hosts' offers. */
const PRICE_DIGITS = 6;

/** "3 / 30 days", "2.448 / 3600 seconds", "1 / 1 day" (report fig. 11); long prices rounded. */
export function formatPeriodPrice(price: string | null | undefined, amount: number | null | undefined, unit: 'day' | 'second'): string {
  if (price == null || amount == null) return '—';
  return `${roundDecimal(price, PRICE_DIGITS)} / ${amount} ${plural(amount, unit)}`;
}

/** "3 / month", "0.064386 / hour": what a buyer asked to pay (report fig. 9); long prices rounded. */
export function formatAskedPrice(price: string | null | undefined, per: 'month' | 'hour'): string {
  if (price == null || price === '') return '—';
  return `${roundDecimal(price, PRICE_DIGITS)} / ${per}`;
}

/** "$997.00", "$0.05", "$0.000006333": a dollar amount for reading (cents, or 4 significant digits below a dollar). */
export function formatMoney(amount: string | null | undefined): string {
  if (amount == null || amount === '') return '—';
  const rounded = roundDecimal(amount, 4, 2);
  return rounded.startsWith('-') ? `-$${rounded.slice(1)}` : `$${rounded}`;
}

/** "$996.997983999": a dollar amount exactly as the API wrote it (the hover text of formatMoney). */
export function exactMoney(amount: string | null | undefined): string {
  if (amount == null || amount === '') return '—';
  return amount.startsWith('-') ? `-$${amount.slice(1)}` : `$${amount}`;
}

/**
 * "29 days 23 hours", "59 minutes 26 seconds", "1 minute": a duration in its two largest units,
 * rounded up to the second (a countdown never says 0 while time is left).
 */
export function formatDuration(ms: number): string {
  let seconds = Math.ceil(Math.max(0, ms) / 1000);
  const parts: [number, string][] = [];
  for (const [size, unit] of [
    [86_400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ] as const) {
    const count = Math.floor(seconds / size);
    seconds -= count * size;
    parts.push([count, unit]);
  }
  const first = parts.findIndex(([count]) => count > 0);
  if (first < 0) return '0 seconds';
  return parts
    .slice(first, first + 2)
    .filter(([count]) => count > 0)
    .map(([count, unit]) => `${count} ${plural(count, unit)}`)
    .join(' ');
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
