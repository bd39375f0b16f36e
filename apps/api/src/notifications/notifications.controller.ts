import { Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { NotificationDto, NotificationListDto, NotificationQueryDto } from '@virtuoso/contracts';
import { IdParam } from '../common/id-param';
import { ApiErrors, ApiIdParam, ApiSignedIn } from '../common/api-docs';
import { AuthUser, CurrentUser } from '../common/auth.decorators';
import { NotificationsService } from './notifications.service';

@ApiTags('notifications')
@ApiSignedIn()
@Controller('notifications')
export class NotificationsController {
  constructor(private readonly notifications: NotificationsService) {}

  @Get()
  @ApiOperation({
    summary: 'My notices, newest first: low balance, machines suspended, balance restored, a host removed',
    description: "Each is also sent by email (SMTP, or the operator's outbox directory).",
  })
  @ApiOkResponse({ type: NotificationListDto, description: 'The notices and how many are unread.' })
  @ApiErrors(400, 401)
  listNotifications(@CurrentUser() user: AuthUser, @Query() query: NotificationQueryDto): Promise<NotificationListDto> {
    return this.notifications.list(user, { unreadOnly: query.unread ?? false, limit: query.limit ?? 50 });
  }

  @Post('read-all')
  @HttpCode(204)
  @ApiOperation({ summary: 'Mark all my notices read' })
  @ApiNoContentResponse({ description: 'Done.' })
  @ApiErrors(401)
  readAllNotifications(@CurrentUser() user: AuthUser): Promise<void> {
    return this.notifications.markAllRead(user);
  }

  @Post(':id/read')
  @HttpCode(200)
  @ApiIdParam('notification')
  @ApiOperation({ summary: 'Mark one notice read' })
  @ApiOkResponse({ type: NotificationDto, description: 'The notice.' })
  @ApiErrors(400, 401, 404)
  readNotification(@CurrentUser() user: AuthUser, @IdParam() id: string): Promise<NotificationDto> {
    return this.notifications.markRead(user, id);
  }
}
