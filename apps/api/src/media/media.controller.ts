import { Body, Controller, Delete, Get, Headers, HttpCode, Post, Req, StreamableFile, UseInterceptors } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import { AGENT_HEADER, MediaDto, UploadMediaDto } from '@virtuoso/contracts';
import type { Request } from 'express';
import { IdParam } from '../common/id-param';
import { ApiErrors, ApiIdParam, ApiSignedIn } from '../common/api-docs';
import { AuthUser, CurrentUser, Public, Roles } from '../common/auth.decorators';
import { Idempotent } from '../common/idempotency.interceptor';
import { IsoUploadInterceptor, UploadedFile } from './iso-upload.interceptor';
import { MediaService } from './media.service';

@ApiTags('media')
@ApiSignedIn()
@Roles('buyer')
@Controller('media')
export class MediaController {
  constructor(private readonly media: MediaService) {}

  @Get()
  @ApiOperation({ summary: 'My media library: install ISOs and the machines they are attached to' })
  @ApiOkResponse({ type: MediaDto, isArray: true, description: 'My media, oldest first.' })
  @ApiErrors(401, 403)
  listMedia(@CurrentUser() user: AuthUser): Promise<MediaDto[]> {
    return this.media.list(user);
  }

  @Post()
  @UseInterceptors(IsoUploadInterceptor)
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    description: 'The ISO image (multipart field `file`, at most VIRTUOSO_MEDIA_MAX_MB, 1024 MB by default) and an optional name.',
    schema: {
      type: 'object',
      required: ['file'],
      properties: {
        file: { type: 'string', format: 'binary', description: 'An ISO 9660 image.' },
        name: { type: 'string', description: "Name shown in the library; the file's name when left out.", example: 'debian-12-netinst.iso' },
      },
    },
  })
  @ApiOperation({
    summary: 'Upload an install ISO to my media library',
    description: 'Anything without the ISO 9660 signature is refused (400 "not an ISO image").',
  })
  @ApiCreatedResponse({ type: MediaDto, description: 'The stored medium.' })
  @ApiErrors(400, 401, 403, [413, 'The file is larger than the upload limit, or would take the library past its quota (VIRTUOSO_QUOTA_MEDIA_MB).'])
  @Idempotent()
  uploadMedia(@CurrentUser() user: AuthUser, @Req() req: Request, @Body() dto: UploadMediaDto): Promise<MediaDto> {
    return this.media.upload(user, (req as Request & { file?: UploadedFile }).file, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiIdParam('media')
  @ApiOperation({ summary: 'Delete an ISO from my media library', description: 'Refused (409) while a machine has it in its CD-ROM drive.' })
  @ApiNoContentResponse({ description: 'Deleted.' })
  @ApiErrors(400, 401, 403, 404, 409)
  deleteMedia(@CurrentUser() user: AuthUser, @IdParam() id: string): Promise<void> {
    return this.media.remove(user, id);
  }
}

@ApiTags('agents')
@Controller('agents/media')
export class AgentMediaController {
  constructor(private readonly media: MediaService) {}

  @Get(':id')
  @Public()
  @ApiParam({ name: 'id', description: 'Media id.', format: 'uuid', example: '6a1e0d9c-8b7a-4c65-9d4e-3f2a1b0c9d8e' })
  @ApiHeader({ name: AGENT_HEADER, required: true, description: 'Base64 of a SignedEnvelope of `{ path }` on channel = the path, signed by a joined agent.' })
  @ApiOperation({ summary: 'Download install media (called by an agent attaching it to a machine of its host)' })
  @ApiProduces('application/octet-stream')
  @ApiOkResponse({ description: 'The ISO image.', schema: { type: 'string', format: 'binary' } })
  @ApiErrors(
    [400, 'The id is not a UUID.'],
    [401, 'Not signed by a joined agent for this path.'],
    [404, "No such media attached to a machine on the agent's host."],
  )
  downloadMedia(@IdParam() id: string, @Headers(AGENT_HEADER) header: string | undefined, @Req() req: Request): Promise<StreamableFile> {
    return this.media.download(id, header, req.ip);
  }
}
