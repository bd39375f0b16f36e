import { defineConfig } from 'vitest/config';

// Integration tests boot real QEMU guests (TCG-sized: 128 MB, 1 vCPU).
export default defineConfig({
  test: {
    name: 'provider-agent',
    include: ['src/**/*.spec.ts'],
    environment: 'node',
    // Builds tools/guest-image (cached; seconds when fresh) before any test file runs.
    globalSetup: ['./src/vmm/test-support/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // QEMU test files share 2 cores: one file at a time, concurrency inside files where safe.
    fileParallelism: false,
    // At most this many guests boot at once (TCG: one busy host core per booting guest).
    maxConcurrency: 2,
  },
});
