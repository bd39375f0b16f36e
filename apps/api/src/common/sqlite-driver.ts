import sqlite3 from 'sqlite3';

/**
 * The sqlite3 module as TypeORM's `driver`, minus its long-stack-trace mode: TypeORM calls
 * `verbose()` on the driver it loads, which wraps every Database call to capture a stack and
 * `util.inspect` every argument — the bound parameters included, so a statement binding a large
 * JSON text (Sql.jsonRows) paid for formatting it on every call (a third of a billing pass's CPU).
 * Errors still carry the failing SQL through TypeORM's QueryFailedError.
 */
export const sqliteDriver: typeof sqlite3 = Object.assign(Object.create(sqlite3) as typeof sqlite3, {
  verbose: () => sqliteDriver,
});
