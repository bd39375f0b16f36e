import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountsModule } from '../accounts/accounts.module';
import { Agent } from '../agents/agent.entity';
import { Machine } from '../machines/machine.entity';
import { Host } from './host.entity';
import { HostsService } from './hosts.service';
import { MarketHosts } from './market-hosts.service';

/** Hosts: their records, capacity reservations, agent status and the market's reads. Their routes are HostsApiModule's. */
@Module({
  imports: [AccountsModule, TypeOrmModule.forFeature([Host, Machine, Agent])],
  providers: [HostsService, MarketHosts],
  exports: [HostsService, MarketHosts],
})
export class ProvidersModule {}
