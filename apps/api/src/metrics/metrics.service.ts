import { Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { OperatorOverviewService } from '../operator/operator-overview.service';

/**
 * The API's Prometheus metrics (docs/ARCHITECTURE.md, Operating), in a registry of this app's own:
 * each replica exposes what it saw (its requests, the heartbeats it received, the billing passes it
 * ran as leader); the gauges read from the database are the same on every replica. Prometheus
 * scrapes each replica and sums.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequestDuration = new Histogram({
    name: 'virtuoso_http_request_duration_seconds',
    help: 'HTTP requests by method, route pattern and status, and how long they took.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly heartbeatsReceived = new Counter({
    name: 'virtuoso_heartbeats_received_total',
    help: 'Agent heartbeats accepted (signed, well-formed, recorded).',
    registers: [this.registry],
  });

  readonly heartbeatsShed = new Counter({
    name: 'virtuoso_heartbeats_shed_total',
    help: 'Agent heartbeats answered 503 unread: VIRTUOSO_HEARTBEAT_CONCURRENCY were being recorded already.',
    registers: [this.registry],
  });

  readonly agentCommands = new Counter({
    name: 'virtuoso_agent_commands_total',
    help: 'Commands sent to agents, by command and outcome (ok, refused, no-answer, unavailable).',
    labelNames: ['command', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly billingCharges = new Counter({
    name: 'virtuoso_billing_charges_total',
    help: 'Charges (ledger movements) the billing passes of this replica posted.',
    registers: [this.registry],
  });

  readonly billingPassDuration = new Histogram({
    name: 'virtuoso_billing_pass_duration_seconds',
    help: 'How long the billing passes of this replica took.',
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });

  readonly migrations = new Counter({
    name: 'virtuoso_migrations_total',
    help: 'Migrations that ended on this replica, by method and outcome (committed, rolled-back).',
    labelNames: ['method', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor(overview: OperatorOverviewService) {
    // Read from the database at each scrape: the same on every replica.
    new Gauge({
      name: 'virtuoso_agents_online',
      help: 'Agents whose last heartbeat is within the offline window.',
      registers: [this.registry],
      async collect() {
        this.set(await overview.agentsOnline());
      },
    });
    const machines = new Gauge({
      name: 'virtuoso_machines',
      help: 'Machines by state (deleted included).',
      labelNames: ['state'] as const,
      registers: [this.registry],
      async collect() {
        machines.reset();
        for (const [state, count] of Object.entries(await overview.machinesByState())) machines.set({ state }, count);
      },
    });
  }

  /** Express middleware: every request's duration under its route pattern (/api/machines/:id), never its raw URL. */
  timeRequests() {
    return (req: Request, res: Response, next: NextFunction) => {
      const end = this.httpRequestDuration.startTimer();
      res.once('finish', () => {
        const route = (req.route as { path?: string } | undefined)?.path;
        end({ method: req.method, route: route ? `${req.baseUrl}${route}` : 'unmatched', status: String(res.statusCode) });
      });
      next();
    };
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
