import type { HostFacts } from '@virtuoso/contracts';

/** A host is online while its agent's last heartbeat is younger than `offlineAfterMs`. */
export function isOnline(lastHeartbeatAt: string | null | undefined, offlineAfterMs: number, now: number): boolean {
  if (!lastHeartbeatAt) return false;
  return now - Date.parse(lastHeartbeatAt) <= offlineAfterMs;
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
