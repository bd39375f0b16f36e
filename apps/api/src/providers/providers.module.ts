import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountsModule } from '../accounts/accounts.module';
import { Agent } from '../agents/agent.entity';
import { Machine } from '../machines/machine.entity';
import { Host } from './host.entity';
import { HostsController } from './hosts.controller';
import { HostsService } from './hosts.service';

@Module({
  imports: [AccountsModule, TypeOrmModule.forFeature([Host, Machine, Agent])],
  controllers: [HostsController],
  providers: [HostsService],
  exports: [HostsService],
})
export class ProvidersModule {}
