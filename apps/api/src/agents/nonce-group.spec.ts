import { describe, expect, it } from 'vitest';
import { MAX_NONCES_PER_GROUP, NonceGroup, nonceKey, type NonceRow } from './nonce-group';

/** A write the test finishes by hand, with the table of nonces it would have. */
function table() {
  const seen = new Set<string>();
  const writes: { rows: NonceRow[]; finish: (error?: Error) => void }[] = [];
  const write = (rows: NonceRow[]) =>
    new Promise<ReadonlySet<string>>((resolve, reject) => {
      writes.push({
        rows,
        finish: (error) => {
          if (error) return reject(error);
          const inserted = new Set<string>();
          for (const key of rows.map(nonceKey)) {
            if (seen.has(key)) continue;
            seen.add(key);
            inserted.add(key);
          }
          resolve(inserted);
        },
      });
    });
  return { write, writes, seen };
}
const row = (agentId: string, nonce: string): NonceRow => ({ agentId, nonce, at: 1 });
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('NonceGroup (group commit of nonces)', () => {
  it('writes the first nonce at once and those that arrive meanwhile together in the next write', async () => {
    const { write, writes } = table();
    const group = new NonceGroup(write);
    const first = group.add(row('a', '1'));
    expect(writes.map((w) => w.rows.length)).toEqual([1]);
    const later = [group.add(row('a', '2')), group.add(row('b', '1')), group.add(row('c', '9'))];
    expect(writes).toHaveLength(1);
    writes[0].finish();
    expect(await first).toBe(true);
    await turn();
    expect(writes.map((w) => w.rows.length)).toEqual([1, 3]);
    writes[1].finish();
    expect(await Promise.all(later)).toEqual([true, true, true]);
    // Idle again: the next nonce is written at once.
    const next = group.add(row('a', '3'));
    expect(writes).toHaveLength(3);
    writes[2].finish();
    expect(await next).toBe(true);
  });

  it('refuses a nonce seen before, and the second of two equal nonces in one group', async () => {
    const { write, writes } = table();
    const group = new NonceGroup(write);
    const first = group.add(row('a', '1'));
    const again = [group.add(row('a', '1')), group.add(row('b', '1')), group.add(row('b', '1'))];
    writes[0].finish();
    expect(await first).toBe(true);
    await turn();
    writes[1].finish();
    // a/1 was written before; b/1 twice in one group: the first is new, the second a replay. Another agent's equal nonce is its own.
    expect(await Promise.all(again)).toEqual([false, true, false]);
  });

  it('fails every message of a failed write, and goes on with the next group', async () => {
    const { write, writes, seen } = table();
    const group = new NonceGroup(write);
    const first = group.add(row('a', '1'));
    const failed = [group.add(row('a', '2')), group.add(row('a', '3'))];
    writes[0].finish();
    await first;
    await turn();
    writes[1].finish(new Error('disk I/O error'));
    for (const message of failed) await expect(message).rejects.toThrow('disk I/O error');
    expect(seen.has(nonceKey(row('a', '2')))).toBe(false);
    const retried = group.add(row('a', '2'));
    writes[2].finish();
    expect(await retried).toBe(true);
  });

  it(`writes at most ${MAX_NONCES_PER_GROUP} nonces a transaction`, async () => {
    const { write, writes } = table();
    const group = new NonceGroup(write);
    const all = [group.add(row('a', 'first'))];
    for (let i = 0; i < MAX_NONCES_PER_GROUP + 5; i++) all.push(group.add(row('a', String(i))));
    writes[0].finish();
    await turn();
    writes[1].finish();
    await turn();
    writes[2].finish();
    expect(writes.map((w) => w.rows.length)).toEqual([1, MAX_NONCES_PER_GROUP, 5]);
    expect((await Promise.all(all)).every(Boolean)).toBe(true);
  });
});
