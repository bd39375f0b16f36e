import { Logger } from '@nestjs/common';
import type { AgentEvent, Heartbeat } from '@virtuoso/contracts';
import type { EventQueue } from './event-queue';
import { causeOf } from './identity';
import type { FrontendClient } from './frontend-client';
import type { MachinesService } from './machines.service';

/**
 * Every intervalMs: POST /api/agents/heartbeat with the host's facts, every machine's state and
 * the queued events; a 2xx acknowledges the events sent. An event also triggers a heartbeat at
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
        this.timer = setTimeout(() => this.kick(), this.intervalMs);
      }
    });
  }

  private async beat(): Promise<void> {
    let events: AgentEvent[] = [];
    try {
      events = this.events.pending();
      const hb: Heartbeat = { agentId: this.agentId, facts: this.machines.facts(), vms: await this.machines.list(), events };
      await this.frontend.heartbeat(hb);
      this.events.ack(events);
      this.sent++;
      if (this.failing) this.log.log('front-end reachable again');
      else if (this.sent === 1) this.log.log(`first heartbeat acknowledged (${hb.vms.length} machine(s))`);
      if (events.length) this.log.log(`${events.length} event(s) acknowledged`);
      this.failing = false;
    } catch (e) {
      const msg = `heartbeat failed: ${(e as Error).message}${causeOf(e)}${events.length ? ` (${events.length} event(s) kept for the next one)` : ''}`;
      // Once per outage, then once a minute while it lasts.
      if (!this.failing || Date.now() - this.lastWarnAt > 60_000) {
        this.log.warn(msg);
        this.lastWarnAt = Date.now();
      }
      this.failing = true;
    }
  }
}
