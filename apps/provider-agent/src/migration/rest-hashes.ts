import { statSync, type BigIntStats } from 'node:fs';
import * as path from 'node:path';
import { Logger } from '@nestjs/common';
import { readJson, writeJsonAtomic } from '../agent/json-file';
import { sha256File } from './export-manifest';

/**
 * The sha256 of a machine's files, computed in the background once the machine comes to rest
 * (stored, stopped, suspended, arrived), so that an export does not hash a whole disk while the
 * buyer waits (the manifest of report §7.2.2). Each hash is recorded with the file's identity
 * (device, inode, size, mtime and ctime in nanoseconds) and used by an export only while that
 * identity is unchanged: any write to the file changes its ctime, which nothing can set back
 * (utimes sets mtime, not ctime), and a file replaced by another has another inode.
 *
 * Two rules keep a recorded hash from ever describing other bytes than the file's:
 * - a hash is recorded only if the file's identity is the same before and after hashing it;
 * - and only if the file's ctime was already SETTLE_MS old when hashing began. ctime has the
 *   kernel's coarse clock granularity: a write landing in the same tick as the write before it
 *   would leave ctime unchanged; once ctime is older than a tick, any later write moves it.
 * The record lives in the machine's directory (it goes with the machine's directory when that
 * becomes a cache, and with it when it is deleted); it never travels (not a MIGRATION_FILES name).
 */
export const REST_HASHES_FILE = 'rest-hashes.json';
/** How old a file's last change must be before its hash is recorded (well above a clock tick). */
export const SETTLE_MS = 1_000;

export interface FileIdentity {
  dev: string;
  ino: string;
  size: string;
  mtimeNs: string;
  ctimeNs: string;
}

interface RestHashRecord {
  format: 1;
  files: Record<string, { sha256: string; identity: FileIdentity }>;
}

export interface RestFile {
  name: string;
  path: string;
}

export function identityOf(st: BigIntStats): FileIdentity {
  return { dev: String(st.dev), ino: String(st.ino), size: String(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs) };
}

function currentIdentity(file: string): FileIdentity | null {
  try {
    const st = statSync(file, { bigint: true });
    return st.isFile() ? identityOf(st) : null;
  } catch {
    return null;
  }
}

const sameIdentity = (a: FileIdentity, b: FileIdentity) =>
  a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;

export type RecordOutcome = { recorded: string[]; unsettled: number; changed: string[] };

export interface RestHashesDeps {
  /** The machine's directory (where the record lives). */
  machineDir: (machineId: string) => string;
  /** The files to hash now, or null when the machine is not at rest (running, gone). */
  filesAtRest: (machineId: string) => Promise<RestFile[] | null>;
  /** Wait after a machine comes to rest before hashing (tests: shorter). */
  delayMs?: number;
  settleMs?: number;
  /** Tries per machine when its files keep changing while hashed. */
  maxTries?: number;
}

export class RestHashes {
  private readonly log = new Logger('RestHashes');
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Machines being hashed now, and the one queue all background hashing goes through (one disk read at a time). */
  private readonly hashing = new Map<string, Promise<void>>();
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly deps: RestHashesDeps) {}

  private recordFile(machineId: string): string {
    return path.join(this.deps.machineDir(machineId), REST_HASHES_FILE);
  }

  /** The recorded sha256 of each file whose identity is still the recorded one; the others are absent. */
  lookup(machineId: string, files: RestFile[]): Map<string, string> {
    const rec = readJson<RestHashRecord | null>(this.recordFile(machineId), null);
    const out = new Map<string, string>();
    if (!rec || rec.format !== 1) return out;
    for (const f of files) {
      const r = rec.files[f.name];
      const now = currentIdentity(f.path);
      if (r && now && sameIdentity(r.identity, now)) out.set(f.name, r.sha256);
    }
    return out;
  }

  /**
   * Hash the files that have no valid record now and record those that stayed unchanged and
   * settled. `unsettled`: files changed less than settleMs ago (not hashed; try later).
   */
  async record(machineId: string, files: RestFile[], now: () => number = Date.now): Promise<RecordOutcome> {
    const settleMs = this.deps.settleMs ?? SETTLE_MS;
    const known = this.lookup(machineId, files);
    const rec = readJson<RestHashRecord | null>(this.recordFile(machineId), null);
    const next: RestHashRecord = { format: 1, files: {} };
    const outcome: RecordOutcome = { recorded: [], unsettled: 0, changed: [] };
    for (const f of files) {
      if (known.has(f.name)) {
        next.files[f.name] = rec!.files[f.name]!;
        continue;
      }
      const startedAt = now();
      const before = currentIdentity(f.path);
      if (!before) continue;
      if (Number(BigInt(before.ctimeNs) / 1_000_000n) > startedAt - settleMs) {
        outcome.unsettled = Math.max(outcome.unsettled, Number(BigInt(before.ctimeNs) / 1_000_000n) + settleMs - startedAt + 1);
        continue;
      }
      const sha256 = await sha256File(f.path);
      const after = currentIdentity(f.path);
      if (!after || !sameIdentity(before, after)) {
        outcome.changed.push(f.name);
        continue;
      }
      next.files[f.name] = { sha256, identity: before };
      outcome.recorded.push(f.name);
    }
    if (outcome.recorded.length || Object.keys(next.files).length !== Object.keys(rec?.files ?? {}).length) {
      try {
        writeJsonAtomic(this.recordFile(machineId), next);
      } catch {
        // The machine's directory went away meanwhile (deleted, migrated): nothing to record.
      }
    }
    return outcome;
  }

  /** The machine came to rest: hash its files in the background after a short wait. */
  schedule(machineId: string, delayMs = this.deps.delayMs ?? SETTLE_MS, tries = this.deps.maxTries ?? 5): void {
    if (this.closed || tries <= 0) return;
    clearTimeout(this.timers.get(machineId));
    const timer = setTimeout(() => {
      this.timers.delete(machineId);
      this.queue = this.queue.then(() => this.runOnce(machineId, tries));
    }, delayMs);
    timer.unref();
    this.timers.set(machineId, timer);
  }

  /** Resolves when the machine's background hashing (if it is running now) has ended. */
  settled(machineId: string): Promise<void> {
    return this.hashing.get(machineId) ?? Promise.resolve();
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private async runOnce(machineId: string, tries: number): Promise<void> {
    if (this.closed) return;
    let files: RestFile[] | null;
    try {
      files = await this.deps.filesAtRest(machineId);
    } catch {
      files = null;
    }
    if (!files) return;
    const job = this.record(machineId, files).then(
      (o) => {
        if (o.recorded.length) this.log.log(`machine ${machineId}: sha256 of ${o.recorded.join(', ')} recorded at rest`);
        // Still changing (or changed too recently): try again once it has been quiet for a while.
        if (o.changed.length || o.unsettled) this.schedule(machineId, Math.max(o.unsettled, this.deps.delayMs ?? SETTLE_MS), tries - 1);
      },
      (e: unknown) => this.log.warn(`machine ${machineId}: hashing at rest failed: ${(e as Error).message}`),
    );
    this.hashing.set(machineId, job);
    try {
      await job;
    } finally {
      if (this.hashing.get(machineId) === job) this.hashing.delete(machineId);
    }
  }
}
