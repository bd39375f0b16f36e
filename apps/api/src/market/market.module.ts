import { Module } from '@nestjs/common';
import { CatalogModule } from '../catalog/catalog.module';
import { ProvidersModule } from '../providers/providers.module';
import { MarketAveragesService } from './market-averages.service';
import { MarketController } from './market.controller';
import { MarketService } from './market.service';

@Module({
  imports: [ProvidersModule, CatalogModule],
  controllers: [MarketController],
  providers: [MarketService, MarketAveragesService],
  exports: [MarketService, MarketAveragesService],
})
export class MarketModule {}
