import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { MIGRATION_REPORT_PATH, MigrationReportDto, checkAgentMessage } from '@virtuoso/contracts';
import { parseVmmp } from '@virtuoso/domain';
import { Repository } from 'typeorm';
import { AgentAuth } from '../agents/agent-auth.service';
import { ApiError, badRequest, notFound, validationException } from '../common/errors';
import { Host } from '../providers/host.entity';
import { Migration } from './migration.entity';
import { MigrationOrchestrator } from './migration-orchestrator.service';

/**
 * POST /api/agents/migrations: the destination's HEARTBEATs and its RESP (report §7.2.1), in a
 * signed envelope verified as heartbeats are (fresh, never replayed, the agent's own secret), and
 * only from the migration's destination agent. The VMMP text must be 1.0 (another version is a 400
 * naming the reason) and about this migration's machine.
 */
@Injectable()
export class MigrationReports {
  private readonly logger = new Logger('Migrations');

  constructor(
    private readonly auth: AgentAuth,
    private readonly orchestrator: MigrationOrchestrator,
    @InjectRepository(Migration) private readonly migrations: Repository<Migration>,
    @InjectRepository(Host) private readonly hosts: Repository<Host>,
  ) {}

  async receive(envelope: unknown, from?: string): Promise<void> {
    const { agent, body } = await this.auth.verifyBody(MIGRATION_REPORT_PATH, envelope, from);
    const checked = checkAgentMessage(MigrationReportDto, body);
    if (!checked.ok) {
      this.logger.warn(`agent ${agent.id}: malformed migration report refused: ${checked.problems.join('; ')}`);
      throw checked.errors.length ? validationException(checked.errors) : new ApiError(400, 'a migration report must be a JSON object');
    }
    const report = checked.value;
    if (report.agentId !== agent.id) throw badRequest('agentId', 'a migration report carries the agentId of its signer');
    const migration = await this.migrations.findOneBy({ id: report.migrationId });
    if (!migration) throw notFound('migration');
    const destination = await this.hosts.findOneBy({ id: migration.toHostId });
    if (!destination || destination.agentId !== agent.id) {
      this.logger.warn(`agent ${agent.id}: report on migration ${migration.id}, whose destination it is not, refused`);
      throw new ApiError(401, `agent message refused: not signed by the destination's agent of migration ${migration.id}`);
    }
    const parsed = parseVmmp(report.vmmp);
    if (!parsed.ok) throw badRequest('vmmp', `vmmp refused: ${parsed.reason}`);
    const message = parsed.message;
    if (message.machineId !== migration.machineId)
      throw badRequest('vmmp', `vmmp is about machine ${message.machineId}, not this migration's ${migration.machineId}`);
    switch (message.kind) {
      case 'HEARTBEAT':
        await this.orchestrator.heartbeat(migration, message.progress ?? { bytesDone: 0, bytesTotal: 0, bytesPerSecond: 0 }, report.vmmp.trim());
        return;
      case 'RESP':
        if (message.outcome === 'SUCCESS') await this.orchestrator.arrived(migration, message, report.vmmp.trim(), report.transfer);
        else await this.orchestrator.failedAtDestination(migration, message.reason, report.vmmp.trim());
        return;
      default:
        throw badRequest('vmmp', `a destination reports HEARTBEAT or RESP, not ${message.kind}`);
    }
  }
}
