import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Database } from '../common/database.service';
import { Sql, exec } from '../common/sql';
import { APP_CONFIG, AppConfig } from '../config';
import { stampDelayMs } from './online';

/**
 * The last-seen stamps of steady heartbeats (online.ts, mayStampLater), written for all agents at
 * once, at most stampDelayMs after they were received: one UPDATE a moment instead of one per
 * heartbeat (docs/ARCHITECTURE.md §12). A stamp only moves forward, whichever replica writes it. A
 * stamp lost (the process ended) costs nothing: the agent's next heartbeat stamps it again.
 */
@Injectable()
export class HeartbeatStamps implements OnModuleDestroy {
  private readonly logger = new Logger('HeartbeatStamps');
  private pending = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private readonly delayMs: number;

  constructor(
    private readonly db: Database,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.delayMs = stampDelayMs(config.agentOfflineMs);
  }

  /** Records that `agentId` was heard from at `at` (ISO), written within the delay. */
  stamp(agentId: string, at: string): void {
    const known = this.pending.get(agentId);
    if (!known || known < at) this.pending.set(agentId, at);
    this.timer ??= setTimeout(() => void this.flush(), this.delayMs);
  }

  /** Writes the pending stamps now (tests; shutdown). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const rows = [...this.pending];
    this.pending = new Map();
    if (rows.length === 0) return this.flushing;
    this.flushing = this.flushing.then(() => this.write(rows));
    return this.flushing;
  }

  private async write(rows: [string, string][]): Promise<void> {
    try {
      await this.db.transaction(async (em) => {
        const q = new Sql(em);
        await exec(
          em,
          `UPDATE "agents" SET "lastHeartbeatAt" = s.column2 FROM ${q.values(rows, 2)} AS s ` +
            `WHERE "agents"."id" = s.column1 AND ("agents"."lastHeartbeatAt" IS NULL OR "agents"."lastHeartbeatAt" < s.column2)`,
          q.params,
          true,
        );
      });
    } catch (error) {
      // Kept for the next write unless a newer stamp came meanwhile.
      this.logger.warn(`writing ${rows.length} heartbeat stamp(s) failed: ${(error as Error).message}`);
      for (const [agentId, at] of rows) this.stamp(agentId, at);
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.flush();
  }
}
