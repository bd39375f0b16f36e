// Pure geometry of the price-history charts: nice axis ticks, time ticks, and the step path of a
// price over time. Prices stay exact text everywhere they are shown; they become numbers here only
// to place a point on the screen.

export interface ChartPoint {
  /** Epoch milliseconds. */
  t: number;
  /** The exact decimal text, as the API sent it. */
  value: string;
}

export interface Scale {
  (value: number): number;
  domain: [number, number];
  range: [number, number];
}

export function linearScale(domain: [number, number], range: [number, number]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0;
  const scale = ((value: number) => (span === 0 ? (r0 + r1) / 2 : r0 + ((value - d0) / span) * (r1 - r0))) as Scale;
  scale.domain = domain;
  scale.range = range;
  return scale;
}

/** 1, 2, 2.5 or 5 times a power of ten: the closest "nice" step at or above `rough`. */
export function niceStep(rough: number): number {
  if (!(rough > 0) || !Number.isFinite(rough)) return 1;
  const power = 10 ** Math.floor(Math.log10(rough));
  // A hair of tolerance: 0.00001 / 4 is 2.5000000000000004e-6 in binary.
  const fraction = rough / power - 1e-9;
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10;
  return nice * power;
}

/**
 * A value axis from 0 (prices are never negative) to a nice top at or above `max`, with about
 * `count` ticks. A flat zero series gets the axis 0..1.
 */
export function valueTicks(max: number, count = 4): { top: number; ticks: number[] } {
  const top0 = max > 0 && Number.isFinite(max) ? max : 1;
  const step = niceStep(top0 / count);
  const top = Math.ceil(top0 / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let i = 0; i * step <= top + step * 1e-9; i++) ticks.push(roundTo(i * step, step));
  return { top, ticks };
}

/** Rounds away binary noise (0.30000000000000004) at the precision of `step`. */
function roundTo(value: number, step: number): number {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 2);
  return Number(value.toFixed(Math.min(20, decimals)));
}

/**
 * A tick label without float noise or exponents: 0.00001 → "0.00001", 2.5e-7 → "0.00000025",
 * 1200 → "1200".
 */
export function tickLabel(value: number): string {
  if (value === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.min(20, Math.max(0, 3 - magnitude));
  const fixed = value.toFixed(decimals);
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const TIME_STEPS = [MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY];

/**
 * Round instants between `from` and `to` (epoch ms) for the time axis, at most about `count`;
 * aligned to the local day for steps of a day or more. Always at least the two ends' labels
 * are possible: when no step fits, the ends are returned.
 */
export function timeTicks(from: number, to: number, count = 5): number[] {
  if (!(to > from)) return [from];
  const span = to - from;
  const step = TIME_STEPS.find((s) => span / s <= count) ?? TIME_STEPS[TIME_STEPS.length - 1];
  const offset = step >= DAY ? new Date(from).getTimezoneOffset() * MINUTE : 0;
  let t = Math.ceil((from - offset) / step) * step + offset;
  const ticks: number[] = [];
  for (; t <= to; t += step) ticks.push(t);
  return ticks.length ? ticks : [from, to];
}

/** "14:30" within two days, else "Nov 25": a time-axis label for the range's span. */
export function timeTickLabel(t: number, span: number): string {
  const date = new Date(t);
  if (span <= 2 * DAY) return date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  return date.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}

/**
 * The SVG path of a price over time drawn as steps (a price holds until the next point), from the
 * first point to `until` (the end of the range): "M x0 y0 H x1 V y1 H x2 … H xEnd".
 */
export function stepPath(points: readonly ChartPoint[], x: (t: number) => number, y: (v: number) => number, until: number): string {
  if (points.length === 0) return '';
  const parts: string[] = [];
  points.forEach((point, i) => {
    const px = fmt(x(point.t));
    const py = fmt(y(Number(point.value)));
    if (i === 0) parts.push(`M ${px} ${py}`);
    else parts.push(`H ${px} V ${py}`);
  });
  const last = points[points.length - 1];
  if (until > last.t) parts.push(`H ${fmt(x(until))}`);
  return parts.join(' ');
}

function fmt(n: number): string {
  return Number.isFinite(n) ? String(Math.round(n * 100) / 100) : '0';
}

/** Index of the point whose instant is nearest to `t` (points sorted by t); -1 when none. */
export function nearestIndex(points: readonly ChartPoint[], t: number): number {
  if (points.length === 0) return -1;
  let lo = 0;
  let hi = points.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid].t < t) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(points[lo - 1].t - t) <= Math.abs(points[lo].t - t)) return lo - 1;
  return lo;
}

/** The index of the point in force at `t` for a step chart: the last one at or before t (or the first). */
export function stepIndexAt(points: readonly ChartPoint[], t: number): number {
  if (points.length === 0) return -1;
  let index = 0;
  for (let i = 0; i < points.length; i++) {
    if (points[i].t <= t) index = i;
    else break;
  }
  return index;
}

/** The largest value as a number, for the axis (0 when there are none). */
export function maxValue(points: readonly ChartPoint[]): number {
  let max = 0;
  for (const point of points) {
    const value = Number(point.value);
    if (Number.isFinite(value) && value > max) max = value;
  }
  return max;
}

export const RANGES = [
  { id: '1h', label: '1 hour', ms: HOUR },
  { id: '1d', label: '24 hours', ms: DAY },
  { id: '7d', label: '7 days', ms: 7 * DAY },
  { id: '30d', label: '30 days', ms: 30 * DAY },
] as const;

export type RangeId = (typeof RANGES)[number]['id'];

/** The query of a price-history range ending now, rounded to the minute so the query key is stable. */
export function rangeQuery(id: RangeId, now: number): { from: string; to: string } {
  const range = RANGES.find((r) => r.id === id) ?? RANGES[0];
  const to = Math.ceil(now / MINUTE) * MINUTE;
  return { from: new Date(to - range.ms).toISOString(), to: new Date(to).toISOString() };
}
