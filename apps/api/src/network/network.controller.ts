import { Body, Controller, Get, Put, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { JoinScriptQueryDto, MachineNetworkDto, NetworkDto, SetForwardedPortsDto } from '@virtuoso/contracts';
import { ApiErrors, ApiIdParam, ApiSignedIn } from '../common/api-docs';
import { AuthUser, CurrentUser, Roles } from '../common/auth.decorators';
import { IdParam } from '../common/id-param';
import { NetworkJoin } from './network-join.service';
import { NetworkService } from './network.service';

@ApiTags('machines')
@ApiSignedIn()
@Roles('buyer')
@Controller('machines')
export class MachineNetworkController {
  constructor(private readonly network: NetworkService) {}

  @Get(':id/network')
  @ApiIdParam('machine')
  @ApiOperation({ summary: "A machine's network: private address, MAC, subnet, forwarded ports and, while it runs, the ssh command" })
  @ApiOkResponse({ type: MachineNetworkDto, description: "The machine's network as of now." })
  @ApiErrors(400, 401, 403, 404)
  getMachineNetwork(@CurrentUser() user: AuthUser, @IdParam() id: string): Promise<MachineNetworkDto> {
    return this.network.machineNetwork(user, id);
  }

  @Put(':id/network/ports')
  @ApiIdParam('machine')
  @ApiOperation({
    summary: 'Set the guest TCP ports forwarded besides ssh (22, always forwarded)',
    description: 'At most 7, each once, not 22. Takes effect at the next start or resume.',
  })
  @ApiOkResponse({ type: MachineNetworkDto, description: 'The machine network with the new ports.' })
  @ApiErrors(400, 401, 403, 404)
  setForwardedPorts(@CurrentUser() user: AuthUser, @IdParam() id: string, @Body() dto: SetForwardedPortsDto): Promise<MachineNetworkDto> {
    return this.network.setForwardedPorts(user, id, dto);
  }
}

@ApiTags('network')
@ApiSignedIn()
@Roles('buyer')
@Controller('network')
export class NetworkController {
  constructor(
    private readonly network: NetworkService,
    private readonly join: NetworkJoin,
  ) {}

  @Get()
  @ApiOperation({ summary: 'My private network: its subnet, its hub while machines run, my machines on it, the addresses for my own computers' })
  @ApiOkResponse({ type: NetworkDto, description: 'The network (made on this first call if it did not exist).' })
  @ApiErrors(401, 403)
  getNetwork(@CurrentUser() user: AuthUser): Promise<NetworkDto> {
    return this.join.networkDto(user);
  }

  @Get('join.sh')
  @ApiProduces('text/x-shellscript')
  @ApiOperation({
    summary: 'The script that joins my own (Debian) computer to my private network',
    description:
      'Run as root: `sudo bash join.sh`. It installs vde2 and openssh-client when missing, makes a tap `vnet0` with the device address (device 1 → .2 … device 8 → .9) and plugs it into the hub over ssh with one of my account keys.',
  })
  @ApiOkResponse({ description: 'The bash script.', schema: { type: 'string' } })
  @ApiErrors(400, 401, 403, [409, 'No machine of mine runs on a host that can take the connection, or my account has no ssh key.'])
  async getJoinScript(@CurrentUser() user: AuthUser, @Query() query: JoinScriptQueryDto, @Res({ passthrough: true }) res: Response): Promise<string> {
    const script = await this.join.script(user, query.device ?? 1);
    // Set only once there is a script: a refusal stays a JSON error.
    res.attachment('join.sh').type('text/x-shellscript; charset=utf-8');
    return script;
  }
}
