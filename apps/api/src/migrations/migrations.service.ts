import { Injectable, NotImplementedException } from '@nestjs/common';
import type { MigrationDto, MigrationOfferDto, StartMigrationDto } from '@virtuoso/contracts';
import type { AuthUser } from '../common/auth.decorators';
import type { IfMatchValue } from '../common/if-match';

/** Placeholder of the migration orchestrator's façade (being built). */
@Injectable()
export class MigrationsService {
  offers(_user: AuthUser, _id: string): Promise<MigrationOfferDto[]> {
    throw new NotImplementedException('migration is being built');
  }
  start(_user: AuthUser, _id: string, _dto: StartMigrationDto, _ifMatch?: IfMatchValue): Promise<MigrationDto> {
    throw new NotImplementedException('migration is being built');
  }
  current(_user: AuthUser, _id: string): Promise<MigrationDto> {
    throw new NotImplementedException('migration is being built');
  }
  list(_user: AuthUser, _id: string): Promise<MigrationDto[]> {
    throw new NotImplementedException('migration is being built');
  }
  cancel(_user: AuthUser, _id: string): Promise<MigrationDto> {
    throw new NotImplementedException('migration is being built');
  }
}
