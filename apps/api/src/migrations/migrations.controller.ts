import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MigrationDto, MigrationOfferDto, StartMigrationDto } from '@virtuoso/contracts';
import { ApiErrors, ApiIdParam, ApiIfMatch, ApiSignedIn } from '../common/api-docs';
import { AuthUser, CurrentUser, Roles } from '../common/auth.decorators';
import { IdParam } from '../common/id-param';
import { Idempotent } from '../common/idempotency.interceptor';
import { IfMatch, IfMatchValue } from '../common/if-match';
import { MigrationsService } from './migrations.service';

/** A buyer's migrations (report §7, fig. 20 and 21; docs/ARCHITECTURE.md §7). */
@ApiTags('migrations')
@ApiSignedIn()
@Roles('buyer')
@Controller('machines')
export class MigrationsController {
  constructor(private readonly migrations: MigrationsService) {}

  @Get(':id/migration-offers')
  @ApiIdParam('machine')
  @ApiOperation({
    summary: 'Migrate search (fig. 20): every host that fits the machine other than its own, with its prices and the methods its agent offers',
    description:
      "Not filtered by the machine's asked prices (withinAsked says which are within them). Each candidate's agent is sent a VMMP QUERY in parallel, answered within about 2 s; a host that does not answer is listed with no methods and cannot be chosen.",
  })
  @ApiOkResponse({ type: MigrationOfferDto, isArray: true, description: 'Cheapest first.' })
  @ApiErrors(400, 401, 403, 404, [409, 'The machine is not stored on a host, or its state does not allow a migration.'])
  offers(@CurrentUser() user: AuthUser, @IdParam() id: string): Promise<MigrationOfferDto[]> {
    return this.migrations.offers(user, id);
  }

  @Post(':id/migrate')
  @ApiIdParam('machine')
  @HttpCode(202)
  @ApiIfMatch()
  @ApiOperation({
    summary: 'Migrate a stored, stopped or suspended machine to another host',
    description:
      "Reserves the destination's resources and puts the machine in `migrating`; the destination pulls it and the front-end commits (version + 1, the destination's prices, storage charged on arrival) or rolls back. Poll GET …/migration for progress.",
  })
  @ApiAcceptedResponse({ type: MigrationDto, description: 'The migration, under way.' })
  @ApiErrors(
    400,
    401,
    402,
    403,
    404,
    [409, 'The state does not allow a migration, the destination is the current host, does not fit, or does not offer the method.'],
    412,
    [503, 'The destination or the origin is offline or has no transfer port; nothing changed.'],
  )
  @Idempotent()
  migrate(@CurrentUser() user: AuthUser, @IdParam() id: string, @Body() dto: StartMigrationDto, @IfMatch() ifMatch?: IfMatchValue): Promise<MigrationDto> {
    return this.migrations.start(user, id, dto, ifMatch);
  }

  @Get(':id/migration')
  @ApiIdParam('machine')
  @ApiOperation({ summary: "The machine's current or last migration, with its progress" })
  @ApiOkResponse({ type: MigrationDto, description: 'The newest migration of the machine, under way or ended, with its progress and log.' })
  @ApiErrors(400, 401, 403, [404, 'No such machine, or it was never migrated.'])
  current(@CurrentUser() user: AuthUser, @IdParam() id: string): Promise<MigrationDto> {
    return this.migrations.current(user, id);
  }

  @Get(':id/migrations')
  @ApiIdParam('machine')
  @ApiOperation({ summary: "The machine's migrations, newest first" })
  @ApiOkResponse({ type: MigrationDto, isArray: true, description: 'Every migration of the machine, newest first.' })
  @ApiErrors(400, 401, 403, 404)
  list(@CurrentUser() user: AuthUser, @IdParam() id: string): Promise<MigrationDto[]> {
    return this.migrations.list(user, id);
  }

  @Post(':id/migration/cancel')
  @ApiIdParam('machine')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel the migration under way: it rolls back (the machine stays where it was, in its previous state and version)' })
  @ApiOkResponse({ type: MigrationDto, description: 'The migration, rolled back.' })
  @ApiErrors(400, 401, 403, 404, [409, 'No migration is under way, or it is already committing.'])
  @Idempotent()
  cancel(@CurrentUser() user: AuthUser, @IdParam() id: string): Promise<MigrationDto> {
    return this.migrations.cancel(user, id);
  }
}
