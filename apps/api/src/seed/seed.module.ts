import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module';
import { AgentsModule } from '../agents/agents.module';
import { AuthModule } from '../auth/auth.module';
import { BillingModule } from '../billing/billing.module';
import { CatalogModule } from '../catalog/catalog.module';
import { MarketModule } from '../market/market.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { ProvidersModule } from '../providers/providers.module';
import { DemoSeedService } from './demo-seed.service';
import { StartupService } from './startup.service';

@Module({
  imports: [AccountsModule, AgentsModule, AuthModule, CatalogModule, ProvidersModule, MarketModule, BillingModule, NotificationsModule],
  providers: [DemoSeedService, StartupService],
  exports: [DemoSeedService],
})
export class SeedModule {}
