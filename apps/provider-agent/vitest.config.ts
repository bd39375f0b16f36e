import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const lib = (name: string) => fileURLToPath(new URL(`../../libs/${name}/src/index.ts`, import.meta.url));

// Integration tests boot real QEMU guests (TCG-sized: 128 MB, 1 vCPU).
// SWC keeps the decorator metadata Nest's dependency injection needs (esbuild drops it).
export default defineConfig({
  plugins: [swc.vite()],
  resolve: { alias: { '@virtuoso/domain': lib('domain'), '@virtuoso/contracts': lib('contracts') } },
  test: {
    name: 'provider-agent',
    include: ['src/**/*.spec.ts'],
    environment: 'node',
    // Builds tools/guest-image (cached; seconds when fresh) and the agent (tsc -b; agent tests
    // run the real dist/main.js as a child process) before any test file runs.
    globalSetup: ['./src/vmm/test-support/global-setup.ts', './src/agent/test-support/build-agent.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // QEMU test files share 2 cores: one file at a time, concurrency inside files where safe.
    fileParallelism: false,
    // At most this many guests boot at once (TCG: one busy host core per booting guest).
    maxConcurrency: 2,
  },
});
