import { Body, Controller, Get, HttpCode, Post, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { DEFAULT_SEARCH_LIMIT, MachineSpecDto, MarketHostDto, NoOfferExplanationDto, OfferDto, SearchQueryDto } from '@virtuoso/contracts';
import { ApiErrors, ApiSignedIn } from '../common/api-docs';
import { Roles } from '../common/auth.decorators';
import type { Response } from 'express';
import { MarketService } from './market.service';
import { TOTAL_COUNT_DOC, setTotalCount } from './search-limit';

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
    description:
      'Lists hosts whose free resources hold the machine and whose rates do not exceed the asked prices: the `limit` cheapest to run, ' +
      'then to store, then by name. The X-Total-Count header counts every such host.',
  })
  @ApiOkResponse({ type: OfferDto, isArray: true, description: 'The cheapest matching hosts, cheapest to run first.', headers: TOTAL_COUNT_DOC })
  @ApiErrors(400, 401, 403)
  async searchMarket(@Body() dto: MachineSpecDto, @Query() query: SearchQueryDto, @Res({ passthrough: true }) res: Response): Promise<OfferDto[]> {
    const { offers, total } = await this.market.searchSpec(dto, query.limit ?? DEFAULT_SEARCH_LIMIT);
    setTotalCount(res, total);
    return offers;
  }

  @Post('search/explain')
  @HttpCode(200)
  @Roles('buyer')
  @ApiOperation({
    summary: 'Why a search finds no host: size, price or offline, and what would fit',
    description: 'Same body as POST /api/market/search. Reason size: the largest free resources; price: the cheapest prices of the hosts with room.',
  })
  @ApiOkResponse({ type: NoOfferExplanationDto, description: 'The reason and what would fit.' })
  @ApiErrors(400, 401, 403)
  explainMarketSearch(@Body() dto: MachineSpecDto): Promise<NoOfferExplanationDto> {
    return this.market.explainSpec(dto);
  }
}
