import type { DataSource } from 'typeorm';
import type { Query } from 'typeorm/driver/Query';

/**
 * Columns the migrations make that no entity can describe, since TypeORM knows neither the type
 * nor a driver's own default: on PostgreSQL `events.txid`, the writing transaction's id (xid8,
 * default pg_current_xact_id(); docs/ARCHITECTURE.md "Event log"). The schema builder would drop
 * them: the drift check and the migration generator leave them be.
 */
export const UNMAPPED_COLUMNS: ReadonlyArray<{ driver: 'postgres' | 'sqlite'; table: string; column: string }> = [
  { driver: 'postgres', table: 'events', column: 'txid' },
];

/** What the entities still need of the database (TypeORM's schema builder), less the drops of UNMAPPED_COLUMNS. */
export async function pendingSchemaChanges(dataSource: DataSource): Promise<{ upQueries: Query[]; downQueries: Query[] }> {
  const sql = await dataSource.driver.createSchemaBuilder().log();
  const unmapped = UNMAPPED_COLUMNS.filter((column) => column.driver === dataSource.options.type);
  const is = (query: Query, verb: string) => unmapped.some(({ table, column }) => query.query.startsWith(`ALTER TABLE "${table}" ${verb} "${column}"`));
  return { upQueries: sql.upQueries.filter((query) => !is(query, 'DROP COLUMN')), downQueries: sql.downQueries.filter((query) => !is(query, 'ADD')) };
}
