import { Module } from '@nestjs/common';
import { CatalogModule } from '../catalog/catalog.module';
import { ProvidersModule } from '../providers/providers.module';
import { MarketAveragesService } from './market-averages.service';
import { MarketController } from './market.controller';
import { MarketService } from './market.service';
import { PriceHistoryController } from './price-history.controller';
import { PriceHistoryService } from './price-history.service';

@Module({
  imports: [ProvidersModule, CatalogModule],
  controllers: [MarketController, PriceHistoryController],
  providers: [MarketService, MarketAveragesService, PriceHistoryService],
  exports: [MarketService, MarketAveragesService, PriceHistoryService],
})
export class MarketModule {}
