import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterEach, describe, expect, it } from 'vitest';
import { dataSourceOptions, databaseKind } from '../src/database/data-source-options';
import { openMigratedDataSource } from '../src/database/migrate-schema';
import { POSTGRES_SCHEMA_MIGRATIONS } from '../src/database/schema-migrations/postgres';
import { SQLITE_SCHEMA_MIGRATIONS } from '../src/database/schema-migrations/sqlite';
import { ENTITIES } from '../src/entities';
import { startApp } from './helpers';
import { schemaDrift } from './schema-drift';
import { type TestDatabase, testDatabase } from './test-database';

/**
 * Schema migrations (docs/ARCHITECTURE.md §12) on the driver of the run: SQLite on the `api`
 * project, PostgreSQL on `api-postgres`. The drift check is the CI guard that every entity change
 * comes with its migration (`npm run db:migration -- <Name>`).
 */
describe('schema migrations', () => {
  let dir: string;
  let database: TestDatabase;
  const open: DataSource[] = [];
  const fresh = async () => {
    dir = mkdtempSync(join(tmpdir(), 'virtuoso-schema-'));
    database = await testDatabase(dir);
    return database;
  };
  afterEach(async () => {
    for (const dataSource of open.splice(0)) if (dataSource.isInitialized) await dataSource.destroy();
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a fresh database migrated by the migrations matches the entities: no statement left to generate (drift check)', async () => {
    const { config } = await fresh();
    const dataSource = await openMigratedDataSource(dataSourceOptions(config));
    open.push(dataSource);
    const drift = await schemaDrift(dataSource);
    // On failure this names the statements: generate the migration they belong to (apps/api/README.md).
    expect(drift, `the entities drifted from the ${databaseKind(config)} migrations; run npm run db:migration -- <Name>`).toEqual([]);
    // Every entity's table is there (the migrations are not merely empty).
    const tables = ENTITIES.map((entity) => dataSource.getMetadata(entity).tableName);
    const runner = dataSource.createQueryRunner();
    try {
      for (const table of tables) expect(await runner.hasTable(table), table).toBe(true);
    } finally {
      await runner.release();
    }
  });

  it('synchronize is off and the app migrates at boot: schema_migrations lists every migration of the driver, once', async () => {
    const { config, kind } = await fresh();
    expect(dataSourceOptions(config).synchronize).toBe(false);
    const expected = (kind === 'postgres' ? POSTGRES_SCHEMA_MIGRATIONS : SQLITE_SCHEMA_MIGRATIONS).map((migration) => new migration().name);
    const t = await startApp({ config });
    try {
      const ran = await database.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY id');
      expect(ran.map((row) => row.name)).toEqual(expected);
      // The app works on the migrated schema.
      const buyer = await t.signUp('buyer');
      expect((await buyer.get('/api/auth/me')).body).toMatchObject({ role: 'buyer' });
    } finally {
      await t.close();
    }
    // A second boot on the same database runs nothing again.
    const again = await openMigratedDataSource(dataSourceOptions(config));
    open.push(again);
    expect(Number((await again.query('SELECT COUNT(*) AS n FROM schema_migrations'))[0].n)).toBe(expected.length);
  });

  it('the migrations go down again to an empty schema and back up without drift', async () => {
    const { config } = await fresh();
    const dataSource = await openMigratedDataSource(dataSourceOptions(config));
    open.push(dataSource);
    for (let i = 0; i < dataSource.migrations.length; i++) await dataSource.undoLastMigration({ transaction: 'all' });
    const runner = dataSource.createQueryRunner();
    try {
      for (const entity of ENTITIES) expect(await runner.hasTable(dataSource.getMetadata(entity).tableName)).toBe(false);
    } finally {
      await runner.release();
    }
    await dataSource.runMigrations({ transaction: 'all' });
    expect(await schemaDrift(dataSource)).toEqual([]);
  });
});
