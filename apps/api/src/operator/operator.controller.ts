import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { OperatorOverviewDto } from '@virtuoso/contracts';
import { ApiErrors, ApiSignedIn } from '../common/api-docs';
import { Roles } from '../common/auth.decorators';
import { OperatorOverviewService } from './operator-overview.service';

@ApiTags('operator')
@ApiSignedIn()
@Controller('operator')
export class OperatorController {
  constructor(private readonly overview: OperatorOverviewService) {}

  @Get('overview')
  @Roles('operator')
  @ApiOperation({
    summary: 'The market at a glance, for its operator',
    description:
      'Every host with its agent (health, last heartbeat, version, free/total resources, machines), machines by state, ' +
      'migrations under way, and the ledger invariant checked now: the users’ balances sum to what the ledger says they hold.',
  })
  @ApiOkResponse({ type: OperatorOverviewDto, description: 'The market now.' })
  @ApiErrors(401, 403)
  getOverview(): Promise<OperatorOverviewDto> {
    return this.overview.overview();
  }
}
