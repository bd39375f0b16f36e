import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountsModule } from '../accounts/accounts.module';
import { AgentsModule } from '../agents/agents.module';
import { BillingModule } from '../billing/billing.module';
import { MACHINE_CONTROL } from '../billing/machine-control';
import { NotificationsModule } from '../notifications/notifications.module';
import { HOST_EVICTOR } from '../providers/host-evictor';
import { CatalogModule } from '../catalog/catalog.module';
import { MarketModule } from '../market/market.module';
import { MediaModule } from '../media/media.module';
import { ProvidersModule } from '../providers/providers.module';
import { HostEviction } from './host-eviction.service';
import { Machine } from './machine.entity';
import { MachineCoreModule } from './machine-core.module';
import { MachinesController } from './machines.controller';
import { MachinesService } from './machines.service';

/** A buyer's machines: the lifecycle, carried out on the host by its agent (AgentsModule's gateway). */
@Module({
  imports: [AccountsModule, BillingModule, NotificationsModule, CatalogModule, ProvidersModule, MarketModule, MachineCoreModule, AgentsModule, MediaModule, TypeOrmModule.forFeature([Machine])],
  controllers: [MachinesController],
  providers: [
    MachinesService,
    HostEviction,
    { provide: MACHINE_CONTROL, useExisting: MachinesService },
    { provide: HOST_EVICTOR, useExisting: HostEviction },
  ],
  exports: [MachinesService],
})
export class MachinesModule {}
