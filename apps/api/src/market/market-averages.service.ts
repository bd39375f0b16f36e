import { Inject, Injectable, Logger } from '@nestjs/common';
import { type MarketAverage, marketAverage, meanResourcePrices } from '@virtuoso/domain';
import { CatalogService } from '../catalog/catalog.service';
import { CLOCK, Clock, isoOf } from '../common/clock';
import { Daemons, SinglePass } from '../common/daemons';
import { APP_CONFIG, AppConfig } from '../config';
import { MarketHosts } from '../providers/market-hosts.service';
import { PriceHistoryService } from './price-history.service';

export interface AveragesPass {
  /** Catalog entries whose averages were recomputed. */
  updated: number;
  /** Entries no host could hold: their last price stays. */
  kept: number;
}

/**
 * The market-average daemon (report §6.1.9, priceaverage.pl): for each catalog entry, the mean
 * storage and running price over every host that could hold it, refreshed on an interval.
 */
@Injectable()
export class MarketAveragesService {
  private readonly logger = new Logger('MarketAverages');
  private readonly passes = new SinglePass<AveragesPass>();

  constructor(
    private readonly catalog: CatalogService,
    private readonly hosts: MarketHosts,
    private readonly history: PriceHistoryService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly daemons: Daemons,
  ) {}

  /** On the leader: a pass on becoming it, then every VIRTUOSO_MARKET_INTERVAL_SECONDS until the app closes. */
  async start(): Promise<void> {
    this.daemons.onLeadership('market-averages', () => this.runPassSafely());
    this.daemons.every('market-averages', this.config.marketIntervalSeconds, () => this.runPassSafely());
  }

  /** One pass over the catalog. Overlapping calls share the pass in progress. */
  runPass(): Promise<AveragesPass> {
    return this.passes.run(() => this.pass());
  }

  private async runPassSafely(): Promise<void> {
    try {
      await this.runPass();
    } catch (error) {
      this.logger.error(`market-average pass failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async pass(): Promise<AveragesPass> {
    const [entries, hosts] = await Promise.all([this.catalog.all(), this.hosts.marketHosts()]);
    const now = this.clock.now();
    const at = isoOf(now);
    const result: AveragesPass = { updated: 0, kept: 0 };
    const recorded: Array<{ configurationId: string; average: MarketAverage }> = [];
    for (const entry of entries) {
      const average = marketAverage(hosts, { speed: entry.speed, memory: entry.memory, disk: entry.disk });
      if (!average) {
        result.kept += 1;
        continue;
      }
      await this.catalog.setAverages(entry.id, average, at);
      recorded.push({ configurationId: entry.id, average });
      result.updated += 1;
    }
    // Price history: what this pass found (a configuration no host fits records nothing).
    await this.history.record(now, recorded, meanResourcePrices(hosts.map((host) => host.prices)));
    return result;
  }
}
