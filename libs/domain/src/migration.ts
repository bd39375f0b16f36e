/**
 * The front-end's rules of a migration between providers (report §7.1.5, §7.1.6, §7.2.1;
 * docs/ARCHITECTURE.md §7): what a progress report means to the buyer, when the destination's
 * silence fails the migration, how a migration left unfinished (a front-end restart, or a replica
 * orchestrating it gone) is settled from what the two agents say, and how the migrate search
 * (fig. 20) orders and flags its hosts.
 * Pure functions: the API's orchestrator applies them.
 */
import { type AskedPrices, type HostPrices, type MachineSize, type Quote, askedRatesAccept } from './pricing';
import { type MarketHost, migrateSearch } from './matching';
import type { VmmpMethod } from './vmmp';

/** A migration's progress as the destination last reported it (HEARTBEAT). */
export interface MigrationProgress {
  bytesDone: number;
  bytesTotal: number;
  bytesPerSecond: number;
}

/** Percent done, 0–100, rounded down (100 only when every byte is there); 0 while the total is unknown. */
export function progressPercent(progress: Pick<MigrationProgress, 'bytesDone' | 'bytesTotal'>): number {
  if (progress.bytesTotal <= 0) return 0;
  const done = Math.min(Math.max(progress.bytesDone, 0), progress.bytesTotal);
  return Math.floor((done * 100) / progress.bytesTotal);
}

/** Seconds left at the current rate, rounded up; null while the total or the rate is unknown. */
export function secondsLeft(progress: MigrationProgress): number | null {
  if (progress.bytesTotal <= 0 || progress.bytesPerSecond <= 0) return null;
  const left = Math.max(progress.bytesTotal - progress.bytesDone, 0);
  return Math.ceil(left / progress.bytesPerSecond);
}

/**
 * A progress report only moves forward: a HEARTBEAT that arrives late (sent before a newer one)
 * must not make the bar jump back. The total is the manifest's and never shrinks below what is done.
 */
export function nextProgress(current: MigrationProgress, reported: MigrationProgress): MigrationProgress {
  const bytesTotal = Math.max(reported.bytesTotal, current.bytesTotal);
  return {
    bytesDone: Math.min(Math.max(current.bytesDone, reported.bytesDone), bytesTotal),
    bytesTotal,
    bytesPerSecond: reported.bytesDone >= current.bytesDone ? reported.bytesPerSecond : current.bytesPerSecond,
  };
}

/**
 * Whether the destination has been silent too long (report §7.2.1: "if the heartbeat is not
 * received within a pre-specified window time, the central server decides that the migration
 * failed"). The window runs from the last HEARTBEAT, or from when the transfer began if none came.
 * Only a transfer under way is watched: before the REQ is accepted the front-end is itself
 * waiting on a command with its own timeout, and once committing the outcome is decided.
 */
export function heartbeatOverdue(
  migration: { phase: string; lastHeartbeatAt: number | null; transferringSince: number | null },
  now: number,
  windowMs: number,
): boolean {
  if (migration.phase !== 'transferring') return false;
  const since = migration.lastHeartbeatAt ?? migration.transferringSince;
  if (since === null) return false;
  return now - since > windowMs;
}

/**
 * Whether the leader settles an unfinished migration from the agents now because it is an orphan
 * (docs/ARCHITECTURE.md §12): the replica that created it, and runs its prepare → export → REQ
 * steps in its own process, is no longer alive (an unknown orchestrator counts as gone). A
 * migration a living replica orchestrates is never settled this way — that replica moves it on.
 * - On taking the lead: any unfinished orphan (what boot did when there was one process).
 * - At each watch pass: a `preparing` orphan — nothing else would ever move it. A `transferring` or
 *   `committing` one is left to its window (heartbeatOverdue, the commit's window): any replica
 *   takes the destination's reports, so it does not need its orchestrator.
 */
export function migrationOrphaned(migration: { phase: string; orchestratorAlive: boolean }, moment: 'taking-the-lead' | 'watch-pass'): boolean {
  if (migration.orchestratorAlive) return false;
  if (moment === 'taking-the-lead') return migration.phase === 'preparing' || migration.phase === 'transferring' || migration.phase === 'committing';
  return migration.phase === 'preparing';
}

/** What an agent answered to migration.status, or null when it could not be asked (offline, no answer). */
export interface AgentMigrationStatus {
  role: 'origin' | 'destination' | 'none';
  phase: 'prepared' | 'exported' | 'pulling' | 'verified' | 'failed' | 'finished' | 'none';
  version?: number;
}

export type RecoveryDecision = { outcome: 'commit'; reason: string } | { outcome: 'rollback'; reason: string };

/**
 * Settles a migration the front-end left unfinished (report §7.1.6: never a terminal state of
 * transition). Commit only when the destination holds a copy it verified at exactly
 * fromVersion + 1 — or has already promoted it (finished as the destination at that version),
 * which happens only after a commit finish. Anything else rolls back, which is always safe: before
 * a commit finish the destination's copy sits in staging, never listed nor startable, and the
 * origin's machine is untouched (report §7.2.1: any failure is a complete failure). One outcome,
 * always: never both, never neither.
 */
export function recoveryDecision(fromVersion: number, destination: AgentMigrationStatus | null, _origin: AgentMigrationStatus | null): RecoveryDecision {
  const expected = fromVersion + 1;
  if (!destination) return { outcome: 'rollback', reason: 'the front-end restarted mid-migration and the destination could not be asked; rolled back' };
  if (destination.role === 'destination' && destination.phase === 'verified') {
    if (destination.version === expected) return { outcome: 'commit', reason: `the destination holds a verified copy at version ${expected}` };
    return {
      outcome: 'rollback',
      reason: `the destination's verified copy is at version ${destination.version ?? '?'}, not ${expected}; rolled back`,
    };
  }
  return {
    outcome: 'rollback',
    reason: `the front-end restarted mid-migration; the destination was ${destination.phase === 'none' ? 'holding no copy' : destination.phase}; rolled back`,
  };
}

/** Whether a RESP SUCCESS may be committed: it must name exactly the version after the one that left (report §7.1.5). */
export function respVersionAccepted(fromVersion: number, respVersion: number): boolean {
  return respVersion === fromVersion + 1;
}

export interface MigrationCandidate<H extends MarketHost> {
  host: H;
  quote: Quote;
  /** Both of the destination's rates are within the machine's asked prices. */
  withinAsked: boolean;
}

/**
 * The migrate search (fig. 20): every other host with room for the machine, not filtered by the
 * asked prices (the figure lists hosts above them), cheapest first as the store search orders
 * them; withinAsked flags those the buyer's asked prices accept.
 */
export function migrationCandidates<H extends MarketHost>(
  hosts: readonly H[],
  size: MachineSize,
  currentHostId: string,
  asked: AskedPrices,
): MigrationCandidate<H>[] {
  return migrateSearch(hosts, size, currentHostId).offers.map(({ host, quote }) => ({
    host,
    quote,
    withinAsked: askedRatesAccept(asked, host.prices as HostPrices, size),
  }));
}

/** Whether the buyer may choose this method at this host: the host's agent answered the QUERY with it. */
export function methodOffered(answered: readonly VmmpMethod[], method: VmmpMethod): boolean {
  return answered.includes(method);
}
