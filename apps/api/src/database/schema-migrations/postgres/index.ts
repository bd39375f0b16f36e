import type { MigrationInterface } from 'typeorm';
import { Initial1796520986691 } from './1796520986691-Initial';

/** The PostgreSQL schema migrations in the order they run. Written by `npm run db:migration` (tools/db/migration.mjs). */
export const POSTGRES_SCHEMA_MIGRATIONS: Array<new () => MigrationInterface> = [Initial1796520986691];
