import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Public } from '../common/auth.decorators';
import { Leadership } from '../common/leadership';

export class HealthDto {
  @ApiProperty({ description: 'Always "ok" when the API answers.', example: 'ok', enum: ['ok'] })
  status: 'ok';

  @ApiProperty({ description: 'This replica’s id: random at each start, so a restart is a new replica.', format: 'uuid' })
  replica: string;

  @ApiProperty({
    description: 'Whether this replica runs the daemons (billing, market averages, reconciler, …): one replica at a time on PostgreSQL, always on SQLite.',
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
