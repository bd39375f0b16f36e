import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { MachineState } from '@virtuoso/domain';
import { Not } from 'typeorm';
import { AuthUser } from '../common/auth.decorators';
import { Database } from '../common/database.service';
import { ApiError, conflict } from '../common/errors';
import { EventLog } from '../events/event-log.service';
import { HostEviction } from '../machines/host-eviction.service';
import { Machine } from '../machines/machine.entity';
import { HostDeleted, hostRemovedEvent } from './host.events';
import { Host } from './host.entity';
import { HostsService } from './hosts.service';

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

/**
 * A provider deletes a host. It sits above the providers module (HostsApiModule), since a forced
 * removal is the machines context's work (HostEviction: machines back to registered, billing
 * stopped, owners told); once the host is gone, HostDeleted tells the agents context to retire
 * its agent.
 */
@Injectable()
export class HostRemoval {
  constructor(
    private readonly db: Database,
    private readonly hosts: HostsService,
    private readonly eviction: HostEviction,
    private readonly events: EventEmitter2,
    private readonly eventLog: EventLog,
  ) {}

  /**
   * Deletes the host. While machines are stored on it: 409, unless forced with its name typed
   * again (confirmName), which sends each of them back to `registered` and tells its owner.
   */
  async remove(user: AuthUser, id: string, options: { force?: boolean; confirmName?: string } = {}): Promise<void> {
    const row = await this.hosts.ownHost(user, id);
    if (options.force) {
      if (options.confirmName !== row.name) {
        const stored = await this.hosts.machineCount(row.id);
        const message = `host ${row.name} still stores ${plural(stored, 'machine')}; to remove it anyway, confirm with its name: confirmName "${row.name}"`;
        throw new ApiError(409, message, { fields: { confirmName: [message] } });
      }
      await this.eviction.evict(user, row);
      this.deleted(row);
      return;
    }
    await this.db.transaction(async (em) => {
      const stored = await em.countBy(Machine, { hostId: row.id, state: Not<MachineState>('deleted') });
      if (stored > 0) throw conflict(`host ${row.name} still stores ${plural(stored, 'machine')}; they must leave first`);
      // Only while nothing is reserved: a machine being stored concurrently makes this delete nothing.
      const result = await em.delete(Host, { id: row.id, reservedSpeed: 0, reservedMemory: 0, reservedStorage: 0 });
      if (result.affected !== 1) throw conflict(`host ${row.name} is receiving a machine; try again later`);
      await em.update(Machine, { hostId: row.id, state: 'deleted' }, { hostId: null });
      await this.eventLog.record(em, hostRemovedEvent(user, row, 0));
    });
    this.deleted(row);
  }

  /** After the answer's work is done: listeners (the agent's retirement) run on their own. */
  private deleted(host: Host): void {
    this.events.emit(HostDeleted.event, new HostDeleted(host.id, host.name, host.agentId));
  }
}
