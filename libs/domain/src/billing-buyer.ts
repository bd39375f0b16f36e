import { type MachineMeter, type MeterStep, chargedTo, dueCharges, nextDueAt } from './billing';

/**
 * The billing pass charges buyer by buyer up to a mark each buyer keeps (docs/ARCHITECTURE.md §12):
 * every charge due at or before a buyer's `billedTo` has been made for each of their meters, as
 * chargedTo reckons the meter row from its asOf. A meter row is written only when an event
 * changes it (store, start, stop, arrival, removal); a pass writes the buyer's mark, not the
 * meters — one row per buyer instead of one per machine.
 */

export interface BuyerBill {
  /** One step per meter that has charges (charges in dueAt order, the meter reckoned after them). */
  steps: MeterStep[];
  /** The buyer's new mark: `now`, or earlier when a meter had more than `limit` charges due. */
  billedTo: number;
  /** The earliest instant a charge of any of these meters falls due after the new mark; null when none will. */
  nextDueAt: number | null;
}

/**
 * Charges a buyer's meters from their mark `billedTo` up to `now`. A meter with `limit` charges
 * due or more (a long outage, short slices) pulls the buyer's new mark back to just before its
 * last one kept, and every meter is charged up to that mark only: the mark always means "all
 * charged up to here" for every meter, and the next batch goes on from it. Each meter still moves
 * at least one charge on (at most two charges of one meter share an instant). The mark never moves back.
 */
export function billBuyer(meters: readonly MachineMeter[], billedTo: number, now: number, limit: number): BuyerBill {
  if (!(limit >= 3)) throw new RangeError(`limit must be at least 3, got ${limit}`);
  const options = { limit };
  const from = meters.map((meter) => chargedTo(meter, billedTo));
  let steps = from.map((meter) => dueCharges(meter, now, options));
  let mark = now;
  for (const step of steps) {
    if (step.charges.length >= limit) mark = Math.min(mark, step.charges[step.charges.length - 1].dueAt - 1);
  }
  if (mark < now) steps = from.map((meter) => dueCharges(meter, mark));
  let next: number | null = null;
  for (const step of steps) {
    const due = nextDueAt(step.meter);
    if (due !== null && (next === null || due < next)) next = due;
  }
  return { steps: steps.filter((step) => step.charges.length > 0), billedTo: Math.max(billedTo, mark), nextDueAt: next };
}

/**
 * After an event changed a meter: the meter reckoned up to its buyer's mark. An event is dated
 * when it happened, which may be before the mark (a report that came late): what the changed meter
 * makes due between then and the mark is charged with the event, so the mark stays true.
 */
export function catchUpToMark(step: MeterStep, billedTo: number): MeterStep {
  if (billedTo <= step.meter.asOf) return step;
  const more = dueCharges(step.meter, billedTo);
  return more.charges.length === 0 ? step : { meter: more.meter, charges: [...step.charges, ...more.charges] };
}
