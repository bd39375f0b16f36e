import { Module } from '@nestjs/common';
import { MigrationsController } from './migrations.controller';
import { MigrationsService } from './migrations.service';

/** Migration between providers (docs/ARCHITECTURE.md §7). */
@Module({
  controllers: [MigrationsController],
  providers: [MigrationsService],
})
export class MigrationsModule {}
