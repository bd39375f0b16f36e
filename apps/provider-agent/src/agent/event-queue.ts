import { appendFileSync, closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import type { AgentEvent, AgentJournalEntry } from '@virtuoso/contracts';
import { readJson, writeJsonAtomic } from './json-file';

/** A journal entry as kept on disk: a guest power-off or crash also carries the event the front-end acts on. */
export interface JournalEntry extends AgentJournalEntry {
  event?: AgentEvent;
}

/** Acknowledged entries are cut from the file once there are this many (and more than are pending). */
const COMPACT_AFTER = 1000;

/**
 * The agent's journal (docs/ARCHITECTURE.md "Event log"): every event for the front-end's log —
 * commands received and done, VM processes started and ended, QMP events, migration steps, VMMP
 * messages — numbered (`seq` grows by one per entry and survives restarts) and kept on disk until
 * a heartbeat carrying it is acknowledged, so an agent that cannot reach the front-end (or is
 * restarted) delivers them later, in order, each once (the front-end stores an (agent, seq) once).
 * Guest power-offs and crashes carry the AgentEvent the front-end acts on.
 *
 * On disk: journal.jsonl, one entry per line, appended and synced; journal-ack.json, the highest
 * seq acknowledged. Entries up to it are cut from the file now and then.
 */
export class EventQueue {
  private readonly file: string;
  private readonly ackFile: string;
  private entries: JournalEntry[];
  private acked: number;
  private nextSeq: number;
  private cut = 0;

  constructor(
    dataDir: string,
    private readonly compactAfter = COMPACT_AFTER,
  ) {
    this.file = path.join(dataDir, 'journal.jsonl');
    this.ackFile = path.join(dataDir, 'journal-ack.json');
    this.acked = readJson<{ acked?: number }>(this.ackFile, {}).acked ?? 0;
    const all = readLines(this.file);
    this.entries = all.filter((entry) => entry.seq > this.acked);
    this.cut = all.length - this.entries.length;
    this.nextSeq = all.reduce((max, entry) => Math.max(max, entry.seq), this.acked) + 1;
    // Events queued by an agent from before the journal (events.json) join it, in their order.
    const legacy = path.join(dataDir, 'events.json');
    if (existsSync(legacy)) {
      for (const event of readJson<{ events?: AgentEvent[] }>(legacy, {}).events ?? []) this.push(event);
      rmSync(legacy, { force: true });
    }
  }

  /** A guest power-off or crash: journalled, and handed to the front-end's lifecycle. */
  push(e: AgentEvent): void {
    this.append({
      kind: e.kind === 'poweredOff' ? 'vm.poweredOff' : 'vm.crashed',
      at: e.at,
      machineId: e.machineId,
      message: `${e.kind === 'poweredOff' ? 'the guest powered off' : 'the virtual machine crashed'}${e.detail ? `: ${e.detail}` : ''} (v${e.version})`,
      data: { version: e.version },
      event: e,
    });
  }

  /** Any other event for the log. */
  note(kind: string, message: string, machineId?: string, data?: Record<string, unknown>): void {
    this.append({ kind, at: new Date().toISOString(), message: message.slice(0, 1000), ...(machineId ? { machineId } : {}), ...(data ? { data } : {}) });
  }

  /** The oldest `max` entries not yet acknowledged, in seq order (copies). */
  pending(max = Number.MAX_SAFE_INTEGER): JournalEntry[] {
    return this.entries.slice(0, max).map((entry) => ({ ...entry }));
  }

  /** The front-end stored every entry up to `seq`: drop them (a later ack of an older seq changes nothing). */
  ack(seq: number): void {
    if (seq <= this.acked) return;
    const before = this.entries.length;
    this.entries = this.entries.filter((entry) => entry.seq > seq);
    this.cut += before - this.entries.length;
    this.acked = seq;
    writeJsonAtomic(this.ackFile, { acked: seq });
    if (this.cut >= this.compactAfter && this.cut > this.entries.length) this.compact();
  }

  get size(): number {
    return this.entries.length;
  }

  private append(entry: Omit<JournalEntry, 'seq'>): void {
    const numbered = { seq: this.nextSeq++, ...entry } as JournalEntry;
    this.entries.push(numbered);
    appendSynced(this.file, JSON.stringify(numbered) + '\n');
  }

  /** Rewrites the file with the pending entries only (atomically: a crash leaves the old or the new one). */
  private compact(): void {
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, this.entries.map((entry) => JSON.stringify(entry) + '\n').join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    this.cut = 0;
  }
}

function appendSynced(file: string, text: string): void {
  appendFileSync(file, text, { mode: 0o600 });
  const fd = openSync(file, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The entries of the file; a torn last line (a crash mid-append) is skipped. */
function readLines(file: string): JournalEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const entries: JournalEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as JournalEntry;
      if (Number.isSafeInteger(entry.seq)) entries.push(entry);
    } catch {
      // torn line
    }
  }
  return entries.sort((a, b) => a.seq - b.seq);
}
