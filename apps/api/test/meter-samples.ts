import { type MachineMeter, type MeterTerms, dueCharges, meterOnRemoved, meterOnStart, meterOnStop, meterOnStored } from '@virtuoso/domain';
import fc from 'fast-check';

/** Random meter rows for the tests of billing's SQL against libs/domain (meter-next-due, due-charges). */
export const T0 = Date.UTC(2026, 0, 1);
export const S = 1000;
export const DAY = 86_400_000;

export const terms = fc.record<MeterTerms>({
  providerId: fc.constant('p'),
  storagePrice: fc.constantFrom('0', '3', '0.000000001'),
  storageAmountDays: fc.integer({ min: 1, max: 3 }),
  runningPrice: fc.constantFrom('0', '0.5'),
  runningUnitSeconds: fc.constantFrom(1, 7, 60, 600, 3600),
});

/** A meter as events and passes leave it. */
export const lived = fc
  .record({
    terms,
    storedAt: fc.integer({ min: 0, max: 10 * DAY }),
    startAfter: fc.option(fc.integer({ min: 0, max: 2 * DAY })),
    stopAfter: fc.option(fc.integer({ min: 0, max: 2 * DAY })),
    passAfter: fc.option(fc.integer({ min: 0, max: 3 * DAY })),
    limit: fc.option(fc.integer({ min: 1, max: 5 })),
    removeAfter: fc.option(fc.integer({ min: 0, max: 4 * DAY }), { freq: 5 }),
  })
  .map(({ terms, storedAt, startAfter, stopAfter, passAfter, limit, removeAfter }) => {
    const at = T0 + storedAt;
    let meter = meterOnStored({ machineId: 'x', buyerId: 'x', at, ...terms }).meter;
    if (startAfter !== null) meter = meterOnStart(meter, at + startAfter).meter;
    if (startAfter !== null && stopAfter !== null) meter = meterOnStop(meter, at + startAfter + stopAfter).meter;
    // An old pass cut short by its limit leaves a charge due at asOf itself.
    if (passAfter !== null) meter = dueCharges(meter, meter.asOf + passAfter, limit === null ? {} : { limit }).meter;
    if (removeAfter !== null) meter = meterOnRemoved(meter, meter.asOf + removeAfter).meter;
    return meter;
  });

/** A meter with any counts a row could hold. */
export const raw = fc
  .record({
    terms,
    storedAt: fc.integer({ min: 0, max: 10 * DAY }),
    periods: fc.integer({ min: 0, max: 4 }),
    slices: fc.integer({ min: 0, max: 50 }),
    prepaidPermille: fc.integer({ min: 0, max: 1000 }),
    asOfAfter: fc.integer({ min: 0, max: 5 * DAY }),
    running: fc.boolean(),
  })
  .map(({ terms, storedAt, periods, slices, prepaidPermille, asOfAfter, running }): MachineMeter => ({
    machineId: 'x',
    buyerId: 'x',
    ...terms,
    storedAt: T0 + storedAt,
    storagePeriodsCharged: periods,
    slicesCharged: slices,
    prepaidMsLeft: Math.floor((terms.runningUnitSeconds * S * prepaidPermille) / 1000),
    runningSince: running ? T0 + storedAt + asOfAfter : null,
    asOf: T0 + storedAt + asOfAfter,
    removedAt: null,
  }));
