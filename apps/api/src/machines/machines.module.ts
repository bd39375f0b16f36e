import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountsModule } from '../accounts/accounts.module';
import { AgentsModule } from '../agents/agents.module';
import { CatalogModule } from '../catalog/catalog.module';
import { MarketModule } from '../market/market.module';
import { MediaModule } from '../media/media.module';
import { ProvidersModule } from '../providers/providers.module';
import { Machine } from './machine.entity';
import { MachineCoreModule } from './machine-core.module';
import { MachinesController } from './machines.controller';
import { MachinesService } from './machines.service';

/** A buyer's machines: the lifecycle, carried out on the host by its agent (AgentsModule's gateway). */
@Module({
  imports: [AccountsModule, CatalogModule, ProvidersModule, MarketModule, MachineCoreModule, AgentsModule, MediaModule, TypeOrmModule.forFeature([Machine])],
  controllers: [MachinesController],
  providers: [MachinesService],
  exports: [MachinesService],
})
export class MachinesModule {}
