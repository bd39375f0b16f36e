import { defineConfig } from 'vitest/config';

// One vitest run covers every TypeScript project; each entry is a project with its own vitest.config.ts.
// The API's tests run twice: on SQLite (apps/api) and on PostgreSQL (api-postgres, a private cluster).
export default defineConfig({
  test: {
    projects: ['libs/domain', 'libs/contracts', 'apps/api', 'apps/api/vitest.postgres.config.ts', 'apps/provider-agent', 'apps/web', 'tools'],
  },
});
