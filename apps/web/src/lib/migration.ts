// Pure rules of the migration pages (report §5.1.5, fig. 20 and 21, §7): what a buyer reads about a
// migration — its progress (the report's "migrationstatus" placeholder, footnote 14, made real),
// its phase in words, its outcome, the methods a host offers and the terms of arriving there.
// Money stays the API's exact decimal strings (formatPeriodPrice / formatAskedPrice round for reading).
import type { Migration, MigrationLogLine, MigrationOffer, StartMigration } from './api';
import { formatAskedPrice, formatBytes, formatDuration, formatPeriodPrice } from './format';

export type MigrationPhase = Migration['phase'];
export type MigrationMethod = StartMigration['method'];

/** Phases in which the migration is still under way (the machine page polls every second). */
export const ACTIVE_MIGRATION_PHASES: readonly MigrationPhase[] = ['preparing', 'transferring', 'committing'];

/** How often the machine page asks for the progress while a migration is under way. */
export const MIGRATION_POLL_MS = 1000;

export function isActiveMigration(phase: MigrationPhase | string | null | undefined): boolean {
  return phase != null && (ACTIVE_MIGRATION_PHASES as readonly string[]).includes(phase);
}

/** What each method the agents offer means to a buyer (report §7.2.5): the choice's label. */
export const METHOD_DESCRIPTIONS: Partial<Record<MigrationMethod, string>> = {
  SCP: 'full copy',
  RSYNC: 'only what changed; fast when that host held this machine before',
};

/** "RSYNC — only what changed; …"; a method the SPA does not know yet is shown by its name. */
export function methodLabel(method: MigrationMethod | string): string {
  const description = METHOD_DESCRIPTIONS[method as MigrationMethod];
  return description ? `${method} — ${description}` : method;
}

/** The choice of a host and a method, as one radio value ("<hostId> <method>"). */
export function choiceValue(hostId: string, method: string): string {
  return `${hostId} ${method}`;
}

/** The host and method of a radio value, or null for anything else. */
export function parseChoice(value: string | null | undefined): StartMigration | null {
  const match = /^(\S+) (\S+)$/.exec(value ?? '');
  return match ? { hostId: match[1], method: match[2] as MigrationMethod } : null;
}

/**
 * The choice the page starts with: the first answering host's RSYNC if it offers it, else its first
 * method; null when no host answered (nothing can be chosen).
 */
export function defaultChoice(offers: readonly Pick<MigrationOffer, 'hostId' | 'methods'>[]): string | null {
  const first = offers.find((offer) => offer.methods.length > 0);
  if (!first) return null;
  return choiceValue(first.hostId, first.methods.includes('RSYNC') ? 'RSYNC' : first.methods[0]);
}

/**
 * Percent copied, a whole number 0–100 (rounded down: 100 only once every byte is there), or null
 * while the size is not known (the origin has not exported yet). A committed migration is 100.
 */
export function migrationPercent(m: Pick<Migration, 'phase' | 'bytesDone' | 'bytesTotal'>): number | null {
  if (m.phase === 'committed') return 100;
  if (!(m.bytesTotal > 0)) return null;
  const percent = Math.floor((Math.max(0, m.bytesDone) * 100) / m.bytesTotal);
  return Math.min(100, Math.max(0, percent));
}

