import { Logger } from '@nestjs/common';
import { MIGRATION_HEARTBEAT_MS, type MigrationReport } from '@virtuoso/contracts';
import { renderVmmp, type VmmpProgress } from '@virtuoso/domain';

/** Sends one report to the front-end (FrontendClient.migrationReport); throws unless it answered 2xx. */
export type ReportFn = (r: Omit<MigrationReport, 'agentId'>) => Promise<void>;

/** A RESP as the destination gives it. */
export interface MigrationOutcome {
  version: number;
  outcome: 'SUCCESS' | 'FAIL';
  reason?: string;
  transfer?: { bytesReceived: number; durationMs: number };
}

/** Free text as the words a RESP FAIL reason may hold: no < or >, no control characters, single spaces. */
export function reasonWords(text: string, max = 600): string {
  const words = text
    .replace(/[<>]/g, '')
    .replace(/\p{Cc}/gu, ' ')
    .split(/\s+/)
    .filter(Boolean);
  let out = words.join(' ');
  if (out.length > max) out = out.slice(0, max).replace(/\s+\S*$/, '') + ' …';
  return out || 'failed';
}

/**
 * The destination's reports of one migration (report §7.2.1; docs/ARCHITECTURE.md §7): from the
 * REQ until the RESP a HEARTBEAT with the progress every `heartbeatMs` (one in flight at most: a
 * slow front-end is not flooded); then the RESP, resent with backoff until the front-end answers
 * 2xx (`attempts` times; after that the front-end learns it from migration.status).
 */
export class MigrationReporter {
  private readonly log = new Logger('Migration');
  private timer?: NodeJS.Timeout;
  private inFlight = false;
  private stopped = false;
  /** Settles when the RESP was acknowledged or given up (tests wait on it). */
  sent?: Promise<boolean>;

  constructor(
    private readonly o: {
      migrationId: string;
      machineId: string;
      report: ReportFn;
      progress: () => VmmpProgress;
      heartbeatMs?: number;
      attempts?: number;
      backoffMs?: number;
    },
  ) {}

  start(): void {
    this.beat();
    this.timer = setInterval(() => this.beat(), this.o.heartbeatMs ?? MIGRATION_HEARTBEAT_MS);
  }

  /** No more heartbeats (abort: the front-end decided already). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** Stop the heartbeats and send the RESP until it is acknowledged. */
  respond(r: MigrationOutcome): Promise<boolean> {
    this.stop();
    const vmmp = renderVmmp({
      kind: 'RESP',
      machineId: this.o.machineId,
      version: r.version,
      outcome: r.outcome,
      ...(r.outcome === 'FAIL' ? { reason: reasonWords(r.reason ?? 'failed') } : {}),
    });
    const body = { migrationId: this.o.migrationId, vmmp, ...(r.transfer ? { transfer: r.transfer } : {}) };
    this.sent = (async () => {
      const attempts = this.o.attempts ?? 6;
      for (let i = 1; i <= attempts; i++) {
        try {
          await this.o.report(body);
          return true;
        } catch (e) {
          this.log.warn(`migration ${this.o.migrationId}: RESP not delivered (attempt ${i}/${attempts}): ${(e as Error).message}`);
          if (i < attempts) await new Promise((res) => setTimeout(res, (this.o.backoffMs ?? 500) * 2 ** (i - 1)));
        }
      }
      return false;
    })();
    return this.sent;
  }

  private beat(): void {
    if (this.inFlight || this.stopped) return;
    const p = this.o.progress();
    const total = Math.max(0, Math.floor(p.bytesTotal));
    const progress = {
      bytesDone: Math.min(Math.max(0, Math.floor(p.bytesDone)), total),
      bytesTotal: total,
      bytesPerSecond: Math.max(0, Math.floor(p.bytesPerSecond)),
    };
    const vmmp = renderVmmp({ kind: 'HEARTBEAT', machineId: this.o.machineId, progress });
    this.inFlight = true;
    this.o
      .report({ migrationId: this.o.migrationId, vmmp })
      .catch((e) => this.log.warn(`migration ${this.o.migrationId}: heartbeat not delivered: ${(e as Error).message}`))
      .finally(() => (this.inFlight = false));
  }
}
