import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { PriceHistoryDto, PriceHistoryQueryDto, ResourcePriceHistoryDto } from '@virtuoso/contracts';
import { IdParam } from '../common/id-param';
import { ApiErrors, ApiIdParam, ApiSignedIn } from '../common/api-docs';
import { Public } from '../common/auth.decorators';
import { PriceHistoryService } from './price-history.service';

@ApiTags('market')
@Controller()
export class PriceHistoryController {
  constructor(private readonly history: PriceHistoryService) {}

  @Public()
  @Get('catalog/:id/price-history')
  @ApiTags('catalog')
  @ApiIdParam('configuration')
  @ApiOperation({
    summary: 'Market averages of a catalog configuration over time, for a chart (at most 200 points)',
    description: 'Recorded by each market-average pass. Each point is the last one recorded in its bucket of [from, to].',
  })
  @ApiOkResponse({ type: PriceHistoryDto, description: 'The points, oldest first, and the latest point.' })
  @ApiErrors(400, 404)
  getConfigurationPriceHistory(@IdParam() id: string, @Query() query: PriceHistoryQueryDto): Promise<PriceHistoryDto> {
    return this.history.configurationHistory(id, query);
  }

  @Get('market/price-history')
  @ApiSignedIn()
  @ApiOperation({
    summary: 'Mean resource prices of the whole market over time (at most 200 points)',
    description: 'Units: $ per second for 1000 bogomips, $ per second per MB of memory, $ per day for 100 MB of storage; each host counts once.',
  })
  @ApiOkResponse({ type: ResourcePriceHistoryDto, description: 'The points, oldest first, and the latest point.' })
  @ApiErrors(400, 401)
  getMarketPriceHistory(@Query() query: PriceHistoryQueryDto): Promise<ResourcePriceHistoryDto> {
    return this.history.resourceHistory(query);
  }
}