/** "5.00 MB/s", or null while no rate was measured yet. */
export function formatRate(bytesPerSecond: number | null | undefined): string | null {
  if (bytesPerSecond == null || !Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return null;
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/**
 * Seconds left: the API's figure when it gave one, else what is left at the current rate (rounded
 * up); null when neither the size nor a rate is known.
 */
export function migrationSecondsLeft(m: Pick<Migration, 'bytesDone' | 'bytesTotal' | 'bytesPerSecond' | 'secondsLeft'>): number | null {
  if (m.secondsLeft != null && Number.isFinite(m.secondsLeft)) return Math.max(0, m.secondsLeft);
  if (!(m.bytesTotal > 0) || !(m.bytesPerSecond > 0)) return null;
  return Math.ceil(Math.max(0, m.bytesTotal - m.bytesDone) / m.bytesPerSecond);
}

/** "about 12 seconds left", "1 minute 5 seconds left", "almost done", or "estimating…" while unknown. */
export function formatTimeLeft(seconds: number | null): string {
  if (seconds == null) return 'estimating time left…';
  if (seconds <= 0) return 'almost done';
  return `about ${formatDuration(seconds * 1000)} left`;
}

/** "12.0 MB of 64.0 MB", or what is known while the size is not. */
export function formatBytesProgress(m: Pick<Migration, 'bytesDone' | 'bytesTotal'>): string {
  if (!(m.bytesTotal > 0)) return m.bytesDone > 0 ? `${formatBytes(m.bytesDone)} copied` : 'size not known yet';
  return `${formatBytes(m.bytesDone)} of ${formatBytes(m.bytesTotal)}`;
}

/** The phase in a buyer's words, naming the hosts. */
export function phaseWords(m: Pick<Migration, 'phase' | 'fromHostName' | 'toHostName' | 'method'>): string {
  switch (m.phase) {
    case 'preparing':
      return `Preparing: room reserved on ${m.toHostName}, ${m.fromHostName} is getting the machine ready to leave`;
    case 'transferring':
      return `Copying from ${m.fromHostName} to ${m.toHostName} by ${m.method}`;
    case 'committing':
      return `Copied and verified at ${m.toHostName}; making the move final`;
    case 'committed':
      return `Arrived at ${m.toHostName}`;
    case 'rolled-back':
      return `Rolled back: stayed on ${m.fromHostName}`;
    default:
      return String(m.phase);
  }
}

/**
 * What the machine page says once a migration ended: where the machine arrived and at which
 * version, or why it rolled back and where it is. null while it is under way.
 */
export function outcomeSentence(
  m: Pick<Migration, 'phase' | 'fromHostName' | 'toHostName' | 'fromVersion' | 'toVersion' | 'previousState' | 'error'>,
): string | null {
  if (m.phase === 'committed') {
    const version = m.toVersion ?? m.fromVersion + 1;
    return `The machine arrived at ${m.toHostName} at version ${version}, ${m.previousState} as it left ${m.fromHostName}.`;
  }
  if (m.phase === 'rolled-back') {
    const why = m.error?.trim() ? m.error.trim().replace(/\.$/, '') : 'no reason was recorded';
    return `The migration to ${m.toHostName} rolled back: ${why}. The machine stayed on ${m.fromHostName} at version ${m.fromVersion}, ${m.previousState}.`;
  }
  return null;
}

/** The outcome in a few words, for the list of past migrations. */
export function outcomeLabel(m: Pick<Migration, 'phase' | 'toVersion' | 'fromVersion'>): string {
  if (m.phase === 'committed') return `Arrived, version ${m.toVersion ?? m.fromVersion + 1}`;
  if (m.phase === 'rolled-back') return 'Rolled back';
  return 'In progress';
}

/** How long a migration took from the request to its end (ms), or null while it is under way. */
export function migrationDurationMs(m: Pick<Migration, 'startedAt' | 'finishedAt'>): number | null {
  if (!m.finishedAt) return null;
  const ms = Date.parse(m.finishedAt) - Date.parse(m.startedAt);
  return Number.isFinite(ms) ? Math.max(0, ms) : null;
}

/** "3 seconds", or "—" while unknown. */
export function formatMigrationDuration(ms: number | null): string {
  return ms == null ? '—' : formatDuration(ms);
}

/**
 * One line of the migration log as the page shows it: the time (UTC, to the millisecond, as the
 * agents and the API log) and the message in the report's text form (`<VMMP 1.0 …>`).
 */
export function formatLogLine(line: MigrationLogLine): string {
  const at = new Date(line.at);
  const time = Number.isNaN(at.getTime()) ? line.at : at.toISOString().slice(11, 23);
  return `${time} ${line.text}`;
}

/**
 * The terms of moving to a host, for the confirmation (report §5.1.6; README "Migration"): its
 * prices, storage charged anew on arrival for a new period at that host's price, the unused part
 * of the current storage period not refunded, and no running slice to move (a machine migrates
 * only when it is not running).
 */
export function arrivalTerms(
  offer: Pick<
    MigrationOffer,
    'hostName' | 'storagePrice' | 'storageAmount' | 'runningPrice' | 'runningUnitAmount' | 'storagePerMonth' | 'runningPerHour' | 'withinAsked'
  >,
  origin: { hostName: string | null; state: string },
): string[] {
  const from = origin.hostName ?? 'its current host';
  const terms = [
    `Storage at ${offer.hostName}: ${formatPeriodPrice(offer.storagePrice, offer.storageAmount, 'day')} (${formatAskedPrice(offer.storagePerMonth, 'month')}), charged anew when the machine arrives, for a new period of ${offer.storageAmount} ${offer.storageAmount === 1 ? 'day' : 'days'} at ${offer.hostName}'s price.`,
    `Running at ${offer.hostName}: ${formatPeriodPrice(offer.runningPrice, offer.runningUnitAmount, 'second')} (${formatAskedPrice(offer.runningPerHour, 'hour')}), charged by the slice when you start it there.`,
    `The unused part of the storage period already paid at ${from} is not refunded.`,
    `The machine is ${origin.state}, not running, so no running slice moves with it.`,
  ];
  if (!offer.withinAsked) terms.push(`${offer.hostName} asks more than the prices you asked for this machine.`);
  return terms;
}
