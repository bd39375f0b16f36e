import type { DataSourceOptions } from 'typeorm';
import type { AppConfig } from '../config';
import { ENTITIES } from '../entities';
import { sqliteDriver } from '../common/sqlite-driver';
import { POSTGRES_SCHEMA_MIGRATIONS } from './schema-migrations/postgres';
import { SQLITE_SCHEMA_MIGRATIONS } from './schema-migrations/sqlite';

/** Which database the config selects: PostgreSQL when VIRTUOSO_DATABASE_URL is set, else the SQLite file. */
export const databaseKind = (config: Pick<AppConfig, 'databaseUrl'>): 'postgres' | 'sqlite' => (config.databaseUrl ? 'postgres' : 'sqlite');

/** Where the database is, for the log: the SQLite path, or the PostgreSQL URL without its password. */
export function databaseLabel(config: Pick<AppConfig, 'databaseUrl' | 'dbPath'>): string {
  if (!config.databaseUrl) return config.dbPath;
  const url = new URL(config.databaseUrl);
  if (url.password) url.password = '***';
  return url.toString();
}

/**
 * The schema comes from the migrations of the driver (schema-migrations/, run at boot by
 * migrate-schema.ts), never from the entities: synchronize would alter a live database on its own.
 * Their table is `schema_migrations`, since `migrations` holds the machines' live migrations.
 */
const schemaMigrations = (kind: 'postgres' | 'sqlite') =>
  ({
    synchronize: false,
    migrationsRun: false,
    migrations: kind === 'postgres' ? POSTGRES_SCHEMA_MIGRATIONS : SQLITE_SCHEMA_MIGRATIONS,
    migrationsTableName: 'schema_migrations',
  }) as const;

/**
 * The TypeORM options of both databases, from the same entities (docs/ARCHITECTURE.md §12). The
 * app, the schema-migration scripts and the tests build their data sources here.
 */
export function dataSourceOptions(config: Pick<AppConfig, 'databaseUrl' | 'dbPath'>): DataSourceOptions {
  if (config.databaseUrl) {
    return {
      type: 'postgres',
      url: config.databaseUrl,
      entities: ENTITIES,
      ...schemaMigrations('postgres'),
      logging: false,
      // node-postgres pool: enough for the request handlers and the daemons of one replica.
      extra: { max: 20 },
    };
  }
  return {
    type: 'sqlite',
    driver: sqliteDriver,
    database: config.dbPath,
    entities: ENTITIES,
    ...schemaMigrations('sqlite'),
    enableWAL: config.dbPath !== ':memory:',
    logging: false,
  };
}
