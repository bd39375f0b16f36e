import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Machine caches (report §7.2.3; docs/ARCHITECTURE.md §7): after a machine migrated away, the
 * origin keeps its old directory in <data>/caches/<machineId>/ as the rsync basis for the day the
 * machine comes back (only the changed blocks then cross the wire). A cache is never listed as a
 * machine and never started; it goes when the machine is deleted, when it arrives here again, or
 * by the size limit (oldest first).
 */
export class MachineCaches {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = path.join(dataDir, 'caches');
  }

  dir(id: string): string {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) throw new Error(`not a machine id: ${JSON.stringify(id)}`);
    return path.join(this.root, id);
  }

  has(id: string): boolean {
    return existsSync(this.dir(id));
  }

  /** Ids of the cached machines. */
  list(): string[] {
    if (!existsSync(this.root)) return [];
    return readdirSync(this.root, { withFileTypes: true })
      .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
      .map((d) => d.name);
  }

  /** Move a machine's directory into the cache (a rename: same file system), replacing an older cache. */
  adopt(id: string, fromDir: string): void {
    mkdirSync(this.root, { recursive: true });
    const to = this.dir(id);
    if (existsSync(to)) this.remove(id);
    renameSync(fromDir, to);
    // Its age for reclaim() is the time it became a cache.
    const now = new Date();
    utimesSync(to, now, now);
  }

  /** Idempotent. The directory is first renamed aside so a crash never leaves half a cache under its name. */
  remove(id: string): boolean {
    const dir = this.dir(id);
    if (!existsSync(dir)) return false;
    const aside = path.join(this.root, `.removing-${id}-${process.pid}`);
    renameSync(dir, aside);
    rmSync(aside, { recursive: true, force: true });
    return true;
  }

  /** What a crash in the middle of remove() left behind. */
  sweep(): void {
    if (!existsSync(this.root)) return;
    for (const name of readdirSync(this.root)) if (name.startsWith('.removing-')) rmSync(path.join(this.root, name), { recursive: true, force: true });
  }

  /** Bytes on disk (allocated blocks: qcow2 files are sparse). */
  sizeOf(id: string): number {
    return diskUsage(this.dir(id));
  }

  /** Remove the oldest caches until they take at most `limitBytes` together. Returns the ids removed. */
  reclaim(limitBytes: number): string[] {
    const caches = this.list()
      .map((id) => ({ id, bytes: this.sizeOf(id), since: statSync(this.dir(id)).mtimeMs }))
      .sort((a, b) => a.since - b.since);
    let total = caches.reduce((s, c) => s + c.bytes, 0);
    const removed: string[] = [];
    for (const c of caches) {
      if (total <= limitBytes) break;
      this.remove(c.id);
      total -= c.bytes;
      removed.push(c.id);
    }
    return removed;
  }
}

function diskUsage(p: string): number {
  const st = lstatSync(p);
  if (!st.isDirectory()) return st.blocks * 512;
  return readdirSync(p).reduce((s, name) => s + diskUsage(path.join(p, name)), st.blocks * 512);
}
