import { describe, expect, it } from 'vitest';
import { unpack } from '../src/billing/meter-rows';

/**
 * The billing pass reads each meter packed into one text (billing/meter-rows.ts PACKED_SELECT:
 * the columns in METER_COLUMNS' order but nextDebits, space-separated, '-' for null).
 * unpack reads the numbers where they stand; whatever it does not read itself (a sign, a fraction,
 * 16 digits or more) is read by splitting: every row comes back as its columns said.
 */
describe('a packed meter row (unpack)', () => {
  const packed = (values: Array<string | number | null>) => values.map((value) => (value === null ? '-' : String(value))).join(' ');
  const meter = {
    machineId: '0b9f6a52-4c7e-4d1a-9a37-2f64c1b0e8d3',
    buyerId: 'buyer-1',
    providerId: 'provider-1',
    storagePrice: '0.000000001',
    storageAmountDays: 30,
    runningPrice: '12.5',
    runningUnitSeconds: 3600,
    storedAt: 1_764_072_000_000,
    storagePeriodsCharged: 2,
    slicesCharged: 17,
    prepaidMsLeft: 1_200_000,
    runningSince: 1_766_000_000_000 as number | null,
    asOf: 1_766_000_123_456,
    removedAt: null as number | null,
  };
  const row = (m: typeof meter, hostId: string | null, revision: number | string) =>
    packed([
      m.machineId,
      m.buyerId,
      m.providerId,
      hostId,
      m.storagePrice,
      m.storageAmountDays,
      m.runningPrice,
      m.runningUnitSeconds,
      m.storedAt,
      m.storagePeriodsCharged,
      m.slicesCharged,
      m.prepaidMsLeft,
      m.runningSince,
      m.asOf,
      m.removedAt,
      revision,
    ]);

  it('reads every column, nulls included', () => {
    expect(unpack(row(meter, 'host-1', 41))).toEqual({ meter, hostId: 'host-1', revision: 41 });
    const stopped = { ...meter, runningSince: null, removedAt: 1_767_000_000_000, prepaidMsLeft: 0 };
    expect(unpack(row(stopped, null, 0))).toEqual({ meter: stopped, hostId: null, revision: 0 });
  });

  it('reads numbers it does not parse itself (negative, 16 digits) as the text says', () => {
    const odd = { ...meter, prepaidMsLeft: -5, asOf: 1_234_567_890_123_456 };
    expect(unpack(row(odd, 'host-1', 3))).toEqual({ meter: odd, hostId: 'host-1', revision: 3 });
  });
});
