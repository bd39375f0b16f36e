import type { EntityManager } from 'typeorm';

/**
 * Hand-written SQL for the few hot paths (the billing pass, ledger posting) that must touch
 * thousands of rows in a few statements. Only what SQLite (≥ 3.38) and PostgreSQL both accept:
 * double-quoted identifiers, multi-row VALUES, INSERT … ON CONFLICT, UPDATE … FROM, SAVEPOINT, CAST,
 * WITH RECURSIVE and AS MATERIALIZED (billing/due-charges.ts).
 *
 * Multi-row statements come in a few fixed sizes (chunkSizes: 256, 128, …, 1 rows), so the same
 * few texts recur; on SQLite each is compiled once and kept as a prepared statement (compiling a
 * 1000-row VALUES list costs milliseconds, as much as running it), on PostgreSQL the text goes
 * through TypeORM as usual.
 */
export class Sql {
  readonly params: unknown[] = [];
  private readonly numbered: boolean;
  /** SQLite (≥ 3.38: json_each and ->> built in). */
  readonly sqlite: boolean;

  constructor(em: EntityManager) {
    this.numbered = em.connection.options.type === 'postgres';
    this.sqlite = em.connection.options.type === 'sqlite';
    this.postgres = em.connection.options.type === 'postgres';
  }

  /** PostgreSQL: rows are bound as one text[] parameter per column, read by unnest (see jsonRows). */
  private readonly postgres: boolean;

  /**
   * Rows of `width` values as a derived table with columns column1 … columnN, like `(VALUES …)`,
   * but bound as few parameters. SQLite: ONE JSON text; the sqlite3 driver converts every bound
   * value on the main thread, and SQLite's json_each unpacks the rows on its own thread, in array
   * order (the billing-pass bench: 2.66 s this way, 3.44 s with positional VALUES). PostgreSQL: one
   * text[] parameter per column read by unnest(), in array order: one short text to parse and plan
   * instead of a 256-row VALUES list, and no JSON to parse per value on the server (`->>` on json
   * re-reads the row's text for every column; docs/ARCHITECTURE.md §12). Values: strings, finite
   * numbers (integers come back as INTEGER on SQLite), null; PostgreSQL reads every value as text,
   * as it reads the untyped parameters of a VALUES list (the statements CAST where they need to).
   */
  private jsonRows(rows: readonly (readonly unknown[])[], width: number, types?: readonly string[]): string {
    if (this.postgres) {
      const arrays = Array.from({ length: width }, (_, i) => `${this.p(columnArray(rows, i, types?.[i]))}::${types?.[i] ?? 'text'}[]`);
      const names = Array.from({ length: width }, (_, i) => `column${i + 1}`).join(', ');
      return `(SELECT * FROM unnest(${arrays.join(', ')}) AS u(${names}))`;
    }
    const columns = Array.from({ length: width }, (_, i) => `j.value ->> ${i} AS column${i + 1}`).join(', ');
    return `(SELECT ${columns} FROM json_each(${this.p(JSON.stringify(rows))}) AS j)`;
  }

  /** A placeholder bound to `value`. Call it in the order the placeholders appear in the text (SQLite binds `?` by position). */
  p(value: unknown): string {
    this.params.push(value);
    return this.numbered ? `$${this.params.length}` : '?';
  }

  /** `(p, p, …)` of one row. */
  row(values: readonly unknown[]): string {
    return `(${values.map((value) => this.p(value)).join(', ')})`;
  }

  /** `(p, p, …)` of a list, for IN. */
  list(values: readonly unknown[]): string {
    return this.row(values);
  }

  /** A list for IN, split by rowParts: a subquery of one parameter (see jsonRows). */
  inList(values: readonly unknown[]): string {
    if (this.postgres) return `(SELECT unnest(${this.p(textArray(values.map(textOf)))}::text[]))`;
    return this.sqlite ? `(SELECT value FROM json_each(${this.p(JSON.stringify(values))}))` : this.list(values);
  }

