import { addMoney, money, roundMoney, subMoney } from './money/money';
import { Ratio } from './money/ratio';
import type { Quote } from './pricing';

/**
 * Billing rules (report §5.1.6, §6.1.9; docs/ARCHITECTURE.md §4), as pure functions over a per-machine
 * meter. Times are integer milliseconds since the epoch; money is decimal text (money.ts).
 *
 * - Storage is charged at the BEGINNING of each period of `storageAmountDays` days: period 0 at
 *   the instant the machine is stored on a host (again on arrival after a migration, with the new
 *   host's prices), period k at storedAt + k periods, for as long as the machine stays stored,
 *   running or not, until it is removed.
 * - Running is charged as prepaid slices of `runningUnitSeconds` seconds, each at its beginning:
 *   a start with no prepaid time left charges a slice at once; prepaid time is consumed only while
 *   running; a stop (or suspend, or guest power-off) pauses it with no rounding; when it runs out
 *   while running, the next slice is charged at that exact instant. Prepaid time survives a
 *   migration (it was paid; the next slice is charged at the new host's price).
 * - One convention for ties: a charge due at instant t is made BEFORE an event at t applies; the
 *   event may then make charges of its own at t (a start, a store, an arrival). So a stop at the
 *   exact instant a slice runs out prepays the next slice (kept, not lost), and a removal at the
 *   exact start of a storage period pays that period. With this rule a daemon pass at any instant
 *   changes nothing but when charges are found: never which, nor their amounts, dueAt or keys.
 *
 * Each charge has a key that depends only on the timeline, never on when passes ran:
 * `fee:<machineId>`, `storage:<machineId>:<storedAtMs>:<periodIndex>`,
 * `running:<machineId>:<sliceIndex>` (slices ever charged to the machine, from 0).
 */

export const MS_PER_SECOND = 1000;
export const MS_PER_DAY = 86_400_000;
/** The report's registration fee for a configuration (report §5.1.6). */
export const REGISTRATION_FEE = '0.05';
/** The marketplace's own ledger account: it receives registration fees. */
export const MARKET_ACCOUNT = 'market';
/** Where money comes from and goes to outside the marketplace: top-ups and refunds. */
export const OUTSIDE_ACCOUNT = 'outside';

export type ChargeKind = 'storage' | 'running' | 'fee';

export interface Charge {
  /** Unique forever; a ledger with a unique index on it can never apply a charge twice. */
  key: string;
  kind: ChargeKind;
  machineId: string;
  /** Account debited: the buyer. */
  payer: string;
  /** Account credited: the provider of the host (storage, running) or MARKET_ACCOUNT (fee). */
  payee: string;
  /** Money text (0 or more) at the machine's fixed price. */
  amount: string;
  /** The instant continuous charging would have made it. */
  dueAt: number;
}

/** The prices a machine pays on one host, fixed when it is stored there. */
export interface MeterTerms {
  providerId: string;
  storagePrice: string; // $ per storageAmountDays days
  storageAmountDays: number;
  runningPrice: string; // $ per runningUnitSeconds seconds of running
  runningUnitSeconds: number;
}

/**
 * Everything billing needs to know of one machine; plain JSON, persist it as one row.
 * Invariants: every charge due at or before `asOf` has been made, except (after a pass with a
 * limit) charges due exactly at `asOf`; `prepaidMsLeft` is the prepaid running time left at the
 * instant `asOf`, so while running it runs out at asOf + prepaidMsLeft.
 */
export interface MachineMeter extends MeterTerms {
  machineId: string;
  buyerId: string;
  /** Start of storage period 0 on the current host. */
  storedAt: number;
  /** Storage periods charged since storedAt. */
  storagePeriodsCharged: number;
  /** Running slices ever charged to this machine, on any host: the next slice's index. */
  slicesCharged: number;
  prepaidMsLeft: number;
  /** When the current run began; null when not running (stored, stopped, suspended, removed). */
  runningSince: number | null;
  /** The instant of the last charge or event applied. Events dated earlier are applied at asOf. */
  asOf: number;
  /** Billing stopped here (deleted, or its host removed); nothing is charged after. */
  removedAt: number | null;
}

/** What each meter function returns: the advanced meter and the charges to post with it. */
export interface MeterStep {
  meter: MachineMeter;
  charges: Charge[];
}

export interface DueOptions {
  /** Stop after this many charges (the meter then stands at the last one); default: no limit. */
  limit?: number;
}

