import { Logger } from '@nestjs/common';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { ADVISORY_LOCKS } from './advisory-locks';

/**
 * The PostgreSQL session advisory lock held while the schema migrations run, so that replicas
 * booting together migrate once: the others wait, then find nothing pending (docs/ARCHITECTURE.md
 * §12).
 */
export const SCHEMA_MIGRATION_LOCK_KEY = ADVISORY_LOCKS.schemaMigration;

/**
 * Brings the schema up to date: the pending migrations (data-source-options.ts lists them per
 * driver) run in one transaction, so a failed upgrade leaves the database as it was. On
 * PostgreSQL under SCHEMA_MIGRATION_LOCK_KEY; SQLite has one writer anyway (one process per file).
 * Returns the names of the migrations it ran.
 */
export async function migrateSchema(dataSource: DataSource): Promise<string[]> {
  if (dataSource.options.type !== 'postgres') {
    return (await dataSource.runMigrations({ transaction: 'all' })).map((migration) => migration.name);
  }
  // A session lock lives on one connection: hold that one until the migrations are done.
  const lock = dataSource.createQueryRunner();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [SCHEMA_MIGRATION_LOCK_KEY]);
    try {
      return (await dataSource.runMigrations({ transaction: 'all' })).map((migration) => migration.name);
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1)', [SCHEMA_MIGRATION_LOCK_KEY]);
    }
  } finally {
    await lock.release();
  }
}

/**
 * The app's data source: connected, and its schema migrated before anything uses it (the
 * TypeORM module's dataSourceFactory, so no module starts on an old schema). A failed migration
 * closes the connections and throws.
 */
export async function openMigratedDataSource(options: DataSourceOptions): Promise<DataSource> {
  const dataSource = await new DataSource(options).initialize();
  try {
    const ran = await migrateSchema(dataSource);
    if (ran.length) new Logger('Schema').log(`migrated: ${ran.join(', ')}`);
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  return dataSource;
}
