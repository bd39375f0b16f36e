import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Agent } from '../agents/agent.entity';
import { AgentsModule } from '../agents/agents.module';
import { Machine } from '../machines/machine.entity';
import { Host } from '../providers/host.entity';
import { NETWORK_ENTITIES } from './network.entities';
import { NetworkJoin } from './network-join.service';
import { NetworkSync } from './network-sync.service';
import { MachineNetworkController, NetworkController } from './network.controller';
import { NetworkService } from './network.service';
import { SshKeysController } from './ssh-keys.controller';
import { SshKeysService } from './ssh-keys.service';

/**
 * Guest networking (docs/ARCHITECTURE.md §11): the buyers' ssh keys, their private networks and
 * their machines' places in them, and the sync that tells agents what to hold. Below the machines
 * context (which asks it for a start's address and network config); others announce changes as
 * NetworkChanged events.
 */
@Module({
  imports: [TypeOrmModule.forFeature([...NETWORK_ENTITIES, Machine, Host, Agent]), AgentsModule],
  controllers: [SshKeysController, MachineNetworkController, NetworkController],
  providers: [SshKeysService, NetworkService, NetworkSync, NetworkJoin],
  exports: [NetworkService, NetworkSync, SshKeysService],
})
export class NetworkModule {}
