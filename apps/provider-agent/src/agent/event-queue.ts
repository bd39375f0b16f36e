import * as path from 'node:path';
import type { AgentEvent } from '@virtuoso/contracts';
import { readJson, writeJsonAtomic } from './json-file';

const same = (a: AgentEvent, b: AgentEvent) => a.machineId === b.machineId && a.kind === b.kind && a.version === b.version && a.at === b.at;

/**
 * Events for the front-end (guest power-off, crash), kept on disk until a heartbeat carrying them
 * is acknowledged with a 2xx: an agent restart loses none.
 */
export class EventQueue {
  private readonly file: string;
  private events: AgentEvent[];

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'events.json');
    const stored = readJson<{ events?: AgentEvent[] }>(this.file, {});
    this.events = Array.isArray(stored.events) ? stored.events : [];
  }

  push(e: AgentEvent): void {
    this.events.push(e);
    this.save();
  }

  /** The events to send now (a copy). */
  pending(): AgentEvent[] {
    return this.events.map((e) => ({ ...e }));
  }

  /** A 2xx acknowledged these: drop them. */
  ack(sent: AgentEvent[]): void {
    const before = this.events.length;
    this.events = this.events.filter((e) => !sent.some((s) => same(s, e)));
    if (this.events.length !== before) this.save();
  }

  get size(): number {
    return this.events.length;
  }

  private save(): void {
    writeJsonAtomic(this.file, { events: this.events });
  }
}
