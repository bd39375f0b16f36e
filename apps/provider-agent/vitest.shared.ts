import swc from 'unplugin-swc';
import { fileURLToPath } from 'node:url';
import type { TestProjectInlineConfiguration } from 'vitest/config';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const lib = (name: string) => here(`../../libs/${name}/src/index.ts`);

/**
 * The agent's test files that boot no guest, start no agent, sshd or rsync and make no network
 * namespace: pure units. In the whole run (the root vitest.config.ts) two of them run at once,
 * before the files that boot guests run one at a time. A new file runs with the guests until it is
 * listed here.
 */
export const GUESTLESS_AGENT_TESTS = [
  'src/config.spec.ts',
  'src/agent/command-log.spec.ts',
  'src/agent/commands.spec.ts',
  'src/agent/units.spec.ts',
  'src/migration/arrival.spec.ts',
  'src/migration/authorized-keys.spec.ts',
  'src/migration/caches.spec.ts',
  'src/migration/destination.spec.ts',
  'src/migration/export-manifest.spec.ts',
  'src/migration/keys.spec.ts',
  'src/migration/pull.spec.ts',
  'src/migration/reports.spec.ts',
  'src/migration/rest-hashes.spec.ts',
  'src/migration/verify.spec.ts',
  'src/network/ports.spec.ts',
  'src/network/uplink.spec.ts',
  'src/vmm/accel-probe.spec.ts',
  'src/vmm/keyed-lock.spec.ts',
  'src/vmm/qemu/command-line.spec.ts',
  'src/vmm/qemu/guest-controls.spec.ts',
  'src/vmm/qemu/machine-dir.spec.ts',
  'src/vmm/qemu/qemu-driver-lock.spec.ts',
  'src/vmm/qemu/qemu-process.spec.ts',
  'src/vmm/qemu/save-state.spec.ts',
  'src/vmm/qemu/screen.spec.ts',
  'src/vmm/qemu/seed-image.spec.ts',
  'src/vmm/qemu/suspend-retry.spec.ts',
];

/** all: every file (a developer's run in apps/provider-agent); guestless / guests: the whole run's two halves. */
export function agentProject(files: 'all' | 'guestless' | 'guests'): TestProjectInlineConfiguration {
  return {
    root: here('.'),
    // SWC keeps the decorator metadata Nest's dependency injection needs (esbuild drops it).
    plugins: [swc.vite()],
    resolve: { alias: { '@virtuoso/domain': lib('domain'), '@virtuoso/contracts': lib('contracts') } },
    test: {
      name: files === 'guests' ? 'provider-agent-guests' : 'provider-agent',
      include: files === 'guestless' ? GUESTLESS_AGENT_TESTS : ['src/**/*.spec.ts'],
      exclude: ['**/node_modules/**', ...(files === 'guests' ? GUESTLESS_AGENT_TESTS : [])],
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
  };
}
