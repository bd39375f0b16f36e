import type { QueryRunner } from 'typeorm';

/** The prefix an adopted table goes by while its rows move into the table the migration made. */
const ADOPTED = 'synchronized_';

/**
 * The body of the first SQLite migration: runs its statements on an empty database; on a database
 * of the releases before schema migrations (tables made by TypeORM's `synchronize`, no
 * `schema_migrations` table) it adopts the tables instead, without losing a row
 * (docs/ARCHITECTURE.md §12). Each table the statements make that already exists is set aside
 * (its indexes dropped, renamed), made anew by the statements, refilled from its old self over
 * the columns both have, and the old one dropped: SQLite's own way to change a table, and
 * whatever the first migration has gained since that release (new tables, new nullable or
 * defaulted columns, new indexes) comes out exactly as on a fresh database. Tables the statements
 * do not make are left alone. It all runs in the migrations' transaction: a failure changes nothing.
 */
export async function createOrAdoptSchema(queryRunner: QueryRunner, statements: readonly string[]): Promise<void> {
  const made = statements.map((sql) => /^CREATE TABLE "([^"]+)"/.exec(sql)?.[1]).filter((name): name is string => Boolean(name));
  const existing = made.length
    ? (
        (await queryRunner.query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (${made.map(() => '?').join(', ')})`, made)) as Array<{
          name: string;
        }>
      ).map((row) => row.name)
    : [];
  for (const table of existing) {
    // Index names are global in SQLite: the old ones would collide with the statements' own.
    const indexes = (await queryRunner.query(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`, [table])) as Array<{
      name: string;
    }>;
    for (const index of indexes) await queryRunner.query(`DROP INDEX "${index.name}"`);
    await queryRunner.query(`ALTER TABLE "${table}" RENAME TO "${ADOPTED}${table}"`);
  }
  for (const sql of statements) await queryRunner.query(sql);
  for (const table of existing) {
    const columns = async (name: string) => ((await queryRunner.query(`PRAGMA table_info("${name}")`)) as Array<{ name: string }>).map((column) => column.name);
    const old = new Set(await columns(`${ADOPTED}${table}`));
    const shared = (await columns(table)).filter((column) => old.has(column)).map((column) => `"${column}"`);
    await queryRunner.query(`INSERT INTO "${table}" (${shared.join(', ')}) SELECT ${shared.join(', ')} FROM "${ADOPTED}${table}"`);
    await queryRunner.query(`DROP TABLE "${ADOPTED}${table}"`);
  }
}
