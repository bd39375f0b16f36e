import sqlite3 from 'sqlite3';

/**
 * The sqlite3 module as TypeORM's `driver`, minus its long-stack-trace mode: TypeORM calls
 * `verbose()` on the driver it loads, which wraps every Database call to capture a stack and
 * `util.inspect` every argument — the bound parameters included, so a statement binding a large
 * JSON text (Sql.values) paid for formatting it on every call (about 0.4 s of the billing-pass
 * bench's 3.2 s of CPU).
 * Errors still carry the failing SQL through TypeORM's QueryFailedError.
 */
export const sqliteDriver: typeof sqlite3 = Object.assign(Object.create(sqlite3) as typeof sqlite3, {
  verbose: () => sqliteDriver,
});
