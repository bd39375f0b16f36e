import type { NestExpressApplication } from '@nestjs/platform-express';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../src/app';
import { createOrAdoptSchema } from '../src/database/schema-migrations/sqlite/adopt-synchronized-schema';
import { SQLITE_SCHEMA_MIGRATIONS } from '../src/database/schema-migrations/sqlite';
import { schemaDrift } from './schema-drift';

/**
 * A SQLite database of a release before schema migrations: its schema made by `synchronize`, real
 * rows made through that release's API (tools/db/make-synchronize-fixture.mjs wrote it).
 */
const FIXTURE = readFileSync(join(__dirname, 'fixtures/synchronize-schema.sql'), 'utf8');

type Row = Record<string, unknown>;

function sqlite(path: string) {
  const db = new sqlite3.Database(path);
  return {
    exec: (sql: string) => new Promise<void>((ok, fail) => db.exec(sql, (error) => (error ? fail(error) : ok()))),
    all: <T = Row>(sql: string, params: unknown[] = []) =>
      new Promise<T[]>((ok, fail) => db.all(sql, params, (error, rows) => (error ? fail(error) : ok(rows as T[])))),
    close: () => new Promise<void>((done) => db.close(() => done())),
  };
}

/** Every row of every table, by table (tables of SQLite itself and the migrations' own left out). */
async function contents(path: string): Promise<Record<string, Row[]>> {
  const db = sqlite(path);
  try {
    const tables = await db.all<{ name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations' ORDER BY name",
    );
    const result: Record<string, Row[]> = {};
    for (const { name } of tables) result[name] = await db.all(`SELECT * FROM "${name}"`);
    return result;
  } finally {
    await db.close();
  }
}

/** The rows of `before` that are not in `after`, unchanged: [] when no row was lost or altered. */
const lost = (before: Record<string, Row[]>, after: Record<string, Row[]>) =>
  Object.entries(before).flatMap(([table, rows]) => {
    const kept = new Set((after[table] ?? []).map((row) => JSON.stringify(row, Object.keys(row).sort())));
    return rows.filter((row) => !kept.has(JSON.stringify(row, Object.keys(row).sort()))).map((row) => ({ table, row }));
  });

