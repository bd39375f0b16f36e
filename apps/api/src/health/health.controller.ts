import { Controller, Get, OnModuleDestroy, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
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

export class ReadinessDto {
  @ApiProperty({ description: '"ready", or "not-ready" with a reason.', enum: ['ready', 'not-ready'], example: 'ready' })
  status: 'ready' | 'not-ready';

  @ApiProperty({ description: 'Why this replica should get no traffic (absent when ready).', required: false, example: 'the database does not answer: …' })
  reason?: string;

  @ApiProperty({ description: 'This replica’s id.', format: 'uuid', example: '0b6c3c52-7f0e-4a8b-9d2e-5a1f3c9e8d47' })
  replica: string;
}

@ApiTags('health')
@Controller('health')
export class HealthController implements OnModuleDestroy {
  /** Set when the app starts closing (SIGTERM): a load balancer stops sending requests before the server goes. */
  private shuttingDown = false;

  constructor(
    private readonly leadership: Leadership,
    private readonly dataSource: DataSource,
  ) {}

  onModuleDestroy(): void {
    this.shuttingDown = true;
  }

  @Public()
  @Get()
  @ApiOperation({ summary: 'Liveness check, and which replica answered' })
  @ApiOkResponse({ type: HealthDto, description: 'The API is up.' })
  getHealth(): HealthDto {
    return { status: 'ok', replica: this.leadership.replicaId, leader: this.leadership.leader };
  }

  @Public()
  @Get('ready')
  @ApiOperation({
    summary: 'Readiness check: whether this replica should get traffic',
    description:
      'Ready when the database answers a query, every schema migration is applied and the replica is not shutting down; liveness is GET /api/health.',
  })
  @ApiOkResponse({ type: ReadinessDto, description: 'Ready.' })
  @ApiServiceUnavailableResponse({ type: ReadinessDto, description: 'Not ready, and why.' })
  async getReadiness(@Res({ passthrough: true }) res: Response): Promise<ReadinessDto> {
    const reason = await this.notReadyBecause();
    if (reason) res.status(503);
    return reason ? { status: 'not-ready', reason, replica: this.leadership.replicaId } : { status: 'ready', replica: this.leadership.replicaId };
  }

  private async notReadyBecause(): Promise<string | null> {
    if (this.shuttingDown) return 'shutting down';
    try {
      await this.dataSource.query('SELECT 1');
      if (await this.dataSource.showMigrations()) return 'schema migrations are pending';
    } catch (error) {
      return `the database does not answer: ${error instanceof Error ? error.message : String(error)}`.slice(0, 300);
    }
    return null;
  }
}
