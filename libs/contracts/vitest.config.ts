import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  plugins: [swc.vite()],
  resolve: { alias: { '@virtuoso/domain': fileURLToPath(new URL('../domain/src/index.ts', import.meta.url)) } },
  test: { name: 'contracts', include: ['src/**/*.spec.ts'], environment: 'node', passWithNoTests: true, pool: 'threads' },
});
