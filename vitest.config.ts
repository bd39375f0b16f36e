import { defineConfig } from 'vitest/config';

// One vitest run covers every TypeScript project; each entry is a project with its own vitest.config.ts.
export default defineConfig({
  test: {
    projects: ['libs/domain', 'libs/contracts', 'apps/api', 'apps/provider-agent', 'apps/web', 'tools'],
  },
});
