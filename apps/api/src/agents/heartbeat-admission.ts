import { Inject, Injectable } from '@nestjs/common';
import { AGENT_ID_HEADER } from '@virtuoso/contracts';
import type { NextFunction, Request, Response } from 'express';
import { Clock, WALL_CLOCK } from '../common/clock';
import { APP_CONFIG, AppConfig } from '../config';
import { Metrics } from '../metrics/metrics.service';

/** The share of VIRTUOSO_HEARTBEAT_CONCURRENCY open to any heartbeat; the rest is kept for agents answered lately. */
const OPEN_SHARE = 0.75;

/**
 * At most VIRTUOSO_HEARTBEAT_CONCURRENCY heartbeats in progress; one more is answered 503 with
 * Retry-After at once, before its body is read (docs/ARCHITECTURE.md §12). Past what the replica
 * can record, heartbeats would otherwise wait in a queue that only grows: once the wait passes an
 * agent's 10-s timeout every heartbeat is recorded too late to count and the replica answers none
 * in time (the agents benchmark saw 0 of 600 a second answered). Bounded, the wait stays short,
 * the replica records what it can, and a refused agent sends its next heartbeat as usual (one
 * missed heartbeat of three within the offline threshold changes nothing).
 *
 * The last quarter of the places goes only to agents this replica answered within the offline
 * threshold (named by AGENT_ID_HEADER). Shed at random, every agent misses heartbeats in turn,
 * some miss three and go offline, and an agent back from offline costs the most to record (checked
 * in full, its host noted online, the network told): the replica then answered fewer and fewer
 * (72–85 a second at 3,000 agents, against 400 it holds steady). Kept for those online, the places
 * go to the cheap steady heartbeats, and the agents shed are the same ones until there is room.
 */
@Injectable()
export class HeartbeatAdmission {
  private running = 0;
  /** When this replica last answered each agent, oldest first (re-inserted on every answer). */
  private readonly answered = new Map<string, number>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: Metrics,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
  ) {}

  /** Heartbeats admitted and not yet answered. */
  get inFlight(): number {
    return this.running;
  }

  /** The agent's heartbeat was checked and recorded: it goes on counting as answered lately. */
  noteAnswered(agentId: string): void {
    const now = this.wallClock.now();
    this.answered.delete(agentId);
    this.answered.set(agentId, now);
    // The oldest first: drop those past the threshold (each once), so the map holds the agents online here.
    for (const [id, at] of this.answered) {
      if (now - at < this.config.agentOfflineMs) break;
      this.answered.delete(id);
    }
  }

  /** Whether this replica answered the agent within the offline threshold. */
  private answeredLately(agentId: string | undefined): boolean {
    const at = agentId === undefined ? undefined : this.answered.get(agentId);
    return at !== undefined && this.wallClock.now() - at < this.config.agentOfflineMs;
  }

  /** The express middleware, mounted on the heartbeat's path ahead of its body parser. */
  middleware(): (req: Request, res: Response, next: NextFunction) => void {
    return (req, res, next) => {
      const limit = this.config.heartbeatConcurrency;
      const open = Math.max(1, Math.ceil(limit * OPEN_SHARE));
      const header = req.headers[AGENT_ID_HEADER];
      const full = this.running >= limit || (this.running >= open && !this.answeredLately(typeof header === 'string' ? header : undefined));
      if (full) {
        this.metrics.heartbeatsShed.inc();
        res.setHeader('Retry-After', '1');
        res.status(503).json({
          statusCode: 503,
          error: 'Service Unavailable',
          message: `the market is recording ${this.running} heartbeats already${this.running >= limit ? '' : ' and keeps its last places for agents it answered lately'}; this one was not recorded: send the next one as usual`,
        });
        return;
      }
      this.running += 1;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        this.running -= 1;
      };
      // 'close' too: a client gone before the answer frees its place.
      res.once('finish', finish);
      res.once('close', finish);
      next();
    };
  }
}
