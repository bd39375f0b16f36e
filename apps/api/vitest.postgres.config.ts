import { defineConfig, mergeConfig } from 'vitest/config';
import sqlite from './vitest.config';

// The same API tests on PostgreSQL: a private cluster for the run (test/postgres-setup.ts), a database per test app.
export default mergeConfig(
  sqlite,
  defineConfig({
    test: {
      name: 'api-postgres',
      globalSetup: ['./test/postgres-setup.ts'],
    },
  }),
);
