import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const lib = (name: string) => fileURLToPath(new URL(`../../libs/${name}/src/index.ts`, import.meta.url));

// The same API tests on PostgreSQL (test/test-database.ts gives each test app a database on the
// run's private cluster, test/postgres-setup.ts), plus test/scale: several replicas on one
// PostgreSQL, which SQLite (one process) has no counterpart of.
export default defineConfig({
  plugins: [swc.vite()],
  resolve: { alias: { '@virtuoso/domain': lib('domain'), '@virtuoso/contracts': lib('contracts') } },
  test: {
    name: 'api-postgres',
    // Not src/**/*.spec.ts: those unit tests touch no database, and the api project runs them.
    include: ['test/**/*.spec.ts'],
    environment: 'node',
    globalSetup: ['./test/global-setup.ts', './test/postgres-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
