import { Body, Controller, Get, Headers, HttpCode, Param, Post, Req, StreamableFile } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiHeader, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiParam, ApiProduces, ApiTags } from '@nestjs/swagger';
import {
  AGENT_HEADER,
  AGENT_ID_HEADER,
  AgentDto,
  CreateJoinTokenDto,
  JoinRequestDto,
  JoinResponseDto,
  JoinTokenDto,
  JoinTokenStatusDto,
  SignedEnvelopeDto,
} from '@virtuoso/contracts';
import type { Request } from 'express';
import { IdParam } from '../common/id-param';
import { ApiErrors, ApiIdParam, ApiSignedIn } from '../common/api-docs';
import { AuthUser, CurrentUser, Public, Roles } from '../common/auth.decorators';
import { Idempotent } from '../common/idempotency.interceptor';
import { AgentsService } from './agents.service';
import { AgentDownloads } from './agent-downloads.service';

@ApiTags('agents')
@Controller('agents')
export class AgentsController {
  constructor(
    private readonly agents: AgentsService,
    private readonly downloads: AgentDownloads,
  ) {}

  @Post('join-tokens')
  @ApiSignedIn()
  @Roles('provider')
  @ApiOperation({
    summary: 'Make a one-time join token and the command that starts a provider agent with it',
    description: 'Valid for one hour and one join. With a hostId, the agent that joins becomes the agent of that host (added by hand before).',
  })
  @ApiCreatedResponse({ type: JoinTokenDto, description: 'The token (shown only now) and the command line.' })
  @ApiErrors(400, 401, 403)
  @Idempotent()
  createJoinToken(@CurrentUser() user: AuthUser, @Body() dto: CreateJoinTokenDto, @Req() req: Request): Promise<JoinTokenDto> {
    return this.agents.createJoinToken(user, dto, this.agents.publicUrl(req), undefined, req.ip);
  }

  @Get('join-tokens/:id')
  @ApiSignedIn()
  @Roles('provider')
  @ApiIdParam('join token')
  @ApiOperation({ summary: 'Whether an agent has joined with a token, and what it measured (poll it to prefill the host form)' })
  @ApiOkResponse({ type: JoinTokenStatusDto, description: 'The token and the agent that joined with it, if any.' })
  @ApiErrors(400, 401, 403, 404)
  getJoinToken(@CurrentUser() user: AuthUser, @IdParam() id: string): Promise<JoinTokenStatusDto> {
    return this.agents.joinTokenStatus(user, id);
  }

  @Get()
  @ApiSignedIn()
  @Roles('provider')
  @ApiOperation({ summary: 'My provider agents: where they listen, what they measured, whether they are online and which host they serve' })
  @ApiOkResponse({ type: AgentDto, isArray: true, description: 'My agents, in the order they joined.' })
  @ApiErrors(401, 403)
  listAgents(@CurrentUser() user: AuthUser): Promise<AgentDto[]> {
    return this.agents.list(user);
  }

  @Post('join')
  @Public()
  @ApiOperation({
    summary: 'A provider agent joins with a one-time token (called by the agent)',
    description: 'Answers the agent its id and its HMAC secret, once. A bad, expired or used token is a 401.',
  })
  @ApiCreatedResponse({ type: JoinResponseDto, description: "The agent's identity and secret." })
  @ApiErrors(400, [401, 'The join token is unknown, expired or already used.'])
  join(@Body() dto: JoinRequestDto, @Req() req: Request): Promise<JoinResponseDto> {
    return this.agents.join(dto, req.ip);
  }

  @Post('heartbeat')
  @Public()
  @HttpCode(204)
  @ApiBody({
    type: SignedEnvelopeDto,
    description: "A Heartbeat (facts, every machine's state, events) signed with the agent's secret on channel /api/agents/heartbeat.",
  })
  @ApiOperation({
    summary: "A provider agent's heartbeat (called by the agent every few seconds)",
    description:
      'Records the facts and machine states; events (guest power-off, crash) stop running machines with version + 1. Unsigned, tampered, stale or replayed: 401, nothing recorded.',
  })
  @ApiHeader({
    name: AGENT_ID_HEADER,
    required: false,
    description:
      "The sending agent's id, read before the body: the last quarter of the places in progress is kept for agents answered lately. Unsigned; the body is checked as ever.",
  })
  @ApiNoContentResponse({ description: 'Recorded; the events are acknowledged.' })
  @ApiErrors(
    400,
    [401, 'Not signed by a joined agent, stale, or replayed. Nothing was recorded.'],
    [
      503,
      'VIRTUOSO_HEARTBEAT_CONCURRENCY heartbeats are being recorded already, or three quarters of them and this agent was not answered lately: this one was not read (Retry-After: 1). Send the next one as usual.',
    ],
  )
  heartbeat(@Body() envelope: unknown, @Req() req: Request): Promise<void> {
    return this.agents.heartbeat(envelope, req.ip);
  }

  @Get('images/:name')
  @Public()
  @ApiParam({ name: 'name', description: "A catalog entry's image name.", example: 'tiny-linux.qcow2' })
  @ApiHeader({ name: AGENT_HEADER, required: true, description: 'Base64 of a SignedEnvelope of `{ path }` on channel = the path, signed by a joined agent.' })
  @ApiOperation({ summary: 'Download a preconfigured image (called by an agent storing a preconfigured machine)' })
  @ApiProduces('application/octet-stream')
  @ApiOkResponse({ description: 'The image file.', schema: { type: 'string', format: 'binary' } })
  @ApiErrors([401, 'Not signed by a joined agent for this path.'], 404)
  async downloadImage(@Param('name') name: string, @Headers(AGENT_HEADER) header: string | undefined, @Req() req: Request): Promise<StreamableFile> {
    return this.downloads.image(name, header, req.ip);
  }
}
