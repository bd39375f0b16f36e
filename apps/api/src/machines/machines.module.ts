import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountsModule } from '../accounts/accounts.module';
import { AgentsModule } from '../agents/agents.module';
import { BillingModule } from '../billing/billing.module';
import { NetworkModule } from '../network/network.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { CatalogModule } from '../catalog/catalog.module';
import { MarketModule } from '../market/market.module';
import { MediaModule } from '../media/media.module';
import { ProvidersModule } from '../providers/providers.module';
import { BillingSuspensions } from './billing-suspensions.listener';
import { HostEviction } from './host-eviction.service';
import { MachineAgent } from './machine-agent.service';
import { MachineDtoMapper } from './machine-dto.mapper';
import { MachineLifecycle } from './machine-lifecycle.service';
import { MachineMedia } from './machine-media.service';
import { Machine } from './machine.entity';
import { MachineCoreModule } from './machine-core.module';
import { MachinesController } from './machines.controller';
import { MachinesService } from './machines.service';

/**
 * A buyer's machines: the lifecycle, carried out on the host by its agent (AgentsModule's gateway).
 * Billing's holds reach it as events (BillingSuspensions); HostsApiModule, above it, uses HostEviction.
 */
@Module({
  imports: [
    AccountsModule,
    BillingModule,
    NotificationsModule,
    CatalogModule,
    ProvidersModule,
    MarketModule,
    MachineCoreModule,
    AgentsModule,
    MediaModule,
    NetworkModule,
    TypeOrmModule.forFeature([Machine]),
  ],
  controllers: [MachinesController],
  providers: [MachinesService, MachineLifecycle, MachineAgent, MachineMedia, MachineDtoMapper, BillingSuspensions, HostEviction],
  exports: [MachinesService, HostEviction, MachineLifecycle],
})
export class MachinesModule {}
