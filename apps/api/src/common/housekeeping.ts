/**
 * When to delete rows that have outlived their window (agent nonces, sign-in failures, idempotency
 * keys). Deleting them is housekeeping, not correctness: every read of those tables already
 * ignores rows outside the window, or cannot be fooled by them. So a process prunes at most once
 * per `everyMs`, instead of adding a DELETE to every heartbeat, sign-in or request.
 */
export class PruneSchedule {
  private last = Number.NEGATIVE_INFINITY;

  constructor(private readonly everyMs: number) {}

  /** true (and the next one not before `now + everyMs`) when a prune is due at `now`. */
  due(now: number): boolean {
    if (now - this.last < this.everyMs) return false;
    this.last = now;
    return true;
  }
}
