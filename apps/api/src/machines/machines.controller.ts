import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Query, Res, UseInterceptors } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiResponseOptions, ApiTags } from '@nestjs/swagger';
import {
  AttachMediaDto,
  DEFAULT_SEARCH_LIMIT,
  MachineDto,
  NoOfferExplanationDto,
  OfferDto,
  RegisterMachineDto,
  SearchQueryDto,
  StartMachineDto,
  StopMachineDto,
  StoreMachineDto,
  UpdateMachineDto,
} from '@virtuoso/contracts';
import { IdParam } from '../common/id-param';
import { ApiErrors, ApiIdParam, ApiIfMatch, ApiSignedIn } from '../common/api-docs';
import { AuthUser, CurrentUser, Roles } from '../common/auth.decorators';
import { VersionEtagInterceptor } from '../common/etag.interceptor';
import { Idempotent } from '../common/idempotency.interceptor';
import { IfMatch, IfMatchValue } from '../common/if-match';
import type { Response } from 'express';
import { TOTAL_COUNT_DOC, setTotalCount } from '../market/search-limit';
import { MachineMedia } from './machine-media.service';
import { MachinesService } from './machines.service';

/** What an action carried out by the host's agent may answer besides the lifecycle's own errors. */
const AGENT_ERRORS: Array<[number, string]> = [
  [502, "The host's agent refused or failed the action; the machine is back in its previous state and lastError says why."],
  [503, 'The host has no agent, or its agent is not reachable; nothing happened (the machine is back in its previous state).'],
  [504, "The agent did not answer in time; the machine stays in its transient state until the agent's heartbeat settles it."],
];

const machineWithEtag: ApiResponseOptions = {
  type: MachineDto,
  description: 'The machine; the ETag header is its `etag` ("<version>.<revision>").',
  headers: { ETag: { description: 'The machine\'s etag, e.g. "1.4": send it in If-Match.', schema: { type: 'string', example: '"1.4"' } } },
};

@ApiTags('machines')
@ApiSignedIn()
@Roles('buyer')
@UseInterceptors(VersionEtagInterceptor)
@Controller('machines')
export class MachinesController {
  constructor(
    private readonly machines: MachinesService,
    private readonly media: MachineMedia,
  ) {}

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
  @Idempotent()
  registerMachine(@CurrentUser() user: AuthUser, @Body() dto: RegisterMachineDto): Promise<MachineDto> {
    return this.machines.register(user, dto);
  }

  @Get(':id')
  @ApiIdParam('machine')
  @ApiOperation({ summary: 'One of my machines' })
  @ApiOkResponse(machineWithEtag)
  @ApiErrors(400, 401, 403, 404)
  getMachine(@CurrentUser() user: AuthUser, @IdParam() id: string): Promise<MachineDto> {
    return this.machines.get(user, id);
  }

  @Patch(':id')
  @ApiIdParam('machine')
  @ApiIfMatch()
  @ApiOperation({ summary: 'Edit a registered configuration: size and asked prices', description: 'Only while registered (409 otherwise).' })
  @ApiOkResponse(machineWithEtag)
  @ApiErrors(400, 401, 403, 404, 409, 412)
  updateMachine(@CurrentUser() user: AuthUser, @IdParam() id: string, @Body() dto: UpdateMachineDto, @IfMatch() ifMatch?: IfMatchValue): Promise<MachineDto> {
    return this.machines.update(user, id, dto, ifMatch);
  }

  @Delete(':id')
  @ApiIdParam('machine')
  @HttpCode(204)
  @ApiIfMatch()
  @ApiOperation({ summary: 'Delete a machine', description: 'Allowed while registered, stored, stopped or suspended; frees its resources on the host.' })
  @ApiNoContentResponse({ description: 'Deleted.' })
  @ApiErrors(400, 401, 403, 404, 409, 412, ...AGENT_ERRORS)
  deleteMachine(@CurrentUser() user: AuthUser, @IdParam() id: string, @IfMatch() ifMatch?: IfMatchValue): Promise<void> {
    return this.machines.remove(user, id, ifMatch);
  }

