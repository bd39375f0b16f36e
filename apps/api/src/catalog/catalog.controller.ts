import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ConfigurationDto } from '@virtuoso/contracts';
import { Public } from '../common/auth.decorators';
import { CatalogService } from './catalog.service';

@ApiTags('catalog')
@Controller('catalog')
export class CatalogController {
  constructor(private readonly catalog: CatalogService) {}

  @Public()
  @Get()
  @ApiOperation({ summary: 'Browse machines: standard configurations, then preconfigured machines, with market-average prices' })
  @ApiOkResponse({ type: ConfigurationDto, isArray: true, description: 'The catalog.' })
  listCatalog(): Promise<ConfigurationDto[]> {
    return this.catalog.list();
  }
}
