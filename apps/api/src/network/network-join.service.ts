import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { NetworkDto } from '@virtuoso/contracts';
import { NETWORK_PREFIX_LENGTH, deviceAddress, subnetFor } from '@virtuoso/domain';
import { Repository } from 'typeorm';
import { AuthUser } from '../common/auth.decorators';
import { conflict } from '../common/errors';
import { joinScript } from './join-script';
import { NetworkSync } from './network-sync.service';
import { NetworkService } from './network.service';
import { SshKey } from './ssh-key.entity';

/** The buyer's network page and the join script of their own computers (they need the hub). */
@Injectable()
export class NetworkJoin {
  constructor(
    private readonly network: NetworkService,
    private readonly sync: NetworkSync,
    @InjectRepository(SshKey) private readonly keys: Repository<SshKey>,
  ) {}

  async networkDto(user: Pick<AuthUser, 'id'>): Promise<NetworkDto> {
    const network = await this.network.networkOf(user.id);
    const hub = await this.sync.hubFor(network);
    return this.network.networkDto(user, hub?.agent.id ?? null);
  }

  /** GET /api/network/join.sh: 409 naming what is missing (a key, a running machine on a host that can be the hub). */
  async script(user: Pick<AuthUser, 'id'>, device: number): Promise<string> {
    const keys = await this.keys.find({ where: { userId: user.id }, order: { createdAt: 'ASC', id: 'ASC' } });
    if (keys.length === 0) throw conflict('your account has no ssh key: add one on the account page first (your computer joins with it)');
    const network = await this.network.networkOf(user.id);
    const hub = await this.sync.hubFor(network);
    if (!hub) {
      throw conflict(
        'none of your machines runs on a host that can take your computer into your private network: start a machine first (on a host whose agent runs a transfer sshd and has VDE)',
      );
    }
    const subnet = subnetFor(network.index);
    return joinScript({
      networkId: network.id,
      subnet,
      device,
      address: deviceAddress(subnet, device),
      prefixLength: NETWORK_PREFIX_LENGTH,
      hub: {
        host: hub.agent.agentHost,
        sshPort: hub.agent.transferSshPort!,
        sshUser: hub.agent.transferSshUser!,
        hostKey: hub.agent.transferHostKey!,
        hostName: hub.host.name,
      },
      fingerprints: keys.map((k) => `${k.fingerprint} ${k.name}`),
    });
  }
}
