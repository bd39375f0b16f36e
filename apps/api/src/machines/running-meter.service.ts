import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { BillingService } from '../billing/billing.service';
import type { Machine } from './machine.entity';

/** Why a machine stopped running. */
export type RunningEndCause = 'stopped' | 'suspended' | 'guest-powered-off' | 'crashed' | 'reconciled' | 'migrated';

/**
 * The one place that hears a machine start and stop running, and start and stop being billed,
 * whatever moved it: a buyer's action, the agent's heartbeat (guest power-off, crash), the
 * reconciler, or its host's removal. Every call runs inside the transaction that writes the new
 * state, so billing charges or pauses in the same commit as the state change (report §6.1.9:
 * "Machines are only debited for CPU when they are in the running state"; footnote 11's
 * limitation — a guest that powered itself off kept being charged — is gone because power-offs
 * arrive here too). Times are the billing clock's.
 */
@Injectable()
export class RunningMeter {
  constructor(private readonly billing: BillingService) {}

  /** `machine` has just been stored on its host (fixed prices set): storage billing begins. */
  async stored(em: EntityManager, machine: Machine): Promise<void> {
    await this.billing.onStored(em, machine);
  }

  /** `machine` has just become running (state written in `em`'s transaction). */
  async runningStarted(em: EntityManager, machine: Machine): Promise<void> {
    await this.billing.onStarted(em, machine.id);
  }

  /** `machine` has just stopped running (it is now `machine.state`) for `cause`: its prepaid slice pauses. */
  async runningEnded(em: EntityManager, machine: Machine, _cause: RunningEndCause): Promise<void> {
    await this.billing.onStopped(em, machine.id);
  }

  /** `machine` has left its host (deleted, or the host was removed): billing stops. */
  async removed(em: EntityManager, machine: Machine): Promise<void> {
    await this.billing.onRemoved(em, machine.id);
  }
}
