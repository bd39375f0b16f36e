import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { AgentsModule } from '../agents/agents.module';
import { AuthModule } from '../auth/auth.module';
import { CatalogModule } from '../catalog/catalog.module';
import { MarketModule } from '../market/market.module';
import { ProvidersModule } from '../providers/providers.module';
import { DemoSeedService } from './demo-seed.service';
import { StartupService } from './startup.service';

@Module({
  imports: [AccountsModule, AgentsModule, AuthModule, CatalogModule, ProvidersModule, MarketModule],
  providers: [DemoSeedService, StartupService],
  exports: [DemoSeedService],
})
export class SeedModule {}
