import { Injectable } from '@nestjs/common';
import type { MachineDto } from '@virtuoso/contracts';
import { allowedActions } from '@virtuoso/domain';
import { AuthUser } from '../common/auth.decorators';
import { Database } from '../common/database.service';
import { ApiError, conflict } from '../common/errors';
import { MediaService } from '../media/media.service';
import { MachineAgent } from './machine-agent.service';
import { MachineDtoMapper } from './machine-dto.mapper';
import { MachineLifecycle } from './machine-lifecycle.service';
import { Machine } from './machine.entity';
import { MachineStore } from './machine-store.service';

/**
 * A machine's CD-ROM drive: an ISO of the buyer's media library put in or taken out. Not a
 * lifecycle step: the machine keeps its state and version; only its mediaId changes.
 */
@Injectable()
export class MachineMedia {
  constructor(
    private readonly db: Database,
    private readonly lifecycle: MachineLifecycle,
    private readonly agent: MachineAgent,
    private readonly machineStore: MachineStore,
    private readonly media: MediaService,
    private readonly mapper: MachineDtoMapper,
  ) {}

  /**
   * Puts an ISO of the buyer's library in the machine's CD-ROM drive: live while running, else
   * remembered by the agent for the next start (boot from it with start's bootFrom: 'cdrom').
   */
  async attach(user: AuthUser, id: string, mediaId: string): Promise<MachineDto> {
    const machine = await this.lifecycle.find(user, id);
    this.checkMediaState(machine, 'attach media to');
    const medium = await this.media.own(user, mediaId);
    const target = await this.agent.targetOf(machine.hostId);
    const ungrant = target.agentId ? await this.media.grant(target.agentId, medium.id) : async () => undefined;
    try {
      const seen = await this.agent.gateway.attachMedia(target, {
        machineId: machine.id,
        version: machine.version,
        media: { id: medium.id, sha256: medium.sha256 },
      });
      this.agent.checkAgentVersion(machine, 'attach media', seen, machine.version);
    } catch (error) {
      throw this.agent.failure(machine, `attach ${medium.name} to`, error);
    } finally {
      await ungrant().catch(() => undefined);
    }
    return this.mapper.toDto(await this.recordMedia(user, machine, medium.id));
  }

  /** Takes the medium out of the drive (live while running). */
  async eject(user: AuthUser, id: string): Promise<MachineDto> {
    const machine = await this.lifecycle.find(user, id);
    if (machine.mediaId === null) return this.mapper.toDto(machine);
    this.checkMediaState(machine, 'eject media of');
    const target = await this.agent.targetOf(machine.hostId);
    try {
      const seen = await this.agent.gateway.ejectMedia(target, { machineId: machine.id, version: machine.version });
      this.agent.checkAgentVersion(machine, 'eject media', seen, machine.version);
    } catch (error) {
      throw this.agent.failure(machine, 'eject the media of', error);
    }
    return this.mapper.toDto(await this.recordMedia(user, machine, null));
  }

  private checkMediaState(machine: Machine, what: string): void {
    if (!['stored', 'stopped', 'running'].includes(machine.state)) {
      throw new ApiError(409, `Cannot ${what} a machine that is ${machine.state}: only stored, stopped or running machines have a CD-ROM drive to change`, {
        allowedActions: allowedActions(machine.state),
      });
    }
  }

  private async recordMedia(user: AuthUser, machine: Machine, mediaId: string | null): Promise<Machine> {
    return this.db.transaction(async (em) => {
      const fresh = await em.findOneByOrFail(Machine, { id: machine.id });
      const written = await this.machineStore.write(em, fresh, { mediaId }, { actorId: user.id });
      if (!written) throw conflict(`machine ${machine.name} changed meanwhile; reload it`);
      return written;
    });
  }
}
