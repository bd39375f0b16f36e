import { Logger } from '@nestjs/common';
import { JOURNAL_ENTRIES_PER_HEARTBEAT, nextHeartbeatDelay, type AgentEvent, type AgentJournalEntry, type Heartbeat } from '@virtuoso/contracts';
import type { EventQueue } from './event-queue';
import { causeOf } from './identity';
import type { FrontendClient } from './frontend-client';
import type { MachinesService } from './machines.service';

/**
 * Every intervalMs (± 20 % at random, nextHeartbeatDelay): POST /api/agents/heartbeat with the host's facts, every machine's state and
 * the oldest journal entries (event-queue.ts); a 2xx acknowledges the entries sent. An event also triggers a heartbeat at
 * once. The front-end being unreachable is logged (once per outage), never fatal.
 */
export class HeartbeatLoop {
  private readonly log = new Logger('Heartbeat');
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = true;
  private failing = false;
  private lastWarnAt = 0;
  private sent = 0;

  constructor(
    private readonly agentId: string,
    private readonly frontend: FrontendClient,
    private readonly machines: MachinesService,
    private readonly events: EventQueue,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.stopped = false;
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Send a heartbeat now (or right after the one in flight). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.beat().finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      if (this.again) {
        this.again = false;
        this.kick();
      } else {
        this.timer = setTimeout(() => this.kick(), nextHeartbeatDelay(this.intervalMs));
      }
    });
  }

  private async beat(): Promise<void> {
    try {
      // The oldest journal entries, a bounded number per heartbeat; the power-offs and crashes among them as events too.
      const entries = this.events.pending(JOURNAL_ENTRIES_PER_HEARTBEAT);
      const events: AgentEvent[] = entries.flatMap((entry) => (entry.event ? [entry.event] : []));
      const journal: AgentJournalEntry[] = entries.map(({ event: _event, ...entry }) => entry);
      const hb: Heartbeat = { agentId: this.agentId, facts: this.machines.facts(), vms: await this.machines.list(), events, journal };
      await this.frontend.heartbeat(hb);
      // A 2xx: the front-end stored every entry carried (in the heartbeat's transaction).
      if (entries.length) this.events.ack(entries[entries.length - 1].seq);
      if (entries.length === JOURNAL_ENTRIES_PER_HEARTBEAT && this.events.size) this.again = true;
      this.sent++;
      if (this.failing) this.log.log('front-end reachable again');
      else if (this.sent === 1) this.log.log(`first heartbeat acknowledged (${hb.vms.length} machine(s))`);
      if (entries.length) this.log.debug(`${entries.length} journal entr${entries.length === 1 ? 'y' : 'ies'} acknowledged (${this.events.size} pending)`);
      this.failing = false;
    } catch (e) {
      const kept = this.events.size;
      const msg = `heartbeat failed: ${(e as Error).message}${causeOf(e)}${kept ? ` (${kept} journal entr${kept === 1 ? 'y' : 'ies'} kept for the next one)` : ''}`;
      // Once per outage, then once a minute while it lasts.
      if (!this.failing || Date.now() - this.lastWarnAt > 60_000) {
        this.log.warn(msg);
        this.lastWarnAt = Date.now();
      }
      this.failing = true;
    }
  }
}
