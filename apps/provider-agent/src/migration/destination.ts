// PLACEHOLDER so the origin's code compiles; the destination's real file replaces it at the merge.
import type {
  MigrationFinishCommand,
  MigrationFinishResult,
  MigrationPrepareCommand,
  MigrationPrepareResult,
  MigrationQueryCommand,
  MigrationQueryResult,
  MigrationReport,
  MigrationRequestCommand,
  MigrationRequestResult,
  MigrationStatusCommand,
  MigrationStatusResult,
} from '@virtuoso/contracts';
import { CommandError } from '../agent/errors';
import type { LocalState } from '../agent/local-state';
import type { VmmDriver } from '../vmm/vmm-driver';
import type { MachineCaches } from './caches';

export class MigrationDestination {
  constructor(
    readonly deps: {
      dataDir: string;
      driver: VmmDriver;
      state: LocalState;
      caches: MachineCaches;
      report: (r: Omit<MigrationReport, 'agentId'>) => Promise<void>;
    },
  ) {}

  query(_cmd: MigrationQueryCommand): MigrationQueryResult {
    throw new CommandError('refused', 'not implemented');
  }

  prepare(_cmd: MigrationPrepareCommand): Promise<MigrationPrepareResult> {
    throw new CommandError('refused', 'not implemented');
  }

  request(_cmd: MigrationRequestCommand): Promise<MigrationRequestResult> {
    throw new CommandError('refused', 'not implemented');
  }

  status(_cmd: MigrationStatusCommand): MigrationStatusResult | null {
    return null;
  }

  finish(_cmd: MigrationFinishCommand): Promise<MigrationFinishResult | null> {
    return Promise.resolve(null);
  }

  recover(): void {}
}
