import { Inject, Injectable, Logger } from '@nestjs/common';
import { type MachineState, type Refund, describeDuration, sumMoney } from '@virtuoso/domain';
import { EntityManager, Not } from 'typeorm';
import { User } from '../accounts/user.entity';
import { BillingService } from '../billing/billing.service';
import { AuthUser } from '../common/auth.decorators';
import { isoOf } from '../common/clock';
import { Database } from '../common/database.service';
import { conflict } from '../common/errors';
import { EventLog } from '../events/event-log.service';
import { NotificationsService } from '../notifications/notifications.service';
import { hostRemovedEvent } from '../providers/host.events';
import { Host } from '../providers/host.entity';
import { HOST_AGENT_GATEWAY, HostAgentGateway } from './host-agent.gateway';
import { Machine } from './machine.entity';
import { MachineStore } from './machine-store.service';

/**
 * A provider forces the removal of a host that still stores machines (report §6.1.1: the old
 * deletemachineprovider.pl deleted them and mailed their owners; footnote 19 asked for better).
 * In one transaction every machine on it goes back to `registered` — its configuration kept, its
 * fixed prices and host forgotten — which stops its billing (MachineStore → billing hooks: what
 * was due is charged, nothing after); its owner gets a notice and an email naming the provider's
 * handle and contact email; the host row goes. Then the agent, if reachable, is asked to delete
 * the VMs (the disks go with the host either way).
 */
@Injectable()
export class HostEviction {
  private readonly logger = new Logger('HostEviction');

  constructor(
    private readonly db: Database,
    private readonly store: MachineStore,
    private readonly billing: BillingService,
    private readonly notifications: NotificationsService,
    @Inject(HOST_AGENT_GATEWAY) private readonly gateway: HostAgentGateway,
    private readonly eventLog: EventLog,
  ) {}

  /** Sends every machine on `host` back to `registered` (billing stops, owners told), deletes the host; returns how many machines it moved. */
  async evict(provider: AuthUser, host: Host): Promise<number> {
    const moved = await this.db.transaction(async (em) => {
      const owner = await em.findOneByOrFail(User, { id: provider.id });
      const machines = await em.find(Machine, { where: { hostId: host.id, state: Not<MachineState>('deleted') }, order: { createdAt: 'ASC', id: 'ASC' } });
      const at = this.billing.now();
      for (const machine of machines) await this.sendBack(em, machine, host, owner, at);
      await this.billing.hostRemoved(em, host);
      await em.update(Machine, { hostId: host.id, state: 'deleted' }, { hostId: null });
      await em.delete(Host, { id: host.id });
      await this.eventLog.record(em, hostRemovedEvent(owner, host, machines.length));
      return machines;
    });
    if (moved.length > 0) this.logger.log(`host ${host.name} removed by ${provider.handle}: ${moved.length} machine(s) back to registered`);
    // Best effort, after the commit: the VMs are gone for the buyer either way.
    const target = { hostId: host.id, hostName: host.name, agentId: host.agentId };
    for (const machine of moved) {
      await this.gateway.deleteVm(target, { machineId: machine.id, version: machine.version }).catch((error: unknown) => {
        this.logger.warn(`could not delete ${machine.id} on the removed host ${host.name}: ${error instanceof Error ? error.message : String(error)}`);
      });
    }
    return moved.length;
  }

  private async sendBack(em: EntityManager, machine: Machine, host: Host, owner: User, at: number): Promise<void> {
    const contact = `${owner.handle} (${owner.email})`;
    const written = await this.store.write(
      em,
      machine,
      {
        state: 'registered',
        previousState: null,
        hostId: null,
        storagePrice: null,
        storageAmount: null,
        runningPrice: null,
        runningUnitAmount: null,
        storedAt: null,
        transientSince: null,
        lastError: `its host ${host.name} was removed by its provider ${contact}`.slice(0, 500),
      },
      // The provider's removal moved it: they are the actor.
      { cause: 'reconciled', actorId: owner.id },
    );
    if (!written) throw conflict(`machine ${machine.name} on ${host.name} changed meanwhile; try again`);
    // The buyer did nothing wrong: what they paid for and will not have comes back (report §6.1.1 mailed them only).
    const refunds = await this.billing.refundHostRemoval(em, machine.id);
    await this.notifications.notify(em, {
      userId: machine.ownerId,
      kind: 'hostRemoved',
      key: `hostRemoved:${host.id}:${machine.id}`,
      machineId: machine.id,
      subject: `Your machine ${machine.name} lost its host ${host.name}`,
      body:
        `The provider ${owner.handle} has removed the host ${host.name}, on which your machine ${machine.name} was stored.\n\n` +
        `${machine.name} is registered again: its configuration is kept, but its disk was on that host and is gone. ` +
        `Billing for it stopped at ${isoOf(at)}; you can store it on another host.\n\n` +
        refundText(refunds) +
        `To get in touch with the provider: ${contact}.`,
    });
  }
}

/** The refunds in words for the notice and email: the total, then what each gives back. */
function refundText(refunds: readonly Refund[]): string {
  if (refunds.length === 0) return '';
  const parts = refunds.map((refund) =>
    refund.covers === 'storage'
      ? `${refund.amount} for the ${describeDuration(refund.unusedMs)} left of the storage period you had paid for`
      : `${refund.amount} for the ${describeDuration(refund.unusedMs)} of running time you had prepaid`,
  );
  return `You have been refunded ${sumMoney(refunds.map((refund) => refund.amount))}: ${parts.join(', and ')} (see your statement).\n\n`;
}
