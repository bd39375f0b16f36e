import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBody, ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SignedEnvelopeDto } from '@virtuoso/contracts';
import type { Request } from 'express';
import { ApiErrors } from '../common/api-docs';
import { Public } from '../common/auth.decorators';
import { MigrationReports } from './migration-reports.service';

/** The destination agent's reports on a migration (report §7.2.1 HEARTBEAT and RESP). */
@ApiTags('agents')
@Controller('agents')
export class MigrationReportsController {
  constructor(private readonly reports: MigrationReports) {}

  @Post('migrations')
  @Public()
  @HttpCode(204)
  @ApiBody({
    type: SignedEnvelopeDto,
    description: "A MigrationReport { agentId, migrationId, vmmp, transfer? } signed with the destination agent's secret on channel /api/agents/migrations.",
  })
  @ApiOperation({
    summary: "A migration destination's HEARTBEAT or RESP (called by the agent)",
    description:
      'A HEARTBEAT records progress and restarts the heartbeat window; RESP SUCCESS at version + 1 commits the migration, RESP FAIL rolls it back. Repeats change nothing.',
  })
  @ApiNoContentResponse({ description: 'Recorded.' })
  @ApiErrors(
    [400, 'Malformed, or a VMMP message of another version or kind (the reason is named).'],
    [401, "Not signed by the migration's destination agent, stale, or replayed."],
    404,
  )
  migrationReport(@Body() envelope: unknown, @Req() req: Request): Promise<void> {
    return this.reports.receive(envelope, req.ip);
  }
}
