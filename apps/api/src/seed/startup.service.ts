import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { BillingPassService } from '../billing/billing-pass.service';
import { CatalogService } from '../catalog/catalog.service';
import { Daemons } from '../common/daemons';
import { ADVISORY_LOCKS, Leadership } from '../common/leadership';
import { APP_CONFIG, AppConfig } from '../config';
import { MarketAveragesService } from '../market/market-averages.service';
import { NotificationsService } from '../notifications/notifications.service';
import { RUNTIME_OPTIONS, RuntimeOptions } from '../runtime-options';
import { DemoSeedService } from './demo-seed.service';

export { RUNTIME_OPTIONS, RuntimeOptions };

/**
 * Runs once the app is up, in order: catalog, demo accounts, then the daemons (whose first pass
 * sees them). Replicas booting together on PostgreSQL seed one after another under an advisory
 * lock, so the second finds the rows and adds none (docs/ARCHITECTURE.md §12). The daemons' boot
 * work runs when this replica becomes the leader (common/daemons.ts), in the order registered.
 */
@Injectable()
export class StartupService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Startup');

  constructor(
    private readonly catalog: CatalogService,
    private readonly demo: DemoSeedService,
    private readonly averages: MarketAveragesService,
    private readonly billing: BillingPassService,
    private readonly notifications: NotificationsService,
    private readonly daemons: Daemons,
    private readonly leadership: Leadership,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(RUNTIME_OPTIONS) private readonly options: RuntimeOptions,
  ) {}

  /** The catalog and (per VIRTUOSO_SEED_DEMO) the demo accounts, when missing; one replica at a time. */
  seed(): Promise<void> {
    return this.leadership.exclusively(ADVISORY_LOCKS.seed, async () => {
      const added = await this.catalog.seedIfEmpty();
      if (added > 0) this.logger.log(`seeded the catalog with ${added} configurations`);
      if (this.config.seedDemo) {
        await this.demo.seedIfEmpty();
        await this.demo.writeAgentTokens();
      }
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.options.seed) await this.seed();
    if (this.options.daemons) {
      await this.averages.start();
      await this.billing.start();
      this.daemons.onLeadership('notifications', async () => void this.notifications.dispatch());
      await this.daemons.start();
    }
  }
}
