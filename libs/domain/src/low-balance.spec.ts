import { describe, expect, it } from 'vitest';
import { isBalanceShort, judgeLowBalance } from './low-balance';

// Amounts in units (1 unit = the smallest money step); times in epoch ms.
const MONDAY = 1_000;
const TUESDAY = 2_000;

describe('is the balance short?', () => {
  it('short when below the next charges or below zero; covering them exactly is enough', () => {
    expect(isBalanceShort(99n, 100n)).toBe(true);
    expect(isBalanceShort(100n, 100n)).toBe(false);
    expect(isBalanceShort(101n, 100n)).toBe(false);
    // Nothing billed (0 required) but overdrawn: still short.
    expect(isBalanceShort(-1n, 0n)).toBe(true);
    expect(isBalanceShort(0n, 0n)).toBe(false);
  });
});

describe('judging a buyer', () => {
  it('newly short: low from now, warned once; not below zero, so no grace period runs', () => {
    // 50 < 100 required, ≥ 0
    expect(judgeLowBalance(50n, 100n, undefined, MONDAY)).toEqual({
      short: true,
      standing: { lowSince: MONDAY, overdrawnSince: null, heldAt: null },
      warn: true,
      restored: false,
    });
  });

  it('still short a day later: dates kept, not warned again; going below zero starts the grace period', () => {
    const low = { lowSince: MONDAY, overdrawnSince: null, heldAt: null };
    expect(judgeLowBalance(40n, 100n, low, TUESDAY)).toEqual({ short: true, standing: low, warn: false, restored: false });
    // A charge took it to −10: overdrawn since Tuesday, low since Monday still.
    expect(judgeLowBalance(-10n, 100n, low, TUESDAY)).toEqual({
      short: true,
      standing: { lowSince: MONDAY, overdrawnSince: TUESDAY, heldAt: null },
      warn: false,
      restored: false,
    });
  });

  it('overdrawn, then above zero but still short: the grace period stops; a held buyer stays held', () => {
    const held = { lowSince: MONDAY, overdrawnSince: MONDAY, heldAt: TUESDAY };
    // Top-up to 60: ≥ 0 but < 100 required.
    expect(judgeLowBalance(60n, 100n, held, TUESDAY + 1)).toEqual({
      short: true,
      standing: { lowSince: MONDAY, overdrawnSince: null, heldAt: TUESDAY },
      warn: false,
      restored: false,
    });
  });

  it('covered again: standing cleared; a held buyer is told they may run machines again', () => {
    const held = { lowSince: MONDAY, overdrawnSince: MONDAY, heldAt: TUESDAY };
    const clear = { lowSince: null, overdrawnSince: null, heldAt: null };
    expect(judgeLowBalance(100n, 100n, held, TUESDAY + 1)).toEqual({ short: false, standing: clear, warn: false, restored: true });
    // Low but never held: cleared without a "restored" notice.
    expect(judgeLowBalance(150n, 100n, { lowSince: MONDAY, overdrawnSince: null, heldAt: null }, TUESDAY)).toEqual({
      short: false,
      standing: clear,
      warn: false,
      restored: false,
    });
    // A buyer with no standing who is covered: nothing to say.
    expect(judgeLowBalance(150n, 100n, undefined, TUESDAY)).toEqual({ short: false, standing: clear, warn: false, restored: false });
  });
});
