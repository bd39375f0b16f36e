import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CatalogModule } from '../catalog/catalog.module';
import { HOST_AGENT_GATEWAY } from '../machines/host-agent.gateway';
import { Machine } from '../machines/machine.entity';
import { MachineCoreModule } from '../machines/machine-core.module';
import { Migration } from '../migrations/migration.entity';
import { Host } from '../providers/host.entity';
import { ProvidersModule } from '../providers/providers.module';
import { Agent } from './agent.entity';
import { AgentNonce } from './agent-nonce.entity';
import { AgentAuth } from './agent-auth.service';
import { AgentDownloads } from './agent-downloads.service';
import { AgentGateway } from './agent.gateway';
import { AgentsController } from './agents.controller';
import { AgentsService } from './agents.service';
import { HeartbeatAdmission } from './heartbeat-admission';
import { HeartbeatStamps } from './heartbeat-stamps.service';
import { RetireDeletedHostAgent } from './host-deleted.listener';
import { ImageStore } from './image-store.service';
import { JoinToken } from './join-token.entity';
import { ProviderPackageController } from './provider-package.controller';
import { ProviderPackage } from './provider-package.service';
import { Reconciler } from './reconciler.service';

/**
 * Provider agents: join tokens and joins, verified heartbeats, the gateway that sends them signed
 * commands, the reconciler that settles machines from their heartbeats, and the image store they
 * download preconfigured machines from; the provider package that installs an agent.
 */
@Module({
  imports: [TypeOrmModule.forFeature([Agent, AgentNonce, JoinToken, Host, Machine, Migration]), CatalogModule, ProvidersModule, MachineCoreModule],
  controllers: [AgentsController, ProviderPackageController],
  providers: [
    AgentsService,
    AgentAuth,
    AgentDownloads,
    ProviderPackage,
    HeartbeatStamps,
    HeartbeatAdmission,
    ImageStore,
    Reconciler,
    AgentGateway,
    RetireDeletedHostAgent,
    { provide: HOST_AGENT_GATEWAY, useExisting: AgentGateway },
  ],
  exports: [AgentsService, AgentAuth, HeartbeatStamps, HeartbeatAdmission, ImageStore, Reconciler, AgentGateway, HOST_AGENT_GATEWAY],
})
export class AgentsModule {}
