import type {
  MigrationExportCommand,
  MigrationExportResult,
  MigrationFinishCommand,
  MigrationFinishResult,
  MigrationPrepareCommand,
  MigrationPrepareResult,
  MigrationQueryCommand,
  MigrationQueryResult,
  MigrationRequestCommand,
  MigrationRequestResult,
  MigrationStatusCommand,
  MigrationStatusResult,
} from '@virtuoso/contracts';
import type { MigrationDestination } from './destination';
import type { MigrationOrigin } from './origin';

/**
 * The agent's six migration commands (docs/ARCHITECTURE.md §7): query, prepare and request are the
 * destination's, export the origin's; status and finish go to whichever side holds the migration
 * (an agent is never both sides of one migration), and an agent that holds neither answers
 * role 'none' (finish is idempotent: the front-end retries it until answered).
 */
export class MigrationService {
  constructor(
    private readonly origin: MigrationOrigin,
    private readonly destination: MigrationDestination,
  ) {}

  query(cmd: MigrationQueryCommand): MigrationQueryResult {
    return this.destination.query(cmd);
  }

  prepare(cmd: MigrationPrepareCommand): Promise<MigrationPrepareResult> {
    return this.destination.prepare(cmd);
  }

  request(cmd: MigrationRequestCommand): Promise<MigrationRequestResult> {
    return this.destination.request(cmd);
  }

  export(cmd: MigrationExportCommand): Promise<MigrationExportResult> {
    return this.origin.export(cmd);
  }

  status(cmd: MigrationStatusCommand): MigrationStatusResult {
    return this.origin.status(cmd) ?? this.destination.status(cmd) ?? { migrationId: cmd.migrationId, machineId: cmd.machineId, role: 'none', phase: 'none' };
  }

  async finish(cmd: MigrationFinishCommand): Promise<MigrationFinishResult> {
    return (
      (await this.origin.finish(cmd)) ??
      (await this.destination.finish(cmd)) ?? { migrationId: cmd.migrationId, machineId: cmd.machineId, role: 'none', outcome: cmd.outcome }
    );
  }
}