  /**
   * Rows as a derived table with columns column1 … columnN: jsonRows (SQLite, PostgreSQL), else `(VALUES …)`.
   * `types`: PostgreSQL reads the columns as arrays of these (numbers parsed once, as the array is
   * read, rather than cast from text by the statement: a billing batch's meters 5–8 % faster), text
   * where not given; the statements' CASTs then change nothing.
   */
  values(rows: readonly (readonly unknown[])[], width: number, types?: readonly string[]): string {
    return this.sqlite || this.postgres ? this.jsonRows(rows, width, types) : `(VALUES ${rows.map((row) => this.row(row)).join(', ')})`;
  }
}

/**
 * Column `index` of the rows as the text form of a PostgreSQL array of `type`. An integer or
 * bigint column of integers (or nulls) is written bare, `{1,NULL,3}`: nothing in it to quote, and
 * no string made a number (the billing pass binds over a million numbers).
 */
function columnArray(rows: readonly (readonly unknown[])[], index: number, type: string | undefined): string {
  if (type === 'integer' || type === 'bigint') {
    const column = new Array<unknown>(rows.length);
    let bare = true;
    for (let i = 0; i < rows.length && bare; i++) {
      const value = rows[i][index];
      if (value === null || value === undefined) column[i] = 'NULL';
      else if (Number.isSafeInteger(value)) column[i] = value;
      else bare = false;
    }
    if (bare) return `{${column.join(',')}}`;
  }
  return textArray(rows.map((row) => textOf(row[index])));
}

/** A value as PostgreSQL's text[] element: null stays null (numbers as JSON writes them, like `->>` did). */
const textOf = (value: unknown): string | null =>
  value === null || value === undefined ? null : typeof value === 'string' ? value : typeof value === 'number' ? String(value) : JSON.stringify(value);

/**
 * PostgreSQL's text form of a text[] ('{"a","b\\"c",NULL}'), bound as a string and cast by the
 * statement: what node-postgres would send for a JS array, built with one join instead of its
 * string appends and two regular expressions per element (a billing pass of 100,000 meters binds
 * over two million values: half a second of its CPU and garbage).
 */
export function textArray(values: readonly (string | null)[]): string {
  // Usually no value is null or needs escaping (ids, keys, money, numbers): one join, no string a value.
  let plain = true;
  for (let i = 0; i < values.length && plain; i++) plain = values[i] !== null && !needsEscape(values[i]!);
  if (plain) return values.length === 0 ? '{}' : `{"${values.join('","')}"}`;
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    parts[i] = value === null ? 'NULL' : needsEscape(value) ? `"${value.replace(/[\\"]/g, '\\$&')}"` : `"${value}"`;
  }
  return `{${parts.join(',')}}`;
}
/** A quote or backslash in it (two searches for a character: cheaper than a regular expression for each of millions of values). */
const needsEscape = (value: string): boolean => value.indexOf('"') !== -1 || value.indexOf('\\') !== -1;

/** Bound values per statement: below SQLite's 32766 and PostgreSQL's 65535. */
export const MAX_PARAMS = 30_000;
/** Rows per multi-row statement at most. */
export const CHUNK_ROWS = 256;

/**
 * The parts to send `items` in, `width` values a row, with Sql.values or Sql.inList: all in one
 * statement (one JSON parameter whatever the count) on SQLite and PostgreSQL, else reusableChunks.
 */
export function rowParts<T>(em: EntityManager, items: readonly T[], width = 1): T[][] {
  const type = em.connection.options.type;
  if (type === 'sqlite' || type === 'postgres') return items.length === 0 ? [] : [[...items]];
  return reusableChunks(items, width);
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}

/**
 * Splits `items` into parts whose sizes are `max` (a power of two, or CHUNK_ROWS capped so that
 * `width` values a row fit MAX_PARAMS) and then powers of two: 1250 rows of 256 → 256 × 4, 128,
 * 64, 32, 2. A statement text depends only on its size, so few texts ever exist.
 */
export function reusableChunks<T>(items: readonly T[], width = 1): T[][] {
  let max = CHUNK_ROWS;
  while (max > 1 && max * width > MAX_PARAMS) max /= 2;
  const out: T[][] = [];
  let at = 0;
  while (items.length - at >= max) {
    out.push(items.slice(at, at + max));
    at += max;
  }
  for (let size = max / 2; size >= 1; size /= 2) {
    if (items.length - at >= size) {
      out.push(items.slice(at, at + size));
      at += size;
    }
  }
  return out;
}

