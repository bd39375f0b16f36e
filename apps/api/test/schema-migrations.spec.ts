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
  /**
   * A fresh database migrated up to just before the migration named `name` (whatever migrations
   * follow it), and how to go back down there (tests of its data, up and down).
   */
  const beforeMigration = async (name: string) => {
    const { config } = await fresh();
    const dataSource = await openMigratedDataSource(dataSourceOptions(config));
    open.push(dataSource);
    const index = dataSource.migrations.findIndex((migration) => migration.name?.startsWith(name));
    expect(index).toBeGreaterThan(0);
    const downToBefore = async () => {
      for (let i = dataSource.migrations.length; i > index; i--) await dataSource.undoLastMigration({ transaction: 'all' });
    };
    await downToBefore();
    return { config, dataSource, downToBefore };
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

  it("BuyerBillingMarks carries billing over: each buyer's mark at 0 with their meters' earliest next due instant; back down, each live meter gets its buyer's", async () => {
    const { dataSource, downToBefore } = await beforeMigration('BuyerBillingMarks');
    // Meters as the pass before marks left them: each with its own next due instant (null: billing stopped).
    const meter = (machineId: string, buyerId: string, nextDueAt: number | null, removedAt: number | null) =>
      `('${machineId}', '${buyerId}', 'p', NULL, '1', 30, '0.5', 3600, 1000, 1, 0, 0, NULL, 1000, ${removedAt ?? 'NULL'}, ${nextDueAt ?? 'NULL'}, '1', 0)`;
    await dataSource.query(
      'INSERT INTO "machine_meters" ("machineId", "buyerId", "providerId", "hostId", "storagePrice", "storageAmountDays", "runningPrice", ' +
        '"runningUnitSeconds", "storedAt", "storagePeriodsCharged", "slicesCharged", "prepaidMsLeft", "runningSince", "asOf", "removedAt", ' +
        `"nextDueAt", "nextDebits", "revision") VALUES ${[meter('m1', 'b1', 5000, null), meter('m2', 'b1', 4000, null), meter('m3', 'b2', null, 3000), meter('m4', 'b2', 7000, null)].join(', ')}`,
    );
    await dataSource.runMigrations({ transaction: 'all' });
    const marks = await dataSource.query<Array<{ buyerId: string; billedTo: number | string; nextDueAt: number | string }>>(
      'SELECT "buyerId", "billedTo", "nextDueAt" FROM "buyer_billing" ORDER BY "buyerId"',
    );
    expect(marks.map((row) => [row.buyerId, Number(row.billedTo), Number(row.nextDueAt)])).toEqual([
      ['b1', 0, 4000],
      ['b2', 0, 7000],
    ]);
    await downToBefore();
    const meters = await dataSource.query<Array<{ machineId: string; nextDueAt: number | string | null }>>(
      'SELECT "machineId", "nextDueAt" FROM "machine_meters" ORDER BY "machineId"',
    );
    expect(meters.map((row) => [row.machineId, row.nextDueAt === null ? null : Number(row.nextDueAt)])).toEqual([
      ['m1', 4000],
      ['m2', 4000],
      ['m3', null],
      ['m4', 7000],
    ]);
  });

  it('LedgerKeyedByPayer carries every ledger row over, keyed by (payer, key), stored in that order on SQLite; and back down', async () => {
    const { config, dataSource, downToBefore } = await beforeMigration('LedgerKeyedByPayer');
    const entry = (key: string, payer: string, amount: string) => `('${key}', 'running', '${payer}', 'user:p', '${amount}', 'm', 'h', 1000, 'x')`;
    const columns = '("key", "kind", "debitAccount", "creditAccount", "amount", "machineId", "hostId", "at", "createdAt")';
    await dataSource.query(
      `INSERT INTO "ledger_entries" ${columns} VALUES ${[entry('running:m2:0', 'user:b', '1.5'), entry('running:m1:0', 'user:c', '2'), entry('fee:m1', 'user:a', '0.25')].join(', ')}`,
    );
    await dataSource.runMigrations({ transaction: 'all' });
    // In primary key order, every row as it was.
    const carried = [
      ['user:a', 'fee:m1', '0.25'],
      ['user:b', 'running:m2:0', '1.5'],
      ['user:c', 'running:m1:0', '2'],
    ];
    const rows = async () =>
      (
        await dataSource.query<Array<{ debitAccount: string; key: string; amount: string }>>(
          'SELECT "debitAccount", "key", "amount" FROM "ledger_entries" ORDER BY "debitAccount", "key"',
        )
      ).map((row) => [row.debitAccount, row.key, row.amount]);
    expect(await rows()).toEqual(carried);
    // The same key under its payer again is refused.
    await expect(dataSource.query(`INSERT INTO "ledger_entries" ${columns} VALUES ${entry('running:m2:0', 'user:b', '9')}`)).rejects.toThrow(
      /UNIQUE constraint failed|duplicate key value/,
    );
    const primaryKey =
      databaseKind(config) === 'postgres'
        ? (
            await dataSource.query<Array<{ definition: string }>>(
              "SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint WHERE conrelid = 'ledger_entries'::regclass AND contype = 'p'",
            )
          )[0].definition
        : (await dataSource.query<Array<{ sql: string }>>("SELECT sql FROM sqlite_master WHERE name = 'ledger_entries'"))[0].sql;
    expect(primaryKey).toMatch(/PRIMARY KEY \("debitAccount", "?key"?\)/);
    if (databaseKind(config) === 'sqlite') expect(primaryKey).toMatch(/WITHOUT ROWID$/);
    await downToBefore();
    expect(await rows()).toEqual(carried);
    // Keyed by the key alone again.
    await expect(dataSource.query(`INSERT INTO "ledger_entries" ${columns} VALUES ${entry('running:m2:0', 'user:z', '9')}`)).rejects.toThrow(
      /UNIQUE constraint failed|duplicate key value/,
    );
  });
});
