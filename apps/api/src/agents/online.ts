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
