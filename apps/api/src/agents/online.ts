import type { HostFacts } from '@virtuoso/contracts';

/** A host is online while its agent's last heartbeat is younger than `offlineAfterMs`. */
export function isOnline(lastHeartbeatAt: string | null | undefined, offlineAfterMs: number, now: number): boolean {
  return !!lastHeartbeatAt && lastHeartbeatAt >= onlineSince(offlineAfterMs, now);
}

/** The oldest heartbeat (ISO text, which sorts in time order) that still counts as online: what SQL compares with. */
export function onlineSince(offlineAfterMs: number, now: number): string {
  return new Date(now - offlineAfterMs).toISOString();
}

/** The facts column (JSON text) back as HostFacts; null when unreadable. */
export function parseFacts(text: string | null | undefined): HostFacts | null {
  if (!text) return null;
  try {
    const facts = JSON.parse(text) as HostFacts;
    return facts && typeof facts === 'object' && typeof facts.bogomips === 'number' ? facts : null;
  } catch {
    return null;
  }
}

/**
 * A steady heartbeat's stamp may reach the database a moment later, with other agents' stamps in
 * one statement (HeartbeatStamps), only while its agent is comfortably online: its stored stamp is
 * younger than half the offline threshold. So a late stamp never shows it offline, and an agent
 * coming back (or new) is stamped at once, for the network sync and the host's online state.
 */
export function mayStampLater(lastHeartbeatAt: string | null | undefined, offlineAfterMs: number, now: number): boolean {
  return isOnline(lastHeartbeatAt, offlineAfterMs / 2, now);
}

/** How late a batched stamp may be written: a tenth of the offline threshold, at most a second. */
export function stampDelayMs(offlineAfterMs: number): number {
  return Math.min(1_000, Math.floor(offlineAfterMs / 10));
}
