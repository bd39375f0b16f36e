import { Injectable } from '@nestjs/common';
import type { MigrationDto, MigrationOfferDto, StartMigrationDto } from '@virtuoso/contracts';
import type { AuthUser } from '../common/auth.decorators';
import { notFound } from '../common/errors';
import type { IfMatchValue } from '../common/if-match';
import { MachineLifecycle } from '../machines/machine-lifecycle.service';
import { MigrationOffers } from './migration-offers.service';
import { MigrationOrchestrator } from './migration-orchestrator.service';
import { MigrationRecords } from './migration-records';

/** The buyer's migrations (the controller's façade): offers, start, the current and past ones, cancel. */
@Injectable()
export class MigrationsService {
  constructor(
    private readonly lifecycle: MachineLifecycle,
    private readonly search: MigrationOffers,
    private readonly orchestrator: MigrationOrchestrator,
    private readonly records: MigrationRecords,
  ) {}

  offers(user: AuthUser, id: string): Promise<MigrationOfferDto[]> {
    return this.search.offers(user, id);
  }

  start(user: AuthUser, id: string, dto: StartMigrationDto, ifMatch?: IfMatchValue): Promise<MigrationDto> {
    return this.orchestrator.start(user, id, dto, ifMatch);
  }

  async current(user: AuthUser, id: string): Promise<MigrationDto> {
    const machine = await this.lifecycle.find(user, id);
    const latest = await this.records.latest(machine.id);
    if (!latest) throw notFound('migration');
    return this.records.toDto(latest);
  }

  async list(user: AuthUser, id: string): Promise<MigrationDto[]> {
    const machine = await this.lifecycle.find(user, id);
    return (await this.records.list(machine.id)).map((row) => this.records.toDto(row));
  }

  cancel(user: AuthUser, id: string): Promise<MigrationDto> {
    return this.orchestrator.cancel(user, id);
  }
}