export const feeKey = (machineId: string): string => `fee:${machineId}`;
export const storageKey = (machineId: string, storedAt: number, periodIndex: number): string => `storage:${machineId}:${storedAt}:${periodIndex}`;
export const runningKey = (machineId: string, sliceIndex: number): string => `running:${machineId}:${sliceIndex}`;

function instant(value: number, field: string): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${field} must be an integer number of milliseconds, got ${value}`);
  return value;
}

function positiveInteger(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${field} must be an integer of at least 1, got ${value}`);
  return value;
}

function price(text: string, field: string): string {
  let canonical: string;
  try {
    canonical = money(text);
  } catch (error) {
    throw new RangeError(`${field}: ${(error as Error).message}`);
  }
  if (canonical.startsWith('-')) throw new RangeError(`${field} must not be negative, got ${text}`);
  return canonical;
}

function id(value: string, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new RangeError(`${field} must be a non-empty string`);
  return value;
}

function validTerms(terms: MeterTerms): MeterTerms {
  return {
    providerId: id(terms.providerId, 'providerId'),
    storagePrice: price(terms.storagePrice, 'storagePrice'),
    storageAmountDays: positiveInteger(terms.storageAmountDays, 'storageAmountDays'),
    runningPrice: price(terms.runningPrice, 'runningPrice'),
    runningUnitSeconds: positiveInteger(terms.runningUnitSeconds, 'runningUnitSeconds'),
  };
}

/** The terms a search result's quote fixes on a machine stored on that provider's host. */
export function termsFromQuote(providerId: string, quote: Quote): MeterTerms {
  return validTerms({
    providerId,
    storagePrice: quote.storagePrice,
    storageAmountDays: quote.storageAmount,
    runningPrice: quote.runningPrice,
    runningUnitSeconds: quote.runningUnitAmount,
  });
}

const storagePeriodMs = (meter: MeterTerms): number => meter.storageAmountDays * MS_PER_DAY;
const sliceMs = (meter: MeterTerms): number => meter.runningUnitSeconds * MS_PER_SECOND;
const nextStorageAt = (meter: MachineMeter): number => meter.storedAt + meter.storagePeriodsCharged * storagePeriodMs(meter);
const prepaidRunsOutAt = (meter: MachineMeter): number | null => (meter.runningSince === null ? null : meter.asOf + meter.prepaidMsLeft);

/** Moves the meter's clock forward to t (t ≥ asOf), consuming prepaid time while running. */
function advance(meter: MachineMeter, t: number): MachineMeter {
  if (t <= meter.asOf) return meter;
  const next = { ...meter };
  moveClock(next, t);
  return next;
}

/** advance, in place: on dueCharges' own working copy of a meter. */
function moveClock(meter: MachineMeter, t: number): void {
  if (t <= meter.asOf) return;
  if (meter.runningSince !== null) meter.prepaidMsLeft -= t - meter.asOf;
  meter.asOf = t;
}

/** The earliest instant a charge falls due; null once billing has stopped. Index it in the DB. */
export function nextDueAt(meter: MachineMeter): number | null {
  if (meter.removedAt !== null) return null;
  const runOut = prepaidRunsOutAt(meter);
  return runOut === null ? nextStorageAt(meter) : Math.min(nextStorageAt(meter), runOut);
}

/**
 * Every charge due at or before `now`, in dueAt order (storage before running on a tie), and the
 * advanced meter. Nothing due: the same meter object comes back, so there is nothing to write.
 * Repeating a pass with the same `now` charges nothing; a `now` earlier than asOf charges nothing.
 */
export function dueCharges(meter: MachineMeter, now: number, options: DueOptions = {}): MeterStep {
  instant(now, 'now');
  const limit = options.limit ?? Infinity;
  if (!(limit >= 1)) throw new RangeError(`limit must be at least 1, got ${limit}`);
  // One working copy of the meter, moved in place (a billing pass runs this for every meter due):
  // not two new meters for every charge.
  const current: MachineMeter = { ...meter };
  const charges: Charge[] = [];
  while (charges.length < limit) {
    const due = nextDueAt(current);
    if (due === null || due > now) break;
    moveClock(current, due);
    if (nextStorageAt(current) === due) {
      charges.push({
        key: storageKey(current.machineId, current.storedAt, current.storagePeriodsCharged),
        kind: 'storage',
        machineId: current.machineId,
        payer: current.buyerId,
        payee: current.providerId,
        amount: current.storagePrice,
        dueAt: due,
      });
      current.storagePeriodsCharged += 1;
    } else {
      charges.push({
        key: runningKey(current.machineId, current.slicesCharged),
        kind: 'running',
        machineId: current.machineId,
        payer: current.buyerId,
        payee: current.providerId,
        amount: current.runningPrice,
        dueAt: due,
      });
      current.slicesCharged += 1;
      current.prepaidMsLeft = sliceMs(current);
    }
  }
  return charges.length === 0 ? { meter, charges } : { meter: current, charges };
}

