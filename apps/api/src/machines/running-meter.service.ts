import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Machine } from './machine.entity';

/** Why a machine stopped running. */
export type RunningEndCause = 'stopped' | 'suspended' | 'guest-powered-off' | 'crashed' | 'reconciled' | 'migrated';

/**
 * The one place that hears a machine start and stop running, whatever moved it: a buyer's action,
 * the agent's heartbeat (guest power-off, crash) or the reconciler. Both calls run inside the
 * transaction that writes the new state, so the billing issue can charge or pause the running
 * slice here atomically with the state change (report §6.1.9: "Machines are only debited for CPU
 * when they are in the running state"; footnote 11's limitation — a guest that powered itself off
 * kept being charged — is gone because power-offs arrive here too).
 */
@Injectable()
export class RunningMeter {
  private readonly logger = new Logger('RunningMeter');

  /** `machine` has just become running (state written in `em`'s transaction). */
  async runningStarted(_em: EntityManager, machine: Machine, at: string): Promise<void> {
    this.logger.debug(`${machine.id} running from ${at}`);
  }

  /** `machine` has just stopped running (it is now `machine.state`) for `cause`. */
  async runningEnded(_em: EntityManager, machine: Machine, at: string, cause: RunningEndCause): Promise<void> {
    this.logger.debug(`${machine.id} stopped running at ${at} (${cause}); now ${machine.state}`);
  }
}
