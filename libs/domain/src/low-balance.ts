/**
 * The low-balance judgement (docs/ARCHITECTURE.md §4). A buyer is short when their balance (units) is below
 * the sum of the next charge of every machine billed to them, or below zero. Short, they are
 * warned once; below zero, the grace period runs from the moment it went there; covered again,
 * their standing clears (and a held buyer may run machines again).
 */

/** Whether the balance fails to cover the next charges (or is below zero). */
export function isBalanceShort(balance: bigint, required: bigint): boolean {
  return balance < required || balance < 0n;
}

/** Where a buyer stands (epoch ms, null = not so). */
export interface LowBalanceStanding {
  /** Since when the balance has not covered the next charges. */
  lowSince: number | null;
  /** Since when the balance has been below zero: the grace period runs from here. */
  overdrawnSince: number | null;
  /** When the grace period ran out and the buyer's machines were suspended. */
  heldAt: number | null;
}

export interface LowBalanceJudgement {
  short: boolean;
  standing: LowBalanceStanding;
  /** Newly short: tell the buyer. */
  warn: boolean;
  /** Covered again after being held: tell the buyer they may run machines again. */
  restored: boolean;
}

/**
 * The buyer's standing after a change of balance or of what they owe next, from the standing
 * before (undefined: none recorded) at `now`. Dates already set are kept: a buyer short since
 * Monday is still short since Monday on Tuesday.
 */
export function judgeLowBalance(balance: bigint, required: bigint, was: LowBalanceStanding | undefined, now: number): LowBalanceJudgement {
  const short = isBalanceShort(balance, required);
  const standing: LowBalanceStanding = short
    ? {
        lowSince: was?.lowSince ?? now,
        overdrawnSince: balance < 0n ? (was?.overdrawnSince ?? now) : null,
        heldAt: was?.heldAt ?? null,
      }
    : { lowSince: null, overdrawnSince: null, heldAt: null };
  return { short, standing, warn: short && !was?.lowSince, restored: !short && !!was?.heldAt };
}
