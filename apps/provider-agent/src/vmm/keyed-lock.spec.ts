import { describe, expect, it } from 'vitest';
import { KeyedLock } from './keyed-lock';

/** A promise settled from outside, to hold a section open while the test looks. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('KeyedLock', () => {
  it('runs the sections of one key one at a time, in call order', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const g = gate();
    const a = lock.run('m1', async () => {
      log.push('a in');
      await g.opened;
      log.push('a out');
    });
    const b = lock.run('m1', async () => void log.push('b'));
    const c = lock.run('m1', async () => void log.push('c'));
    await tick();
    expect(log).toEqual(['a in']);
    expect(lock.isLocked('m1')).toBe(true);
    g.open();
    await Promise.all([a, b, c]);
    expect(log).toEqual(['a in', 'a out', 'b', 'c']);
    expect(lock.isLocked('m1')).toBe(false);
  });

  it('never makes one key wait for another', async () => {
    const lock = new KeyedLock();
    const g = gate();
    const held = lock.run('m1', () => g.opened);
    const other = await lock.run('m2', async () => 'm2 ran');
    expect(other).toBe('m2 ran');
    expect(lock.isLocked('m1')).toBe(true);
    expect(lock.isLocked('m2')).toBe(false);
    g.open();
    await held;
  });

  it('releases the key when a section throws, and the next one runs', async () => {
    const lock = new KeyedLock();
    const failed = lock.run('m1', async () => {
      throw new Error('boom');
    });
    const next = lock.run('m1', async () => 'next ran');
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('next ran');
    expect(lock.isLocked('m1')).toBe(false);
  });

  it('lets the holder take its key again (nested sections) while others still wait', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const g = gate();
    const outer = lock.run('m1', async () => {
      expect(lock.heldByCaller('m1')).toBe(true);
      await g.opened;
      await lock.run('m1', async () => void log.push('inner'));
      log.push('outer');
    });
    const waiting = lock.run('m1', async () => void log.push('other'));
    await tick();
    expect(lock.heldByCaller('m1')).toBe(false);
    g.open();
    await Promise.all([outer, waiting]);
    expect(log).toEqual(['inner', 'outer', 'other']);
  });

  it('does not count a timer set inside a section that has ended as the holder', async () => {
    const lock = new KeyedLock();
    let fromTimer!: Promise<boolean>;
    await lock.run('m1', async () => {
      fromTimer = new Promise((r) => setTimeout(() => r(lock.heldByCaller('m1')), 20));
    });
    const g = gate();
    const other = lock.run('m1', () => g.opened); // another caller holds m1 when the timer fires
    expect(await fromTimer).toBe(false);
    g.open();
    await other;
  });
});
