import { defineConfig } from 'vitest/config';
import { apiProject } from './vitest.shared';

// Every API test on SQLite (`cd apps/api && npx vitest run [file]`); the whole run (root
// vitest.config.ts) splits them into files with and without guests.
export default defineConfig(apiProject('sqlite', 'all'));
