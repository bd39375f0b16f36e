import { defineConfig } from 'vitest/config';
import { apiProject } from './vitest.shared';

// The same API tests on PostgreSQL, plus test/scale (several replicas on one database):
// `cd apps/api && npx vitest run --config vitest.postgres.config.ts [file]`.
export default defineConfig(apiProject('postgres', 'all'));
