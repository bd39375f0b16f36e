import type { DataSource } from 'typeorm';
import { pendingSchemaChanges } from '../src/database/schema-changes';

/**
 * What the schema builder would still do to make the database match the entities (what
 * `npm run db:migration` would generate): [] when the entities have not drifted from the migrations.
 */
export async function schemaDrift(dataSource: DataSource): Promise<string[]> {
  return (await pendingSchemaChanges(dataSource)).upQueries.map((query) => query.query);
}
