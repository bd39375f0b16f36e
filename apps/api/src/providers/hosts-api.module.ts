import { Module } from '@nestjs/common';
import { MachinesModule } from '../machines/machines.module';
import { HostRemoval } from './host-removal.service';
import { HostsController } from './hosts.controller';
import { ProvidersModule } from './providers.module';

/**
 * A provider's /api/hosts routes. Apart from ProvidersModule (the host records, which billing,
 * agents, the market and machines read) because removing a host that still stores machines is
 * the machines context's work: this module sits above both, so neither needs to look the other up.
 */
@Module({
  imports: [ProvidersModule, MachinesModule],
  controllers: [HostsController],
  providers: [HostRemoval],
})
export class HostsApiModule {}