describe('upgrading a database made by synchronize (before schema migrations)', () => {
  let dir: string;
  let app: NestExpressApplication | null = null;
  const fixtureDatabase = async () => {
    dir = mkdtempSync(join(tmpdir(), 'virtuoso-upgrade-'));
    const dbPath = join(dir, 'virtuoso.sqlite');
    const db = sqlite(dbPath);
    await db.exec(FIXTURE);
    await db.close();
    return dbPath;
  };
  afterEach(async () => {
    await app?.close();
    app = null;
    rmSync(dir, { recursive: true, force: true });
  });

  it('the first migration adopts it: the app boots, users sign in, balance, host and machine are there, no row lost, no drift', async () => {
    const dbPath = await fixtureDatabase();
    const before = await contents(dbPath);
    const [bruno] = before.users.filter((user) => user.handle === 'bruno');
    expect(before.machines).toHaveLength(1);
    expect(before.ledger_entries.length).toBeGreaterThan(0);
    expect(before.sessions.length).toBeGreaterThan(0);

    app = await createApp({
      env: {},
      seed: true,
      daemons: false,
      docs: false,
      logger: false,
      config: { dbPath, databaseUrl: null, dataDir: dir, webDir: null, seedDemo: false, bcryptCost: 4 },
    });
    const server = app.getHttpServer();

    const buyer = request.agent(server);
    expect((await buyer.post('/api/auth/signin').send({ handle: 'bruno', password: 'buyer password' })).status).toBe(200);
    const me = await buyer.get('/api/auth/me');
    expect(me.body).toMatchObject({ id: bruno.id, role: 'buyer', balance: bruno.balance });
    const machines = await buyer.get('/api/machines');
    expect(machines.body.map((machine: { id: string }) => machine.id)).toEqual([before.machines[0].id]);
    const provider = request.agent(server);
    expect((await provider.post('/api/auth/signin').send({ handle: 'olga', password: 'provider password' })).status).toBe(200);
    expect((await provider.get('/api/hosts')).body.map((host: { id: string; name: string }) => [host.id, host.name])).toEqual([[before.hosts[0].id, 'virt8']]);

    // Adopted, not recreated: every row of before is still there, unchanged; nothing set aside is left.
    const after = await contents(dbPath);
    expect(lost(before, after)).toEqual([]);
    expect(Object.keys(after).filter((table) => table.startsWith('synchronized_'))).toEqual([]);
    // Recorded as migrated, and the schema is exactly the entities' (the drift check on it is clean).
    const dataSource = app.get(DataSource);
    expect((await dataSource.query('SELECT name FROM schema_migrations ORDER BY id')).map((row: { name: string }) => row.name)).toEqual(
      SQLITE_SCHEMA_MIGRATIONS.map((migration) => new migration().name),
    );
    expect(await schemaDrift(dataSource)).toEqual([]);
  });

  /** The fixture's own CREATE statements: the first migration as that release would have generated it. */
  const fixtureStatements = () =>
    FIXTURE.split('\n')
      .filter((line) => /^CREATE (UNIQUE )?(TABLE|INDEX)/.test(line))
      .map((line) => line.replace(/;$/, ''));

  async function adopt(dbPath: string, statements: string[]): Promise<void> {
    const dataSource = await new DataSource({ type: 'sqlite', database: dbPath }).initialize();
    const runner = dataSource.createQueryRunner();
    try {
      await runner.startTransaction();
      try {
        await createOrAdoptSchema(runner, statements);
        await runner.commitTransaction();
      } catch (error) {
        await runner.rollbackTransaction();
        throw error;
      }
    } finally {
      await runner.release();
      await dataSource.destroy();
    }
  }

  it('a first migration regenerated with more (a new table, a new column, a new index) adopts it too, keeping every row', async () => {
    const dbPath = await fixtureDatabase();
    const before = await contents(dbPath);
    const statements = fixtureStatements().map((sql) => (sql.startsWith('CREATE TABLE "users"') ? sql.replace(/\)$/, ', "nickname" varchar(40))') : sql));
    statements.push('CREATE TABLE "console_tickets" ("tokenHash" varchar(64) PRIMARY KEY NOT NULL, "machineId" varchar(36) NOT NULL)');
    statements.push('CREATE INDEX "IDX_console_tickets_machine" ON "console_tickets" ("machineId")');
    statements.push('CREATE INDEX "IDX_users_created" ON "users" ("createdAt")');
    await adopt(dbPath, statements);

    const after = await contents(dbPath);
    expect(after.console_tickets).toEqual([]);
    expect(after.users.map((user) => user.nickname)).toEqual(before.users.map(() => null));
    expect(lost(before, { ...after, users: after.users.map(({ nickname: _n, ...user }) => user) })).toEqual([]);
    const db = sqlite(dbPath);
    try {
      const indexes = await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name");
      const expected = statements.map((sql) => /^CREATE (?:UNIQUE )?INDEX "([^"]+)"/.exec(sql)?.[1]).filter(Boolean);
      expect(indexes.map((index) => index.name)).toEqual([...expected].sort());
    } finally {
      await db.close();
    }
  });

  it('an adoption that fails (a new NOT NULL column without a default) changes nothing', async () => {
    const dbPath = await fixtureDatabase();
    const before = await contents(dbPath);
    const statements = fixtureStatements().map((sql) =>
      sql.startsWith('CREATE TABLE "users"') ? sql.replace(/\)$/, ', "nickname" varchar(40) NOT NULL)') : sql,
    );
    await expect(adopt(dbPath, statements)).rejects.toThrow(/NOT NULL constraint failed: users\.nickname/);
    expect(await contents(dbPath)).toEqual(before);
  });
});
