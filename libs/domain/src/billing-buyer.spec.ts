import { describe, expect, it } from 'vitest';
import { type Charge, type MeterTerms, MS_PER_DAY, chargedTo, dueCharges, meterOnStart, meterOnStop, meterOnStored, nextDueAt } from './billing';
import { billBuyer, catchUpToMark } from './billing-buyer';

const S = 1000;
const T0 = Date.UTC(2026, 0, 1);
const terms: MeterTerms = { providerId: 'p', storagePrice: '3', storageAmountDays: 1, runningPrice: '0.5', runningUnitSeconds: 600 };
const stored = (machineId: string, at: number) => meterOnStored({ machineId, buyerId: 'b', at, ...terms }).meter;
const keys = (charges: readonly Charge[]) => charges.map((charge) => charge.key);

describe('a buyer billed up to a mark (docs/ARCHITECTURE.md §12)', () => {
  // Scenario: two machines of one buyer, one stored, one running since T0; passes at T0 + 1 h
  // and T0 + 2 h. The meter rows are never written by the passes: the mark says how far they went.
  const idle = stored('vm-idle', T0);
  const running = meterOnStart(stored('vm-run', T0), T0).meter;

  it('charges what falls due after the mark, as meters advanced pass by pass would have been', () => {
    const first = billBuyer([idle, running], T0, T0 + 3600 * S, 1000);
    expect(first.billedTo).toBe(T0 + 3600 * S);
    // vm-run: slices 1..6 (slice 0 was charged when it started), at every 600 s up to the hour
    expect(keys(first.steps.flatMap((step) => step.charges))).toEqual([1, 2, 3, 4, 5, 6].map((i) => `running:vm-run:${i}`));
    expect(first.nextDueAt).toBe(T0 + 4200 * S);

    // The second pass starts from the same rows and the first pass's mark.
    const second = billBuyer([idle, running], first.billedTo, T0 + 2 * 3600 * S, 1000);
    expect(keys(second.steps.flatMap((step) => step.charges))).toEqual([7, 8, 9, 10, 11, 12].map((i) => `running:vm-run:${i}`));
    const once = dueCharges(running, T0 + 2 * 3600 * S);
    expect(second.steps[0].meter).toEqual(once.meter);
  });

  it('stops short of a meter far behind, at a mark every meter is charged up to, and goes on from there', () => {
    // Two days running on 600-s slices: 288 slices and 2 storage periods are due; 100 at a time.
    const now = T0 + 2 * MS_PER_DAY;
    const all = [idle, running].flatMap((meter) => dueCharges(meter, now).charges);
    const made: Charge[] = [];
    let mark = T0;
    let rounds = 0;
    while (mark < now) {
      const bill = billBuyer([idle, running], mark, now, 100);
      for (const step of bill.steps) expect(step.charges.length).toBeLessThan(100);
      for (const charge of bill.steps.flatMap((step) => step.charges)) {
        expect(charge.dueAt).toBeGreaterThan(mark);
        expect(charge.dueAt).toBeLessThanOrEqual(bill.billedTo);
        made.push(charge);
      }
      expect(bill.billedTo).toBeGreaterThan(mark);
      mark = bill.billedTo;
      rounds += 1;
    }
    expect(rounds).toBeGreaterThan(2);
    expect(new Set(keys(made))).toEqual(new Set(keys(all)));
    expect(made).toHaveLength(all.length);
  });

  it('never moves the mark back (a pass at an instant before it charges nothing)', () => {
    const bill = billBuyer([idle, running], T0 + 3600 * S, T0 + 60 * S, 1000);
    expect(bill.steps).toEqual([]);
    expect(bill.billedTo).toBe(T0 + 3600 * S);
    // slice 6 fell due exactly at the mark: it was charged, slice 7 is next
    expect(bill.nextDueAt).toBe(T0 + 4200 * S);
    expect(nextDueAt(chargedTo(running, T0 + 3600 * S))).toBe(T0 + 4200 * S);
  });

  it('has nothing due and no next charge with no meters', () => {
    expect(billBuyer([], T0, T0 + MS_PER_DAY, 1000)).toEqual({ steps: [], billedTo: T0 + MS_PER_DAY, nextDueAt: null });
  });

  it('charges with a late event what it makes due up to the mark', () => {
    // The pass billed the buyer up to T0 + 1 h; a start that happened at T0 + 30 min is reported
    // afterwards. Its slices at 30, 40 and 50 min and at the hour fall at or before the mark.
    const mark = T0 + 3600 * S;
    const reckoned = chargedTo(idle, mark);
    const started = catchUpToMark(meterOnStart(reckoned, T0 + 1800 * S), mark);
    expect(keys(started.charges)).toEqual(['running:vm-idle:0', 'running:vm-idle:1', 'running:vm-idle:2', 'running:vm-idle:3']);
    expect(nextDueAt(started.meter)).toBe(mark + 600 * S);
    // The pass after it finds the buyer's meters all charged up to the mark.
    const bill = billBuyer([started.meter], mark, mark + 600 * S, 1000);
    expect(keys(bill.steps.flatMap((step) => step.charges))).toEqual(['running:vm-idle:4']);
    // An event at or after the mark changes nothing more.
    const stopped = meterOnStop(started.meter, mark + 60 * S);
    expect(catchUpToMark(stopped, mark)).toBe(stopped);
  });
});