/**
 * The meter once every charge due at or before `t` has been made: what dueCharges(meter, t)
 * returns as its meter (the same object when nothing is due), worked out in closed form without
 * making the charges. A meter row is written only when an event changes it; the billing pass
 * charges a buyer's meters up to a mark it keeps per buyer, and whoever reads a meter row reckons
 * it at that mark with this (docs/ARCHITECTURE.md §12) — in constant time, however far the mark
 * is past the row's asOf.
 */
export function chargedTo(meter: MachineMeter, t: number): MachineMeter {
  instant(t, 'now');
  if (meter.removedAt !== null) return meter;
  const period = storagePeriodMs(meter);
  const firstStorage = nextStorageAt(meter);
  const periods = firstStorage <= t ? Math.floor((t - firstStorage) / period) + 1 : 0;
  const runOut = prepaidRunsOutAt(meter);
  const slice = sliceMs(meter);
  const slices = runOut !== null && runOut <= t ? Math.floor((t - runOut) / slice) + 1 : 0;
  if (periods === 0 && slices === 0) return meter;
  const lastStorage = periods > 0 ? firstStorage + (periods - 1) * period : -Infinity;
  const lastSlice = slices > 0 ? runOut! + (slices - 1) * slice : -Infinity;
  const last = Math.max(lastStorage, lastSlice);
  let prepaidMsLeft = meter.prepaidMsLeft;
  if (slices > 0) prepaidMsLeft = slice - (last - lastSlice);
  else if (meter.runningSince !== null) prepaidMsLeft -= last - meter.asOf;
  return {
    ...meter,
    storagePeriodsCharged: meter.storagePeriodsCharged + periods,
    slicesCharged: meter.slicesCharged + slices,
    prepaidMsLeft,
    asOf: last,
  };
}

/** Settles everything due up to `at` (raised to asOf: billing never rewrites what it charged). */
function settle(meter: MachineMeter, at: number): MeterStep & { at: number } {
  const t = Math.max(instant(at, 'at'), meter.asOf);
  const step = dueCharges(meter, t);
  return { ...step, at: t };
}

/** After an event has changed the meter at `at`: what the change itself makes due at `at`. */
function andThen(first: MeterStep, meter: MachineMeter, at: number): MeterStep {
  const second = dueCharges(meter, at);
  return { meter: second.meter, charges: [...first.charges, ...second.charges] };
}

/** The machine is stored on a host at `at`: a new meter, and storage period 0 charged at once. */
export function meterOnStored(input: { machineId: string; buyerId: string; at: number } & MeterTerms): MeterStep {
  const at = instant(input.at, 'at');
  const meter: MachineMeter = {
    machineId: id(input.machineId, 'machineId'),
    buyerId: id(input.buyerId, 'buyerId'),
    ...validTerms(input),
    storedAt: at,
    storagePeriodsCharged: 0,
    slicesCharged: 0,
    prepaidMsLeft: 0,
    runningSince: null,
    asOf: at,
    removedAt: null,
  };
  return dueCharges(meter, at);
}

/**
 * The machine arrives on another host at `at` (a migration committed): what was due on the old
 * host is charged at its prices first, then storage starts afresh at the new host's prices.
 * Prepaid running time carries over; a live-migrated machine keeps running.
 */
export function meterOnArrived(meter: MachineMeter, at: number, terms: MeterTerms): MeterStep {
  const settled = settle(meter, at);
  if (settled.meter.removedAt !== null) throw new RangeError(`Machine ${meter.machineId} is no longer billed`);
  if (settled.at <= settled.meter.storedAt) {
    throw new RangeError(`Machine ${meter.machineId} cannot arrive at ${settled.at}: it was stored at ${settled.meter.storedAt}`);
  }
  const moved: MachineMeter = {
    ...advance(settled.meter, settled.at),
    ...validTerms(terms),
    storedAt: settled.at,
    storagePeriodsCharged: 0,
  };
  return andThen(settled, moved, settled.at);
}

