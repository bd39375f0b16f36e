import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiSignedIn } from '../common/api-docs';
import { Roles } from '../common/auth.decorators';
import { Metrics } from './metrics.service';

@ApiTags('operator')
@ApiSignedIn()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  @Get()
  @Roles('operator')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiProduces('text/plain')
  @ApiOperation({
    summary: 'Prometheus metrics of this replica',
    description: 'Prometheus text format; for operators (a session, or an operator’s API token as a bearer token, which is how Prometheus scrapes).',
  })
  @ApiOkResponse({ description: 'Metrics in Prometheus text format.', schema: { type: 'string' } })
  @ApiErrors(401, 403)
  getMetrics(): Promise<string> {
    return this.metrics.text();
  }
}
