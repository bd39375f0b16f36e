import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * One lock per key (a machine id). Callers of `run()` on one key take turns, in the order they
 * called; different keys never wait for each other.
 *
 * The lock is re-entrant for its holder: code running inside `run(key, fn)` (and whatever `fn`
 * awaits) may call `run(key, ...)` again and goes straight through. This is what lets the agent's
 * command layer hold a machine's lock across "check the version, then act" while the driver's
 * operations it calls take the same lock: one lock per machine, not one per layer stacked.
 * Holding is tracked by a token per acquisition, so a callback created inside a section that has
 * since ended (a socket's events, a timer) is not mistaken for the holder.
 */
export class KeyedLock {
  /** Per key: settles when the last queued holder releases (present while held or queued). */
  private readonly tails = new Map<string, Promise<void>>();
  /** Per key: the token of the current holder. */
  private readonly holders = new Map<string, symbol>();
  /** The tokens the current async context acquired, per key. */
  private readonly held = new AsyncLocalStorage<ReadonlyMap<string, symbol>>();

  /** Someone holds the key or waits for it. */
  isLocked(key: string): boolean {
    return this.tails.has(key);
  }

  /** The current async context runs inside a `run(key, ...)` that has not ended. */
  heldByCaller(key: string): boolean {
    const token = this.held.getStore()?.get(key);
    return token !== undefined && this.holders.get(key) === token;
  }

  /** Run `fn` holding `key`; the lock is released when `fn` settles, also when it throws. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if (this.heldByCaller(key)) return fn();
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => released);
    this.tails.set(key, tail);
    await previous;
    const token = Symbol(key);
    this.holders.set(key, token);
    const held = new Map(this.held.getStore() ?? []);
    held.set(key, token);
    try {
      return await this.held.run(held, fn);
    } finally {
      this.holders.delete(key);
      if (this.tails.get(key) === tail) this.tails.delete(key);
      release();
    }
  }
}
