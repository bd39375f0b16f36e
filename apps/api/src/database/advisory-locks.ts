import { createHash } from 'node:crypto';

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

/**
 * The namespace of the replicas' own locks (two-int4 form `pg_advisory_lock(namespace, hash)`;
 * pg_locks shows them as classid = namespace, objid = the hash, objsubid 2): each replica holds
 * `(REPLICA_LOCK_NAMESPACE, replicaLockKey(its id))` for as long as it lives, so the others can
 * tell whether it is alive (common/leadership.ts, Leadership.isAlive). "VRTR" as an int4; the
 * 64-bit keys above are objsubid 1 in pg_locks, so the two never mix.
 */
export const REPLICA_LOCK_NAMESPACE = 0x56525452;

/**
 * A replica id as the int4 second key of its lock: the first 4 bytes of its SHA-256, signed.
 * Two replicas' ids could share one (1 in 2^32 per pair); a dead replica would then look alive
 * while the other lives, and what it orchestrated is settled only once that one goes too.
 */
export function replicaLockKey(replicaId: string): number {
  return createHash('sha256').update(replicaId).digest().readInt32BE(0);
}
