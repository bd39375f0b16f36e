import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Public } from '../common/auth.decorators';
import { Leadership } from '../common/leadership';

export class HealthDto {
  @ApiProperty({ description: 'Always "ok" when the API answers.', example: 'ok', enum: ['ok'] })
  status: 'ok';

  @ApiProperty({
    description: 'This replica’s id: random at each start, so a restart is a new replica.',
    format: 'uuid',
    example: '0b6c3c52-7f0e-4a8b-9d2e-5a1f3c9e8d47',
  })
  replica: string;

  @ApiProperty({
    description: 'Whether this replica runs the daemons (billing, market averages, reconciler, …): one replica at a time on PostgreSQL, always on SQLite.',
    example: true,
  })
  leader: boolean;
}

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly leadership: Leadership) {}

  @Public()
  @Get()
  @ApiOperation({ summary: 'Liveness check, and which replica answered' })
  @ApiOkResponse({ type: HealthDto, description: 'The API is up.' })
  getHealth(): HealthDto {
    return { status: 'ok', replica: this.leadership.replicaId, leader: this.leadership.leader };
  }
}
