/**
 * The PostgreSQL advisory-lock keys of the API, in one place (docs/ARCHITECTURE.md §12): fixed
 * 64-bit integers, distinct from each other ("VRTS" + a number, so they are easy to tell apart
 * in pg_locks).
 */
export const ADVISORY_LOCKS = {
  /** Held for as long as a replica is the daemons' leader. */
  leader: '6220130617345212417', // 0x5652545300000001
  /** Held while a replica seeds the catalog and the demo accounts at boot. */
  seed: '6220130617345212418', // 0x5652545300000002
  /** Held while a replica sends pending notices' emails. */
  notifications: '6220130617345212419', // 0x5652545300000003
  /** Held while a replica runs the schema migrations at boot (database/migrate-schema.ts). */
  schemaMigration: '6220130617345212420', // 0x5652545300000004
} as const;
