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

/**
 * vCPUs for a machine of `speed` bogomips: as many of the host's CPUs as the speed needs (bogomips
 * per CPU = facts.bogomips / facts.cpus), at least 1 and at most the host's CPU count. Unknown facts: 1.
 */
export function vcpusFor(speed: number, facts: HostFacts | null): number {
  if (!facts || facts.cpus < 1 || facts.bogomips < 1) return 1;
  const perCpu = facts.bogomips / facts.cpus;
  return Math.max(1, Math.min(facts.cpus, Math.ceil(speed / perCpu)));
}
