import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const lib = (name: string) => fileURLToPath(new URL(`../../libs/${name}/src/index.ts`, import.meta.url));

// SWC keeps the decorator metadata Nest's dependency injection needs (esbuild drops it).
export default defineConfig({
  plugins: [swc.vite()],
  resolve: { alias: { '@virtuoso/domain': lib('domain'), '@virtuoso/contracts': lib('contracts') } },
  test: {
    name: 'api',
    include: ['src/**/*.spec.ts', 'test/**/*.spec.ts'],
    // Several replicas on one database: PostgreSQL only (vitest.postgres.config.ts).
    exclude: ['test/scale/**', '**/node_modules/**'],
    environment: 'node',
    // Builds the provider agent and the tiny guest images: the tests run real agents and real QEMU.
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