  @Get(':id/offers')
  @ApiIdParam('machine')
  @ApiOperation({
    summary: 'Search providers for a registered machine at its asked prices (report fig. 11)',
    description: 'The `limit` cheapest to run, then to store, then by name. The X-Total-Count header counts every host that qualifies.',
  })
  @ApiOkResponse({
    type: OfferDto,
    isArray: true,
    description: 'The cheapest hosts that can hold the machine at its asked prices, cheapest to run first.',
    headers: TOTAL_COUNT_DOC,
  })
  @ApiErrors(400, 401, 403, 404, 409)
  async listMachineOffers(
    @CurrentUser() user: AuthUser,
    @IdParam() id: string,
    @Query() query: SearchQueryDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<OfferDto[]> {
    const { offers, total } = await this.machines.offers(user, id, query.limit ?? DEFAULT_SEARCH_LIMIT);
    setTotalCount(res, total);
    return offers;
  }

  @Get(':id/offers/explain')
  @ApiIdParam('machine')
  @ApiOperation({ summary: 'Why the search for a registered machine finds no host: size, price or offline, and what would fit' })
  @ApiOkResponse({ type: NoOfferExplanationDto, description: 'The reason and what would fit.' })
  @ApiErrors(400, 401, 403, 404, 409)
  explainMachineOffers(@CurrentUser() user: AuthUser, @IdParam() id: string): Promise<NoOfferExplanationDto> {
    return this.machines.explainOffers(user, id);
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
  @Idempotent()
  storeMachine(@CurrentUser() user: AuthUser, @IdParam() id: string, @Body() dto: StoreMachineDto, @IfMatch() ifMatch?: IfMatchValue): Promise<MachineDto> {
    return this.machines.store(user, id, dto.hostId, ifMatch);
  }

  @Post(':id/start')
  @ApiIdParam('machine')
  @HttpCode(200)
  @ApiIfMatch()
  @ApiOperation({ summary: 'Start a stored or stopped machine', description: "Optional body: bootFrom 'cdrom' boots the attached install media first." })
  @ApiOkResponse(machineWithEtag)
  @ApiErrors(400, 401, 403, 404, 409, 412, ...AGENT_ERRORS)
  @Idempotent()
  startMachine(@CurrentUser() user: AuthUser, @IdParam() id: string, @Body() dto: StartMachineDto, @IfMatch() ifMatch?: IfMatchValue): Promise<MachineDto> {
    return this.machines.start(user, id, dto, ifMatch);
  }

  @Post(':id/stop')
  @ApiIdParam('machine')
  @HttpCode(200)
  @ApiIfMatch()
  @ApiOperation({
    summary: 'Stop a running machine',
    description:
      'Presses the ACPI power button and waits up to stopTimeoutSeconds for the guest to power off, then powers it off by force. ' +
      'Optional body {"force": true}: power off at once, without asking the guest (a forced stop is a stop: stopped, version + 1, running time ends).',
  })
  @ApiBody({ type: StopMachineDto, required: false })
  @ApiOkResponse(machineWithEtag)
  @ApiErrors(400, 401, 403, 404, 409, 412, ...AGENT_ERRORS)
  stopMachine(@CurrentUser() user: AuthUser, @IdParam() id: string, @Body() dto: StopMachineDto, @IfMatch() ifMatch?: IfMatchValue): Promise<MachineDto> {
    return this.machines.stop(user, id, dto, ifMatch);
  }

  @Post(':id/reboot')
  @ApiIdParam('machine')
  @HttpCode(200)
  @ApiIfMatch()
  @ApiOperation({
    summary: 'Reboot a running machine (Ctrl-Alt-Del asked of the guest)',
    description: 'The guest decides (most systems reboot). The machine stays running; its version and billing do not change.',
  })
  @ApiOkResponse(machineWithEtag)
  @ApiErrors(400, 401, 403, 404, 409, 412, ...AGENT_ERRORS)
  rebootMachine(@CurrentUser() user: AuthUser, @IdParam() id: string, @IfMatch() ifMatch?: IfMatchValue): Promise<MachineDto> {
    return this.machines.restart(user, id, 'reboot', ifMatch);
  }

  @Post(':id/reset')
  @ApiIdParam('machine')
  @HttpCode(200)
  @ApiIfMatch()
  @ApiOperation({
    summary: 'Reset a running machine (hard reset, without asking the guest)',
    description: 'Like pressing the reset button: unsaved data in the guest is lost. The machine stays running; its version and billing do not change.',
  })
  @ApiOkResponse(machineWithEtag)
  @ApiErrors(400, 401, 403, 404, 409, 412, ...AGENT_ERRORS)
  resetMachine(@CurrentUser() user: AuthUser, @IdParam() id: string, @IfMatch() ifMatch?: IfMatchValue): Promise<MachineDto> {
    return this.machines.restart(user, id, 'reset', ifMatch);
  }

  @Post(':id/suspend')
  @ApiIdParam('machine')
  @HttpCode(200)
  @ApiIfMatch()
  @ApiOperation({ summary: 'Suspend a running machine (its memory is saved)' })
  @ApiOkResponse(machineWithEtag)
  @ApiErrors(400, 401, 403, 404, 409, 412, ...AGENT_ERRORS)
  suspendMachine(@CurrentUser() user: AuthUser, @IdParam() id: string, @IfMatch() ifMatch?: IfMatchValue): Promise<MachineDto> {
    return this.machines.act(user, id, 'suspend', ifMatch);
  }

  @Post(':id/resume')
  @ApiIdParam('machine')
  @HttpCode(200)
  @ApiIfMatch()
  @ApiOperation({ summary: 'Resume a suspended machine' })
  @ApiOkResponse(machineWithEtag)
  @ApiErrors(400, 401, 403, 404, 409, 412, ...AGENT_ERRORS)
  @Idempotent()
  resumeMachine(@CurrentUser() user: AuthUser, @IdParam() id: string, @IfMatch() ifMatch?: IfMatchValue): Promise<MachineDto> {
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
  attachMachineMedia(@CurrentUser() user: AuthUser, @IdParam() id: string, @Body() dto: AttachMediaDto): Promise<MachineDto> {
    return this.media.attach(user, id, dto.mediaId);
  }

  @Delete(':id/media')
  @ApiIdParam('machine')
  @HttpCode(200)
  @ApiOperation({ summary: "Eject the install medium from the machine's CD-ROM drive (live while running)" })
  @ApiOkResponse(machineWithEtag)
  @ApiErrors(400, 401, 403, 404, 409, ...AGENT_ERRORS)
  ejectMachineMedia(@CurrentUser() user: AuthUser, @IdParam() id: string): Promise<MachineDto> {
    return this.media.eject(user, id);
  }
}