/** The machine starts or resumes at `at`; with no prepaid time left a slice is charged at once. */
export function meterOnStart(meter: MachineMeter, at: number): MeterStep {
  const settled = settle(meter, at);
  if (settled.meter.removedAt !== null) throw new RangeError(`Machine ${meter.machineId} is no longer billed`);
  if (settled.meter.runningSince !== null) return settled; // already running: reports may repeat
  const running: MachineMeter = { ...advance(settled.meter, settled.at), runningSince: settled.at };
  return andThen(settled, running, settled.at);
}

/** The machine stops, suspends or powers itself off at `at`: prepaid time pauses, unrounded. */
export function meterOnStop(meter: MachineMeter, at: number): MeterStep {
  const settled = settle(meter, at);
  if (settled.meter.runningSince === null) return settled;
  return { meter: { ...advance(settled.meter, settled.at), runningSince: null }, charges: settled.charges };
}

/** Billing stops at `at` (machine deleted, or its host removed); what was due before is charged. */
export function meterOnRemoved(meter: MachineMeter, at: number): MeterStep {
  const settled = settle(meter, at);
  if (settled.meter.removedAt !== null) return settled;
  return {
    meter: { ...advance(settled.meter, settled.at), runningSince: null, removedAt: settled.at },
    charges: settled.charges,
  };
}

/** The one-off fee for registering a configuration, credited to the marketplace. */
export function registrationFeeCharge(input: { machineId: string; buyerId: string; at: number; amount?: string }): Charge {
  return {
    key: feeKey(id(input.machineId, 'machineId')),
    kind: 'fee',
    machineId: input.machineId,
    payer: id(input.buyerId, 'buyerId'),
    payee: MARKET_ACCOUNT,
    amount: price(input.amount ?? REGISTRATION_FEE, 'amount'),
    dueAt: instant(input.at, 'at'),
  };
}

export interface NextDebit {
  at: number;
  inMs: number;
  amount: string;
}

export interface NextDebits {
  /** null once billing has stopped. */
  storage: NextDebit | null;
  /** null = "Not currently running". */
  running: NextDebit | null;
  /** Prepaid running time left at `now` (paused when not running). */
  prepaidMsLeft: number;
}

/**
 * When the next storage and running debits fall, seen at `now` (the account pages, report figs.
 * 22, 23, 32: "Debit Deadline for Storage 29.99… days", "3566 seconds", "Not currently running").
 * Works on a meter not yet advanced to `now`: it reckons as a pass at `now` would.
 */
export function nextDebits(meter: MachineMeter, now: number): NextDebits {
  const settled = chargedTo(meter, instant(now, 'now'));
  const at = Math.max(now, settled.asOf);
  const current = advance(settled, at);
  const debit = (when: number, amount: string): NextDebit => ({ at: when, inMs: when - now, amount });
  const runOut = prepaidRunsOutAt(current);
  return {
    storage: current.removedAt === null ? debit(nextStorageAt(current), current.storagePrice) : null,
    running: current.removedAt === null && runOut !== null ? debit(runOut, current.runningPrice) : null,
    prepaidMsLeft: current.prepaidMsLeft,
  };
}

export interface CostRates {
  /** $ per day of storage: exact, not rounded. */
  storagePerDay: Ratio;
  /** $ per second of running: exact, not rounded (1e-9 per 3600 s is 2.7…e-13, below 12 digits). */
  runningPerSecond: Ratio;
}

/** One machine's rates at its fixed prices: storagePrice / days and runningPrice / seconds. */
export function meterRates(meter: MeterTerms): CostRates {
  return {
    storagePerDay: Ratio.parse(meter.storagePrice).div(Ratio.of(meter.storageAmountDays)),
    runningPerSecond: Ratio.parse(meter.runningPrice).div(Ratio.of(meter.runningUnitSeconds)),
  };
}

/**
 * What the machines cost right now (fig. 22: "Total Current Cost: $ X per day / $ Y per second
 * (of each running machine)"; fig. 32 for a provider's machines): storage of every machine still
 * billed, plus running of those running. Exact Ratios: round (roundMoney) or format only to show.
 */
