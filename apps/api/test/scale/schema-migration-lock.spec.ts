import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { afterEach, describe, expect, it } from 'vitest';
import { dataSourceOptions } from '../../src/database/data-source-options';
import { SCHEMA_MIGRATION_LOCK_KEY, openMigratedDataSource } from '../../src/database/migrate-schema';
import { POSTGRES_SCHEMA_MIGRATIONS } from '../../src/database/schema-migrations/postgres';
import { schemaDrift } from '../schema-drift';
import { type TestDatabase, testDatabase } from '../test-database';

/** Replicas booting together on one PostgreSQL (docs/ARCHITECTURE.md §12): the schema is migrated once. */
describe('schema migrations of replicas booting together (PostgreSQL)', () => {
  let dir: string;
  let database: TestDatabase;
  const open: DataSource[] = [];
  afterEach(async () => {
    for (const dataSource of open.splice(0)) if (dataSource.isInitialized) await dataSource.destroy();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('four replicas migrating a fresh database at once: each boots, every migration runs once, the lock is let go', async () => {
    dir = mkdtempSync(join(tmpdir(), 'virtuoso-schema-lock-'));
    database = await testDatabase(dir);
    expect(database.kind).toBe('postgres');
    const replicas = await Promise.all([1, 2, 3, 4].map(() => openMigratedDataSource(dataSourceOptions(database.config))));
    open.push(...replicas);
    const ran = await database.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY id');
    expect(ran.map((row) => row.name)).toEqual(POSTGRES_SCHEMA_MIGRATIONS.map((migration) => new migration().name));
    for (const replica of replicas) expect(await schemaDrift(replica)).toEqual([]);
    // Session advisory locks show in pg_locks as (classid, objid) = high and low 32 bits of the key.
    const key = BigInt(SCHEMA_MIGRATION_LOCK_KEY);
    const held = await database.query(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = ? AND objid = ?`, [
      String(key >> 32n),
      String(key & 0xffffffffn),
    ]);
    expect(held).toEqual([]);
  });
});
