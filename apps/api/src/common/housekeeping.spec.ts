import { describe, expect, it } from 'vitest';
import { PruneSchedule } from './housekeeping';

describe('PruneSchedule', () => {
  it('is due at once, then at most once per interval', () => {
    const prune = new PruneSchedule(60_000);
    expect(prune.due(1_000)).toBe(true);
    expect(prune.due(1_001)).toBe(false);
    expect(prune.due(60_999)).toBe(false);
    expect(prune.due(61_000)).toBe(true);
    expect(prune.due(61_000)).toBe(false);
  });
});
