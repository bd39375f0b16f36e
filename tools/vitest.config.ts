import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { name: 'tools', include: ['checks/**/*.spec.ts'], environment: 'node', testTimeout: 180_000, pool: 'threads' },
});
