import { Inject, Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { APP_CONFIG, AppConfig } from '../config';
import { Metrics } from '../metrics/metrics.service';

/**
 * At most VIRTUOSO_HEARTBEAT_CONCURRENCY heartbeats in progress; one more is answered 503 with
 * Retry-After at once, before its body is read (docs/ARCHITECTURE.md §12). Past what the replica
 * can record, heartbeats would otherwise wait in a queue that only grows: once the wait passes an
 * agent's 10-s timeout every heartbeat is recorded too late to count and the replica answers none
 * in time (the agents benchmark saw 0 of 600 a second answered). Bounded, the wait stays short,
 * the replica records what it can, and a refused agent sends its next heartbeat as usual (one
 * missed heartbeat of three within the offline threshold changes nothing).
 */
@Injectable()
export class HeartbeatAdmission {
  private running = 0;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: Metrics,
  ) {}

  /** Heartbeats admitted and not yet answered. */
  get inFlight(): number {
    return this.running;
  }

  /** The express middleware, mounted on the heartbeat's path ahead of its body parser. */
  middleware(): (req: Request, res: Response, next: NextFunction) => void {
    return (_req, res, next) => {
      if (this.running >= this.config.heartbeatConcurrency) {
        this.metrics.heartbeatsShed.inc();
        res.setHeader('Retry-After', '1');
        res.status(503).json({
          statusCode: 503,
          error: 'Service Unavailable',
          message: `the market is recording ${this.running} heartbeats already; this one was not recorded: send the next one as usual`,
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
