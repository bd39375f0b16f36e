import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Query } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CreateHostDto, HostDto, RemoveHostDto, RemoveHostQueryDto, UpdateHostDto } from '@virtuoso/contracts';
import { IdParam } from '../common/id-param';
import { ApiErrors, ApiIdParam, ApiSignedIn } from '../common/api-docs';
import { AuthUser, CurrentUser, Roles } from '../common/auth.decorators';
import { Idempotent } from '../common/idempotency.interceptor';
import { HostRemoval } from './host-removal.service';
import { HostsService } from './hosts.service';

@ApiTags('hosts')
@ApiSignedIn()
@Roles('provider')
@Controller('hosts')
export class HostsController {
  constructor(
    private readonly hosts: HostsService,
    private readonly removal: HostRemoval,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List my hosts, with free resources and machine counts' })
  @ApiOkResponse({ type: HostDto, isArray: true, description: 'My hosts, oldest first.' })
  @ApiErrors(401, 403)
  listHosts(@CurrentUser() user: AuthUser): Promise<HostDto[]> {
    return this.hosts.listMine(user);
  }

  @Post()
  @ApiOperation({
    summary: 'Add a host: totals, units, unit prices and periods (report fig. 27)',
    description: 'To copy a host, read it and post its fields under a new name.',
  })
  @ApiCreatedResponse({ type: HostDto, description: 'The new host.' })
  @ApiErrors(400, 401, 403, [409, 'A host of yours has that name, or the host quota is reached (VIRTUOSO_QUOTA_HOSTS).'])
  @Idempotent()
  createHost(@CurrentUser() user: AuthUser, @Body() dto: CreateHostDto): Promise<HostDto> {
    return this.hosts.create(user, dto);
  }

  @Get(':id')
  @ApiIdParam('host')
  @ApiOperation({ summary: 'One of my hosts' })
  @ApiOkResponse({ type: HostDto, description: 'The host.' })
  @ApiErrors(400, 401, 403, 404)
  getHost(@CurrentUser() user: AuthUser, @IdParam() id: string): Promise<HostDto> {
    return this.hosts.getMine(user, id);
  }

  @Patch(':id')
  @ApiIdParam('host')
  @ApiOperation({
    summary: "Edit a host's units, unit prices and periods",
    description: 'Totals and the other fields are locked (400 naming the field). Not retroactive: machines already stored keep their prices.',
  })
  @ApiOkResponse({ type: HostDto, description: 'The host.' })
  @ApiErrors(400, 401, 403, 404)
  updateHost(@CurrentUser() user: AuthUser, @IdParam() id: string, @Body() dto: UpdateHostDto): Promise<HostDto> {
    return this.hosts.update(user, id, dto);
  }

  @Delete(':id')
  @ApiIdParam('host')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Delete a host',
    description:
      'Refused (409) while machines are stored on it, unless forced: `?force=true` with `{"confirmName": "<the host\'s name>"}`. ' +
      'Each machine stored there then goes back to registered (its configuration kept, its disk gone with the host), its ' +
      "billing stops, and its owner gets a notice and an email naming the provider's handle and contact email.",
  })
  @ApiBody({ type: RemoveHostDto, required: false, description: "Only for a forced removal: the host's name typed again." })
  @ApiNoContentResponse({ description: 'Deleted.' })
  @ApiErrors(400, 401, 403, 404, 409)
  deleteHost(@CurrentUser() user: AuthUser, @IdParam() id: string, @Query() query: RemoveHostQueryDto, @Body() dto: RemoveHostDto): Promise<void> {
    return this.removal.remove(user, id, { force: query.force ?? false, confirmName: dto.confirmName });
  }

  @Delete(':id/agent')
  @ApiIdParam('host')
  @HttpCode(204)
  @ApiOperation({
    summary: "Revoke a host's agent (rotate its secret)",
    description:
      "The agent's secret stops working at once and the host is offline until a new agent joins with a join token made " +
      'with this hostId (POST /api/agents/join-tokens {"hostId": …}); its machines stay stored on the host.',
  })
  @ApiNoContentResponse({ description: 'Revoked.' })
  @ApiErrors(400, 401, 403, 404, [409, 'The host has no agent.'])
  revokeAgent(@CurrentUser() user: AuthUser, @IdParam() id: string): Promise<void> {
    return this.hosts.revokeAgent(user, id);
  }
}
