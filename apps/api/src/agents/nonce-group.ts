/** Nonces per transaction at most (one JSON parameter; a replay refused names its own message). */
export const MAX_NONCES_PER_GROUP = 1000;

/** One signed message's nonce, as the group writes it. */
export interface NonceRow {
  agentId: string;
  nonce: string;
  at: number;
}

interface Waiting {
  row: NonceRow;
  settle: (recorded: boolean) => void;
  fail: (error: unknown) => void;
}

/** A nonce's identity: `agentId` NUL `nonce`. */
export const nonceKey = (row: Pick<NonceRow, 'agentId' | 'nonce'>) => `${row.agentId}\u0000${row.nonce}`;

/**
 * Group commit of nonces (docs/ARCHITECTURE.md §12). SQLite's one connection takes transactions
 * one at a time, each several trips to sqlite3's thread; with one transaction per steady heartbeat
 * that queue, not the CPU, capped what a replica holds. Here the first nonce is written at once, and
 * those that arrive while a write is in flight go together in the next one: one transaction for
 * many heartbeats when they are many, no added wait when they are few.
 *
 * `write` inserts the rows it is given, skipping those already present, and returns the keys it
 * inserted (`agentId` NUL `nonce`); a message whose nonce was not inserted was seen before. Of two
 * equal nonces in one group only the first is new. A failed write fails every message of its group
 * (each is refused or retried by its sender; nothing is half-recorded: it was one transaction).
 */
export class NonceGroup {
  private waiting: Waiting[] = [];
  private writing = false;

  constructor(private readonly write: (rows: NonceRow[]) => Promise<ReadonlySet<string>>) {}

  /** Records `row`; true when new, false when that agent sent that nonce before (a replay). */
  add(row: NonceRow): Promise<boolean> {
    return new Promise<boolean>((settle, fail) => {
      this.waiting.push({ row, settle, fail });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    while (this.waiting.length > 0) {
      const group = this.waiting.splice(0, MAX_NONCES_PER_GROUP);
      try {
        const inserted = await this.write(group.map((waiting) => waiting.row));
        const claimed = new Set<string>();
        for (const { row, settle } of group) {
          const key = nonceKey(row);
          settle(inserted.has(key) && !claimed.has(key));
          claimed.add(key);
        }
      } catch (error) {
        for (const { fail } of group) fail(error);
      }
    }
    this.writing = false;
  }
}