export function currentCostRates(meters: readonly MachineMeter[]): CostRates {
  return meters.reduce<CostRates>(
    (total, meter) => {
      if (meter.removedAt !== null) return total;
      const rates = meterRates(meter);
      return {
        storagePerDay: total.storagePerDay.add(rates.storagePerDay),
        runningPerSecond: meter.runningSince === null ? total.runningPerSecond : total.runningPerSecond.add(rates.runningPerSecond),
      };
    },
    { storagePerDay: Ratio.ZERO, runningPerSecond: Ratio.ZERO },
  );
}

// ——— Ledger ———————————————————————————————————————————————————————————————————————————————

export type MovementKind = ChargeKind | 'topUp' | 'refund';

/** One movement of money from one account to another; a charge is one, a top-up another. */
export interface Movement {
  key: string;
  kind: MovementKind;
  payer: string;
  payee: string;
  amount: string;
  at: number;
  machineId?: string;
}

/** One immutable line of the ledger: + credits the account, − debits it. */
export interface LedgerEntry {
  movement: string;
  kind: MovementKind;
  account: string;
  amount: string;
  at: number;
  machineId?: string;
}

export type Balances = Readonly<Record<string, string>>;

export function chargeMovement(charge: Charge): Movement {
  const { key, kind, payer, payee, amount, dueAt, machineId } = charge;
  return { key, kind, payer, payee, amount, at: dueAt, machineId };
}

/** A buyer adds value: money comes in from outside. */
export function topUpMovement(input: { key: string; buyerId: string; amount: string; at: number }): Movement {
  return {
    key: id(input.key, 'key'),
    kind: 'topUp',
    payer: OUTSIDE_ACCOUNT,
    payee: id(input.buyerId, 'buyerId'),
    amount: price(input.amount, 'amount'),
    at: instant(input.at, 'at'),
  };
}

/** The two sides of a movement: they sum to zero. */
export function ledgerEntries(movement: Movement): [LedgerEntry, LedgerEntry] {
  const amount = price(movement.amount, 'amount');
  if (movement.payer === movement.payee) throw new RangeError(`Movement ${movement.key} pays ${movement.payer} to itself`);
  const base = {
    movement: id(movement.key, 'key'),
    kind: movement.kind,
    at: instant(movement.at, 'at'),
    ...(movement.machineId === undefined ? {} : { machineId: movement.machineId }),
  };
  return [
    { ...base, account: movement.payer, amount: subMoney('0', amount) },
    { ...base, account: movement.payee, amount },
  ];
}

/** Applies a movement to balances (absent accounts are at 0): the payer down, the payee up. */
export function postMovement(balances: Balances, movement: Movement): { balances: Record<string, string>; entries: [LedgerEntry, LedgerEntry] } {
  const entries = ledgerEntries(movement);
  const next: Record<string, string> = { ...balances };
  for (const entry of entries) next[entry.account] = addMoney(next[entry.account] ?? '0', entry.amount);
  return { balances: next, entries };
}

/** Debits the buyer and credits the provider (or the market, for a fee) by one charge. */
export function postCharge(balances: Balances, charge: Charge): { balances: Record<string, string>; entries: [LedgerEntry, LedgerEntry] } {
  return postMovement(balances, chargeMovement(charge));
}

export interface LedgerSummary {
  /** Each account's balance derived from the entries. */
  balances: Record<string, string>;
  /** Movements whose entries do not sum to zero. */
  unbalanced: string[];
  /** Movements that do not have exactly two entries (e.g. a charge applied twice). */
  malformed: string[];
  /** Sum of every entry: '0' for a sound ledger. */
  total: string;
}

export function ledgerBalances(entries: readonly LedgerEntry[]): LedgerSummary {
  const balances = new Map<string, Ratio>();
  const movements = new Map<string, { sum: Ratio; count: number }>();
  let total = Ratio.ZERO;
  for (const entry of entries) {
    const amount = Ratio.parse(money(entry.amount));
    balances.set(entry.account, (balances.get(entry.account) ?? Ratio.ZERO).add(amount));
    const movement = movements.get(entry.movement) ?? { sum: Ratio.ZERO, count: 0 };
    movements.set(entry.movement, { sum: movement.sum.add(amount), count: movement.count + 1 });
    total = total.add(amount);
  }
  return {
    balances: Object.fromEntries([...balances].map(([account, value]) => [account, roundMoney(value)])),
    unbalanced: [...movements].filter(([, m]) => !m.sum.isZero()).map(([key]) => key),
    malformed: [...movements].filter(([, m]) => m.count !== 2).map(([key]) => key),
    total: roundMoney(total),
  };
}
