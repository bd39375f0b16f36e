import { Body, Controller, Delete, Get, HttpCode, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CreateSshKeyDto, SshKeyDto } from '@virtuoso/contracts';
import { ApiErrors, ApiIdParam, ApiSignedIn } from '../common/api-docs';
import { AuthUser, CurrentUser, Roles } from '../common/auth.decorators';
import { IdParam } from '../common/id-param';
import { SshKeysService } from './ssh-keys.service';

@ApiTags('account')
@ApiSignedIn()
@Roles('buyer')
@Controller('account/ssh-keys')
export class SshKeysController {
  constructor(private readonly keys: SshKeysService) {}

  @Get()
  @ApiOperation({ summary: 'My public ssh keys: put in my machines at every start and resume, and let my own computers join my private network' })
  @ApiOkResponse({ type: SshKeyDto, isArray: true, description: 'My keys, oldest first.' })
  @ApiErrors(401, 403)
  listSshKeys(@CurrentUser() user: AuthUser): Promise<SshKeyDto[]> {
    return this.keys.list(user);
  }

  @Post()
  @ApiOperation({
    summary: 'Add a public ssh key (one OpenSSH line)',
    description: 'Reaches running machines at their next start or resume; the private network admits it at once. At most 20 keys; the same key twice is a 409.',
  })
  @ApiCreatedResponse({ type: SshKeyDto, description: 'The key, with its type and SHA256 fingerprint.' })
  @ApiErrors(400, 401, 403, [409, 'The key is already on the account, or the account has 20 keys.'])
  addSshKey(@CurrentUser() user: AuthUser, @Body() dto: CreateSshKeyDto): Promise<SshKeyDto> {
    return this.keys.add(user, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiIdParam('ssh key')
  @ApiOperation({ summary: 'Remove a public ssh key (machines keep it until their next start or resume)' })
  @ApiNoContentResponse({ description: 'Removed.' })
  @ApiErrors(400, 401, 403, 404)
  async removeSshKey(@CurrentUser() user: AuthUser, @IdParam() id: string): Promise<void> {
    await this.keys.remove(user, id);
  }
}
