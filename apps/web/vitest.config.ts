import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Unit tests of the SPA's pure helpers (formatting, grouping); pages are covered by the Playwright suite.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: {
    alias: {
      '@virtuoso/api-client': fileURLToPath(new URL('../../libs/api-client/src/index.ts', import.meta.url)),
      '@virtuoso/domain': fileURLToPath(new URL('../../libs/domain/src/index.ts', import.meta.url)),
    },
  },
  test: { name: 'web', include: ['src/**/*.spec.ts'], environment: 'node', pool: 'threads' },
});
