import { DynamicModule, Module, Type } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountsModule } from '../accounts/accounts.module';
import { CatalogModule } from '../catalog/catalog.module';
import { MarketModule } from '../market/market.module';
import { ProvidersModule } from '../providers/providers.module';
import { HOST_AGENT_GATEWAY, HostAgentGateway } from './host-agent.gateway';
import { Machine } from './machine.entity';
import { MachinesController } from './machines.controller';
import { MachinesService } from './machines.service';
import { NoAgentGateway } from './no-agent.gateway';

@Module({})
export class MachinesModule {
  /** `gateway` replaces the NoAgentGateway (tests use a failing one; the agent issue brings the real one). */
  static register(gateway?: HostAgentGateway | Type<HostAgentGateway>): DynamicModule {
    const provider =
      gateway === undefined
        ? { provide: HOST_AGENT_GATEWAY, useClass: NoAgentGateway }
        : typeof gateway === 'function'
          ? { provide: HOST_AGENT_GATEWAY, useClass: gateway }
          : { provide: HOST_AGENT_GATEWAY, useValue: gateway };
    return {
      module: MachinesModule,
      imports: [AccountsModule, CatalogModule, ProvidersModule, MarketModule, TypeOrmModule.forFeature([Machine])],
      controllers: [MachinesController],
      providers: [MachinesService, provider],
      exports: [MachinesService],
    };
  }
}
