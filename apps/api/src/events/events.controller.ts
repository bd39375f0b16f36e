import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  EventListDto,
  EventPageQueryDto,
  MachineEventListDto,
  MachineEventPageQueryDto,
  OperatorEventListDto,
  OperatorEventQueryDto,
} from '@virtuoso/contracts';
import { ApiErrors, ApiIdParam, ApiSignedIn } from '../common/api-docs';
import { AuthUser, CurrentUser, Roles } from '../common/auth.decorators';
import { IdParam } from '../common/id-param';
import { EventQueries } from './event-queries.service';

@ApiTags('events')
@ApiSignedIn()
@Controller()
export class EventsController {
  constructor(private readonly queries: EventQueries) {}

  @Get('machines/:id/events')
  @Roles('buyer')
  @ApiIdParam('machine')
  @ApiOperation({
    summary: "My machine's history: stored, started, stopped, migrated, charged, what failed and why",
    description:
      "Its events merged with what it was charged (billing.charged, read from the ledger: one entry per billing pass that charged it), by the time they were recorded; newest first by default; page with `cursor` (the previous page's `next`).",
  })
  @ApiOkResponse({ type: MachineEventListDto, description: 'The events and charges, and the cursor of the next page.' })
  @ApiErrors(400, 401, 403, 404)
  machineEvents(@CurrentUser() user: AuthUser, @IdParam() id: string, @Query() query: MachineEventPageQueryDto): Promise<MachineEventListDto> {
    return this.queries.machineHistory(user, id, query);
  }

  @Get('hosts/:id/events')
  @Roles('provider')
  @ApiIdParam('host')
  @ApiOperation({
    summary: "My host's history: its agent joined, went offline and back, machines arrived and left, commands and the agent's own events",
    description: "Newest first by default; page with `cursor` (the previous page's `next`).",
  })
  @ApiOkResponse({ type: EventListDto, description: 'The events and the cursor of the next page.' })
  @ApiErrors(400, 401, 403, 404)
  hostEvents(@CurrentUser() user: AuthUser, @IdParam() id: string, @Query() query: EventPageQueryDto): Promise<EventListDto> {
    return this.queries.hostHistory(user, id, query);
  }

  @Get('account/events')
  @ApiOperation({
    summary: "My account's history: sign-ins, failed sign-ins as me, top-ups",
    description: "Newest first by default; page with `cursor` (the previous page's `next`).",
  })
  @ApiOkResponse({ type: EventListDto, description: 'The events and the cursor of the next page.' })
  @ApiErrors(400, 401)
  accountEvents(@CurrentUser() user: AuthUser, @Query() query: EventPageQueryDto): Promise<EventListDto> {
    return this.queries.accountHistory(user, query);
  }

  @Get('operator/events')
  @Roles('operator')
  @ApiOperation({
    summary: "The market's event log (operators): every event of the front-end and the agents, in one global order",
    description: 'Filters: kind or category, source, machine, host, user, time range; newest first by default, page with `cursor`.',
  })
  @ApiOkResponse({ type: OperatorEventListDto, description: 'The events and the cursor of the next page.' })
  @ApiErrors(400, 401, 403)
  operatorEvents(@Query() query: OperatorEventQueryDto): Promise<OperatorEventListDto> {
    return this.queries.operatorLog(query);
  }
}
