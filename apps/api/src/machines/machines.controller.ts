import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Res, UseInterceptors } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiResponseOptions, ApiTags } from '@nestjs/swagger';
import { AttachMediaDto, MachineDto, OfferDto, RegisterMachineDto, StartMachineDto, StoreMachineDto, UpdateMachineDto } from '@virtuoso/contracts';
import { ApiErrors, ApiIdParam, ApiIfMatch, ApiSignedIn } from '../common/api-docs';
import { AuthUser, CurrentUser, Roles } from '../common/auth.decorators';
import { VersionEtagInterceptor } from '../common/etag.interceptor';
import { IfMatch } from '../common/if-match';
import type { Response } from 'express';
import { ApiSearchLimit, SearchLimit, TOTAL_COUNT_DOC, setTotalCount } from '../market/search-limit';
import { MachinesService } from './machines.service';

/** What an action carried out by the host's agent may answer besides the lifecycle's own errors. */
const AGENT_ERRORS: Array<[number, string]> = [
  [502, "The host's agent refused or failed the action; the machine is back in its previous state and lastError says why."],
  [503, 'The host has no agent, or its agent is not reachable; nothing happened (the machine is back in its previous state).'],
  [504, "The agent did not answer in time; the machine stays in its transient state until the agent's heartbeat settles it."],
];

const machineWithEtag: ApiResponseOptions = {
  type: MachineDto,
  description: 'The machine; the ETag header is its version in quotes.',
  headers: { ETag: { description: 'The machine version, e.g. "1".', schema: { type: 'string', example: '"1"' } } },
};

@ApiTags('machines')
@ApiSignedIn()
@Roles('buyer')
@UseInterceptors(VersionEtagInterceptor)
@Controller('machines')
export class MachinesController {
  constructor(private readonly machines: MachinesService) {}

  @Get()
  @ApiOperation({ summary: 'My computers: my machines that are not deleted, each with the actions its state allows' })
  @ApiOkResponse({ type: MachineDto, isArray: true, description: 'My machines, oldest first.' })
  @ApiErrors(401, 403)
  listMachines(@CurrentUser() user: AuthUser): Promise<MachineDto[]> {
    return this.machines.list(user);
  }

  @Post()
  @ApiOperation({
    summary: 'Register a configuration (charges the registration fee)',
    description: 'With the id of a preconfigured catalog entry, processor, size and OS come from the entry and its disk image is used.',
  })
  @ApiCreatedResponse(machineWithEtag)
  @ApiErrors(400, 401, 402, 403, [409, 'The machine quota is reached (VIRTUOSO_QUOTA_MACHINES).'])
  registerMachine(@CurrentUser() user: AuthUser, @Body() dto: RegisterMachineDto): Promise<MachineDto> {
    return this.machines.register(user, dto);
  }

  @Get(':id')
  @ApiIdParam('machine')
  @ApiOperation({ summary: 'One of my machines' })
  @ApiOkResponse(machineWithEtag)
  @ApiErrors(401, 403, 404)
  getMachine(@CurrentUser() user: AuthUser, @Param('id') id: string): Promise<MachineDto> {
    return this.machines.get(user, id);
  }

  @Patch(':id')
  @ApiIdParam('machine')
  @ApiIfMatch()
  @ApiOperation({ summary: 'Edit a registered configuration: size and asked prices', description: 'Only while registered (409 otherwise).' })
  @ApiOkResponse(machineWithEtag)
  @ApiErrors(400, 401, 403, 404, 409, 412)
  updateMachine(@CurrentUser() user: AuthUser, @Param('id') id: string, @Body() dto: UpdateMachineDto, @IfMatch() ifMatch?: number): Promise<MachineDto> {
    return this.machines.update(user, id, dto, ifMatch);
  }

  @Delete(':id')
  @ApiIdParam('machine')
  @HttpCode(204)
  @ApiIfMatch()
  @ApiOperation({ summary: 'Delete a machine', description: 'Allowed while registered, stored, stopped or suspended; frees its resources on the host.' })
  @ApiNoContentResponse({ description: 'Deleted.' })
  @ApiErrors(401, 403, 404, 409, 412, ...AGENT_ERRORS)
  deleteMachine(@CurrentUser() user: AuthUser, @Param('id') id: string, @IfMatch() ifMatch?: number): Promise<void> {
    return this.machines.remove(user, id, ifMatch);
  }

