import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sql, exec, rowParts, select } from '../src/common/sql';
import { dataSourceOptions } from '../src/database/data-source-options';
import { testDatabase, type TestDatabase } from './test-database';

/**
 * The billing pass's many-row statements (common/sql; docs/ARCHITECTURE.md §12): on both databases
 * a whole batch goes as ONE statement whose rows are one JSON parameter (SQLite) or one array
 * parameter per column (PostgreSQL), and every value comes back as sent — text with quotes and
 * non-ASCII letters, exact decimal strings, big integers, nulls.
 */
/** Texts a PostgreSQL array literal must quote or escape (common/sql.ts textArray): they come back as they went. */
const TRICKY = ['NULL', '', 'a\\b', '\\"', '{x,y}', ' lead and trail ', 'back\\\\slash"quote', 'tab\tnew\nline'];

describe('many rows in one statement (Sql.values, Sql.inList, rowParts)', () => {
  let dir: string;
  let database: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'virtuoso-sql-'));
    database = await testDatabase(dir);
    dataSource = new DataSource({ ...dataSourceOptions(database.config), synchronize: false, entities: [] });
    await dataSource.initialize();
    await dataSource.query('CREATE TABLE "rows_test" ("id" varchar(40) PRIMARY KEY, "amount" varchar(40), "count" integer, "at" bigint, "note" varchar(200))');
    await dataSource.query('CREATE TABLE "typed_rows_test" ("id" varchar(40) PRIMARY KEY, "count" integer, "at" bigint, "text" varchar(40))');
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const rows = Array.from({ length: 3000 }, (_, i) => [
    `row-${String(i).padStart(5, '0')}`,
    i % 3 === 0 ? '0.000000001' : `${i}.5`,
    i,
    String(1_796_000_000_000 + i),
    i % 7 === 0 ? null : i % 11 === 0 ? TRICKY[i % TRICKY.length] : `it's "row" ${i} — grüße`,
  ]);

  it('sends thousands of rows as one part, inserts and updates them from one parameter (one per column on PostgreSQL), and reads them back exactly', async () => {
    expect(rowParts(dataSource.manager, rows, 5)).toEqual([rows]);
    await dataSource.transaction(async (em) => {
      const insert = new Sql(em);
      const inserted = await exec(
        em,
        `INSERT INTO "rows_test" ("id", "amount", "count", "at", "note") ` +
          `SELECT v.column1, v.column2, CAST(v.column3 AS integer), CAST(v.column4 AS bigint), v.column5 FROM ${insert.values(rows, 5)} AS v WHERE true`,
        insert.params,
      );
      expect(insert.params).toHaveLength(database.kind === 'postgres' ? 5 : 1);
      expect(inserted.affected).toBe(rows.length);
      const update = new Sql(em);
      const updated = await exec(
        em,
        `UPDATE "rows_test" SET "amount" = v.column2 FROM ${update.values(
          rows.map((row) => [row[0], `${row[1]}1`]),
          2,
        )} AS v WHERE "rows_test"."id" = v.column1`,
        update.params,
      );
      expect(updated.affected).toBe(rows.length);
    });
    const read = new Sql(dataSource.manager);
    const ids = rows.filter((_, i) => i % 2 === 1).map((row) => row[0]);
    const back = await select<{ id: string; amount: string; count: number; at: string | number; note: string | null }>(
      dataSource.manager,
      `SELECT "id", "amount", "count", "at", "note" FROM "rows_test" WHERE "id" IN ${read.inList(ids)} ORDER BY "id"`,
      read.params,
    );
    expect(read.params).toHaveLength(1);
    expect(back.map((row) => [row.id, row.amount, Number(row.count), String(row.at), row.note])).toEqual(
      rows.filter((_, i) => i % 2 === 1).map((row) => [row[0], `${row[1]}1`, row[2], row[3], row[4]]),
    );
  });

  it('sends integer and bigint columns of numbers and nulls as typed arrays, and text that only looks like a number as text, exactly', async () => {
    const typed = Array.from({ length: 2000 }, (_, i) => [
      `typed-${i}`,
      i % 5 === 0 ? null : i - 1000,
      i % 9 === 0 ? null : 9_007_199_254_740_991 - i * 1_000_003,
      i % 4 === 0 ? String(i) : i % 4 === 1 ? `${i}"` : null,
    ]);
    await dataSource.transaction(async (em) => {
      const insert = new Sql(em);
      const inserted = await exec(
        em,
        `INSERT INTO "typed_rows_test" ("id", "count", "at", "text") ` +
          `SELECT v.column1, CAST(v.column2 AS integer), CAST(v.column3 AS bigint), v.column4 FROM ${insert.values(typed, 4, ['text', 'integer', 'bigint', 'text'])} AS v WHERE true`,
        insert.params,
      );
      expect(inserted.affected).toBe(typed.length);
      // PostgreSQL: the numbers went bare ({-1000,NULL,…}), not as quoted text.
      if (database.kind === 'postgres') expect(insert.params[1]).toMatch(/^\{NULL,-999,-998,/);
    });
    const back = await select<{ id: string; count: number | null; at: string | number | null; text: string | null }>(
      dataSource.manager,
      'SELECT "id", "count", "at", "text" FROM "typed_rows_test"',
      [],
    );
    const byId = new Map(
      back.map((row) => [row.id, [row.id, row.count === null ? null : Number(row.count), row.at === null ? null : Number(row.at), row.text]]),
    );
    expect(typed.map((row) => byId.get(row[0] as string))).toEqual(typed);
  });
});
