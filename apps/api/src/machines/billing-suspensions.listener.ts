import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { HeldBuyerMachineRunning } from '../billing/billing.events';
import { systemActor } from '../common/actor';
import { MachinesService } from './machines.service';

/**
 * Billing holds a buyer whose balance stayed short past the grace period; the machines context
 * suspends their running machines through the normal lifecycle (the agent saves their memory),
 * acting as the system, not as the buyer.
 */
@Injectable()
export class BillingSuspensions {
  constructor(private readonly machines: MachinesService) {}

  // Errors reach the billing pass, which logs them and retries on its next pass.
  @OnEvent(HeldBuyerMachineRunning.event, { suppressErrors: false })
  async suspend(fact: HeldBuyerMachineRunning): Promise<void> {
    await this.machines.suspendBySystem(systemActor(`its buyer ${fact.buyerId} is held for a low balance`), fact.machineId);
  }
}
