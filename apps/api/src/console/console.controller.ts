import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ConsoleSessionDto, SendKeysDto } from '@virtuoso/contracts';
import { IdParam } from '../common/id-param';
import { ApiErrors, ApiIdParam, ApiSignedIn } from '../common/api-docs';
import { AuthUser, CurrentUser, Roles } from '../common/auth.decorators';
import { MachinesService } from '../machines/machines.service';
import { ConsoleService } from './console.service';

@ApiTags('console')
@ApiSignedIn()
@Roles('buyer')
@Controller('machines')
export class ConsoleController {
  constructor(
    private readonly consoles: ConsoleService,
    private readonly machines: MachinesService,
  ) {}

  @Post(':id/console')
  @ApiIdParam('machine')
  @ApiOperation({
    summary: 'A one-time console token for my running machine (report fig. 15–18)',
    description:
      "Open a websocket to `path` within 30 seconds, with the same session cookie or bearer token (noVNC: subprotocol 'binary'); " +
      'RFB flows both ways. The token works once; a new viewer replaces the previous one.',
  })
  @ApiCreatedResponse({ type: ConsoleSessionDto, description: 'The token and the websocket path.' })
  @ApiErrors(400, 401, 403, 404, 409)
  openConsole(@CurrentUser() user: AuthUser, @IdParam() id: string): Promise<ConsoleSessionDto> {
    return this.consoles.createSession(user, id);
  }

  @Post(':id/keys')
  @ApiIdParam('machine')
  @HttpCode(204)
  @ApiOperation({ summary: "Press keys together on my running machine's keyboard, e.g. Ctrl-Alt-Del" })
  @ApiNoContentResponse({ description: 'The keys were pressed and released.' })
  @ApiErrors(
    400,
    401,
    403,
    404,
    409,
    [502, "The host's agent refused or failed."],
    [503, "The host's agent is not reachable."],
    [504, 'The agent did not answer in time.'],
  )
  sendKeys(@CurrentUser() user: AuthUser, @IdParam() id: string, @Body() dto: SendKeysDto): Promise<void> {
    return this.machines.sendKeys(user, id, dto.keys);
  }
}
