import { type MachineMeter, type MeterStep, type MeterTerms, meterOnStored } from './billing';
import { moneyToUnits, unitsToMoney } from './billing-format';

/** Two questions the API asks of a meter besides the rules in billing.ts. */

/**
 * What a buyer's balance must cover for one machine: its next storage debit and, while it runs,
 * its next running debit — the two "debit deadlines" of the account page (report fig. 22) — at
 * the machine's fixed prices; '0' once billing has stopped. Low-balance handling sums it over a
 * buyer's machines. (A running machine's storage period is months away and its slice an hour:
 * counting both keeps the figure steady while the machine starts and stops.)
 */
export function nextDebitsAmount(meter: MachineMeter): string {
  if (meter.removedAt !== null) return '0';
  const units = moneyToUnits(meter.storagePrice) + (meter.runningSince === null ? 0n : moneyToUnits(meter.runningPrice));
  return unitsToMoney(units);
}

/**
 * A machine whose billing stopped (its host was removed, so it went back to `registered`) is
 * stored again at `at`: a fresh storage timeline at the new prices, as meterOnStored, but the
 * running slices it has paid for stay its own. The slice count carries on, so running keys
 * (`running:<machineId>:<index>`) never repeat, and the prepaid time it had left is used first.
 */
export function meterOnRestored(previous: MachineMeter, input: { at: number } & MeterTerms): MeterStep {
  if (previous.removedAt === null) throw new RangeError(`Machine ${previous.machineId} is still billed; it cannot be stored again`);
  if (!(input.at > previous.storedAt) || input.at < previous.removedAt) {
    throw new RangeError(`Machine ${previous.machineId} cannot be stored again at ${input.at}: its billing stopped at ${previous.removedAt}`);
  }
  const fresh = meterOnStored({ machineId: previous.machineId, buyerId: previous.buyerId, ...input });
  return {
    meter: { ...fresh.meter, slicesCharged: previous.slicesCharged, prepaidMsLeft: previous.prepaidMsLeft },
    charges: fresh.charges,
  };
}
