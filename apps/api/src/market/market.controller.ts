import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MachineSpecDto, MarketHostDto, OfferDto } from '@virtuoso/contracts';
import { ApiErrors, ApiSignedIn } from '../common/api-docs';
import { Roles } from '../common/auth.decorators';
import { MarketService } from './market.service';

@ApiTags('market')
@ApiSignedIn()
@Controller('market')
export class MarketController {
  constructor(private readonly market: MarketService) {}

  @Get('hosts')
  @ApiOperation({ summary: 'Provider marketplace: every host with its free resources and prices (report fig. 33)' })
  @ApiOkResponse({ type: MarketHostDto, isArray: true, description: 'Every host, by name.' })
  @ApiErrors(401)
  listMarketHosts(): Promise<MarketHostDto[]> {
    return this.market.marketplace();
  }

  @Post('search')
  @HttpCode(200)
  @Roles('buyer')
  @ApiOperation({
    summary: 'Search providers for a configuration not registered yet',
    description: 'Lists hosts whose free resources hold the machine and whose rates do not exceed the asked prices, cheapest to run first.',
  })
  @ApiOkResponse({ type: OfferDto, isArray: true, description: 'Matching hosts, cheapest to run first.' })
  @ApiErrors(400, 401, 403)
  searchMarket(@Body() dto: MachineSpecDto): Promise<OfferDto[]> {
    return this.market.searchSpec(dto);
  }
}
