import { Inject, Injectable } from '@nestjs/common';
import type { MachineDto, HostRefDto } from '@virtuoso/contracts';
import { allowedActions } from '@virtuoso/domain';
import { AccountsService } from '../accounts/accounts.service';
import { etagOf } from '../common/if-match';
import { APP_CONFIG, AppConfig } from '../config';
import { MediaService } from '../media/media.service';
import { HostsService } from '../providers/hosts.service';
import { Machine } from './machine.entity';

/** What a machine's DTO shows besides its own row: its host as a reference, its medium's name, the stop timeout. */
export interface MachineDtoContext {
  hosts: ReadonlyMap<string, HostRefDto>;
  mediaNames: ReadonlyMap<string, string>;
  stopTimeoutMs: number;
}

/** A machine row as the API shows it (pure: everything it looks up comes in `context`). */
export function toMachineDto(machine: Machine, context: MachineDtoContext): MachineDto {
  return {
    id: machine.id,
    name: machine.name,
    processor: machine.processor,
    speed: machine.speed,
    os: machine.os,
    memory: machine.memory,
    disk: machine.disk,
    preconfigured: machine.preconfigured,
    image: machine.image,
    state: machine.state,
    version: machine.version,
    etag: etagOf(machine.version, machine.revision),
    allowedActions: allowedActions(machine.state),
    askedStoragePerMonth: machine.askedStoragePerMonth,
    askedRunningPerHour: machine.askedRunningPerHour,
    host: (machine.hostId && context.hosts.get(machine.hostId)) || null,
    storagePrice: machine.storagePrice,
    storageAmount: machine.storageAmount,
    runningPrice: machine.runningPrice,
    runningUnitAmount: machine.runningUnitAmount,
    macAddress: machine.macAddress,
    registrationFee: machine.registrationFee,
    lastError: machine.lastError,
    media: machine.mediaId ? { id: machine.mediaId, name: context.mediaNames.get(machine.mediaId) ?? '?' } : null,
    createdAt: machine.createdAt,
    stopTimeoutSeconds: context.stopTimeoutMs / 1000,
    // Only a preconfigured image is known to hold a system that answers the power button; what a
    // buyer installs on a blank machine is unknown here, so its stop may be forced after the timeout.
    hasOperatingSystem: machine.preconfigured,
  };
}

const presentIds = (ids: Array<string | null>): string[] => [...new Set(ids.filter((id): id is string => id !== null))];

/** Machine rows to DTOs, looking up their hosts (name, owner, online) and media names once per batch. */
@Injectable()
export class MachineDtoMapper {
  constructor(
    private readonly accounts: AccountsService,
    private readonly hosts: HostsService,
    private readonly media: MediaService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async toDto(machine: Machine): Promise<MachineDto> {
    return (await this.toDtos([machine]))[0];
  }

  async toDtos(machines: Machine[]): Promise<MachineDto[]> {
    const hostIds = presentIds(machines.map((machine) => machine.hostId));
    const hosts = hostIds.length ? await this.hosts.findByIds(hostIds) : [];
    const owners = await this.accounts.handlesOf(hosts.map((host) => host.ownerId));
    const status = await this.hosts.agentStatus(hosts);
    const refs = new Map(
      hosts.map((host) => [host.id, { id: host.id, name: host.name, owner: owners.get(host.ownerId) ?? '?', online: status.get(host.id)?.online ?? false }]),
    );
    const mediaNames = await this.media.namesOf(presentIds(machines.map((machine) => machine.mediaId)));
    const context: MachineDtoContext = { hosts: refs, mediaNames, stopTimeoutMs: this.config.stopTimeoutMs };
    return machines.map((machine) => toMachineDto(machine, context));
  }
}
