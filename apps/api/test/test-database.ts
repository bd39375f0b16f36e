import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import sqlite3 from 'sqlite3';
import { inject } from 'vitest';

/**
 * The database a test app runs on: a SQLite file in the test's directory on the `api` project, a
 * fresh database on the run's private PostgreSQL cluster (test/postgres-setup.ts) on the
 * `api-postgres` project. The same test code runs on both.
 */
export interface TestDatabase {
  kind: 'sqlite' | 'postgres';
  /** For createApp/startApp: the database to open (again, after a restart). */
  config: { dbPath: string; databaseUrl: string | null };
  /** For an API child process (apps/api/dist/main.js). */
  env: Record<string, string>;
  /** One statement on a connection of its own, `?` placeholders on both databases. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Removes the PostgreSQL database (the SQLite file goes with the test's directory). */
  drop(): Promise<void>;
}

/** This worker's private cluster's URL without a database name (postgres-setup.ts), or '' when the tests run on SQLite. */
export const postgresBaseUrl = (): string => {
  const urls = inject('postgresUrls') ?? [];
  if (urls.length === 0) return '';
  return urls[(Number(process.env.VITEST_POOL_ID ?? 1) - 1) % urls.length];
};

/** `?` → `$1, $2, …` outside quoted text, for PostgreSQL. */
export const numberedPlaceholders = (sql: string): string => {
  let n = 0;
  return sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|\?/g, (match) => (match === '?' ? `$${++n}` : match));
};

export async function testDatabase(dir: string): Promise<TestDatabase> {
  const base = postgresBaseUrl();
  if (!base) {
    const dbPath = join(dir, 'test.sqlite');
    return {
      kind: 'sqlite',
      config: { dbPath, databaseUrl: null },
      env: { VIRTUOSO_DB_PATH: dbPath },
      query<T>(sql: string, params: unknown[] = []) {
        // Read-write, and WAL lets it run beside the API's own connection.
        const db = new sqlite3.Database(dbPath);
        return new Promise<T[]>((ok, fail) => db.all(sql, params, (error, rows) => (error ? fail(error) : ok(rows as T[])))).finally(
          () => new Promise<void>((done) => db.close(() => done())),
        );
      },
      drop: async () => undefined,
    };
  }
  const name = `t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: `${base}postgres` });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const databaseUrl = `${base}${name}`;
  return {
    kind: 'postgres',
    config: { dbPath: join(dir, 'unused.sqlite'), databaseUrl },
    env: { VIRTUOSO_DATABASE_URL: databaseUrl },
    async query<T>(sql: string, params: unknown[] = []) {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        return (await client.query(numberedPlaceholders(sql), params)).rows as T[];
      } finally {
        await client.end();
      }
    },
    async drop() {
      const client = new pg.Client({ connectionString: `${base}postgres` });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