  @Get(':id/offers')
  @ApiIdParam('machine')
  @ApiOperation({
    summary: 'Search providers for a registered machine at its asked prices (report fig. 11)',
    description: 'The `limit` cheapest to run, then to store, then by name. The X-Total-Count header counts every host that qualifies.',
  })
  @ApiSearchLimit()
  @ApiOkResponse({
    type: OfferDto,
    isArray: true,
    description: 'The cheapest hosts that can hold the machine at its asked prices, cheapest to run first.',
    headers: TOTAL_COUNT_DOC,
  })
  @ApiErrors(400, 401, 403, 404, 409)
  async listMachineOffers(
    @CurrentUser() user: AuthUser,
    @Param('id') id: string,
    @SearchLimit() limit: number,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OfferDto[]> {
    const { offers, total } = await this.machines.offers(user, id, limit);
    setTotalCount(res, total);
    return offers;
  }

  @Post(':id/store')
  @ApiIdParam('machine')
  @HttpCode(200)
  @ApiIfMatch()
  @ApiOperation({
    summary: 'Store a registered machine on a host',
    description: 'Re-checks that the host fits and asks no more than the asked prices, reserves its speed, memory and storage, and fixes the prices.',
  })
  @ApiOkResponse(machineWithEtag)
  @ApiErrors(400, 401, 403, 404, 409, 412, ...AGENT_ERRORS)
  storeMachine(@CurrentUser() user: AuthUser, @Param('id') id: string, @Body() dto: StoreMachineDto, @IfMatch() ifMatch?: number): Promise<MachineDto> {
    return this.machines.store(user, id, dto.hostId, ifMatch);
  }

  @Post(':id/start')
  @ApiIdParam('machine')
  @HttpCode(200)
  @ApiIfMatch()
  @ApiOperation({ summary: 'Start a stored or stopped machine', description: "Optional body: bootFrom 'cdrom' boots the attached install media first." })
  @ApiOkResponse(machineWithEtag)
  @ApiErrors(400, 401, 403, 404, 409, 412, ...AGENT_ERRORS)
  startMachine(@CurrentUser() user: AuthUser, @Param('id') id: string, @Body() dto: StartMachineDto, @IfMatch() ifMatch?: number): Promise<MachineDto> {
    return this.machines.start(user, id, dto, ifMatch);
  }

  @Post(':id/stop')
  @ApiIdParam('machine')
  @HttpCode(200)
  @ApiIfMatch()
  @ApiOperation({ summary: 'Stop a running machine' })
  @ApiOkResponse(machineWithEtag)
  @ApiErrors(401, 403, 404, 409, 412, ...AGENT_ERRORS)
  stopMachine(@CurrentUser() user: AuthUser, @Param('id') id: string, @IfMatch() ifMatch?: number): Promise<MachineDto> {
    return this.machines.act(user, id, 'stop', ifMatch);
  }

  @Post(':id/suspend')
  @ApiIdParam('machine')
  @HttpCode(200)
  @ApiIfMatch()
  @ApiOperation({ summary: 'Suspend a running machine (its memory is saved)' })
  @ApiOkResponse(machineWithEtag)
  @ApiErrors(401, 403, 404, 409, 412, ...AGENT_ERRORS)
  suspendMachine(@CurrentUser() user: AuthUser, @Param('id') id: string, @IfMatch() ifMatch?: number): Promise<MachineDto> {
    return this.machines.act(user, id, 'suspend', ifMatch);
  }

  @Post(':id/resume')
  @ApiIdParam('machine')
  @HttpCode(200)
  @ApiIfMatch()
  @ApiOperation({ summary: 'Resume a suspended machine' })
  @ApiOkResponse(machineWithEtag)
  @ApiErrors(401, 403, 404, 409, 412, ...AGENT_ERRORS)
  resumeMachine(@CurrentUser() user: AuthUser, @Param('id') id: string, @IfMatch() ifMatch?: number): Promise<MachineDto> {
    return this.machines.act(user, id, 'resume', ifMatch);
  }

  @Post(':id/media')
  @ApiIdParam('machine')
  @HttpCode(200)
  @ApiOperation({
    summary: "Put an ISO of my media library in the machine's CD-ROM drive",
    description: "Stored or stopped: the agent keeps it for the next start (start with bootFrom 'cdrom' to boot it). Running: inserted live.",
  })
  @ApiOkResponse(machineWithEtag)
  @ApiErrors(400, 401, 403, 404, 409, ...AGENT_ERRORS)
  attachMachineMedia(@CurrentUser() user: AuthUser, @Param('id') id: string, @Body() dto: AttachMediaDto): Promise<MachineDto> {
    return this.machines.attachMedia(user, id, dto.mediaId);
  }

  @Delete(':id/media')
  @ApiIdParam('machine')
  @HttpCode(200)
  @ApiOperation({ summary: "Eject the install medium from the machine's CD-ROM drive (live while running)" })
  @ApiOkResponse(machineWithEtag)
  @ApiErrors(401, 403, 404, 409, ...AGENT_ERRORS)
  ejectMachineMedia(@CurrentUser() user: AuthUser, @Param('id') id: string): Promise<MachineDto> {
    return this.machines.ejectMedia(user, id);
  }
}
