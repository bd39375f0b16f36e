import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { IsQueryBoolean, IsQueryInteger } from './validation';

export const NOTIFICATION_KINDS = ['lowBalance', 'suspended', 'balanceRestored', 'hostRemoved'] as const;

/** An in-app notice (also sent by email). */
export class NotificationDto {
  @ApiProperty({ description: 'Notice id.', example: '0b7d3c1e-5a4f-4e8b-9c2d-1f0e9d8c7b6a' })
  id: string;

  @ApiProperty({
    description:
      'lowBalance: the balance does not cover the next charges; suspended: the grace period ran out and running machines were suspended; balanceRestored: a top-up covers the next charges again; hostRemoved: the provider removed the host a machine was stored on.',
    enum: NOTIFICATION_KINDS,
    example: 'lowBalance',
  })
  kind: string;

  @ApiProperty({ description: 'One line.', example: 'Your Virtuoso balance is running low' })
  subject: string;

  @ApiProperty({
    description: 'The whole notice, plain text (the email says the same).',
    example: 'Your balance 0.5 does not cover the next charges of your machines, 3.002016 in all. …',
  })
  body: string;

  @ApiProperty({ description: 'The machine it is about, if one.', example: null, nullable: true, type: String })
  machineId: string | null;

  @ApiProperty({ description: 'When it was raised (ISO 8601).', example: '2026-11-25T10:00:00.000Z' })
  createdAt: string;

  @ApiProperty({ description: 'When it was marked read, or null.', example: null, nullable: true, type: String })
  readAt: string | null;

  @ApiProperty({ description: 'True once its email has been sent (or written to the outbox).', example: true })
  emailed: boolean;
}

export class NotificationListDto {
  @ApiProperty({ description: 'How many of my notices are unread, in all.', example: 1 })
  unread: number;

  @ApiProperty({ description: 'The notices, newest first.', type: NotificationDto, isArray: true, example: [] })
  items: NotificationDto[];
}

export class NotificationQueryDto {
  @ApiPropertyOptional({ description: 'Only unread notices.', type: String, enum: ['true', 'false'], example: 'true' })
  @IsOptional()
  @IsQueryBoolean('unread')
  unread?: boolean;

  @ApiPropertyOptional({ description: 'At most this many (1 to 200, default 50).', example: 50, minimum: 1, maximum: 200 })
  @IsOptional()
  @IsQueryInteger('limit', 1, 200)
  limit?: number;
}