// ——— SQLite prepared statements ————————————————————————————————————————————————————————————

interface Sqlite3Statement {
  run(params: unknown[], callback: (this: { changes: number }, error: Error | null) => void): void;
  all(params: unknown[], callback: (error: Error | null, rows: unknown[]) => void): void;
  finalize(callback?: () => void): void;
}

interface Sqlite3Connection {
  prepare(sql: string, callback: (error: Error | null) => void): Sqlite3Statement;
}

const prepared = new WeakMap<object, Map<string, Promise<Sqlite3Statement>>>();
/** Distinct texts kept per connection; beyond it, statements are compiled per call. */
const MAX_PREPARED = 256;

function sqliteConnection(em: EntityManager): Sqlite3Connection | null {
  if (em.connection.options.type !== 'sqlite') return null;
  return ((em.connection.driver as unknown as { databaseConnection?: Sqlite3Connection }).databaseConnection ?? null) as Sqlite3Connection | null;
}

function statementFor(connection: Sqlite3Connection, sql: string): Promise<Sqlite3Statement> | null {
  let cache = prepared.get(connection);
  if (!cache) prepared.set(connection, (cache = new Map()));
  let statement = cache.get(sql);
  if (!statement) {
    if (cache.size >= MAX_PREPARED) return null;
    statement = new Promise<Sqlite3Statement>((resolve, reject) => {
      const compiled = connection.prepare(sql, (error) => (error ? reject(error) : resolve(compiled)));
    });
    statement.catch(() => cache!.delete(sql));
    cache.set(sql, statement);
  }
  return statement;
}

/** Finalizes the prepared statements of the data source's connection (before it closes). */
export async function finalizeStatements(em: EntityManager): Promise<void> {
  const connection = sqliteConnection(em);
  const cache = connection && prepared.get(connection);
  if (!cache) return;
  prepared.delete(connection!);
  for (const statement of cache.values()) {
    await statement.then((compiled) => new Promise<void>((done) => compiled.finalize(() => done()))).catch(() => undefined);
  }
}

// ——— running ——————————————————————————————————————————————————————————————————————————————

/**
 * Runs a statement in the caller's transaction and tells how many rows it changed. `reuse`: the
 * text recurs (a chunkSizes size), keep it prepared on SQLite.
 */
export async function exec(em: EntityManager, sql: string, params: unknown[], reuse = false): Promise<{ rows: Record<string, unknown>[]; affected: number }> {
  const runner = em.queryRunner;
  if (!runner) throw new Error('exec needs the EntityManager of a transaction');
  const connection = reuse ? sqliteConnection(em) : null;
  const statement = connection && statementFor(connection, sql);
  if (statement) {
    const compiled = await statement;
    // Logged as TypeORM logs the statements it runs (its `logging` option; counted by tests).
    em.connection.logger.logQuery(sql, params);
    const affected = await new Promise<number>((resolve, reject) =>
      compiled.run(params, function (error) {
        if (error) reject(error);
        else resolve(this.changes);
      }),
    );
    return { rows: [], affected };
  }
  const result = await runner.query(sql, params, true);
  return { rows: (result.records as Record<string, unknown>[] | undefined) ?? [], affected: result.affected ?? 0 };
}

/**
 * A SELECT in the caller's transaction (or outside one, with the data source's manager). `reuse`
 * only for statements that never run side by side (one transaction's, one group's): sqlite3 runs
 * the calls of one prepared statement one after the other, each waiting for the event loop to take
 * the last one's rows, so concurrent requests sharing one would queue behind each other.
 */
export async function select<T = Record<string, unknown>>(em: EntityManager, sql: string, params: unknown[], reuse = false): Promise<T[]> {
  const connection = reuse ? sqliteConnection(em) : null;
  const statement = connection && statementFor(connection, sql);
  if (statement) {
    const compiled = await statement;
    em.connection.logger.logQuery(sql, params);
    return new Promise<T[]>((resolve, reject) => compiled.all(params, (error, rows) => (error ? reject(error) : resolve(rows as T[]))));
  }
  return em.query(sql, params) as Promise<T[]>;
}

export const quoted = (name: string) => `"${name}"`;
