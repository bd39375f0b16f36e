import swc from 'unplugin-swc';
import { fileURLToPath } from 'node:url';
import type { TestProjectInlineConfiguration } from 'vitest/config';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const lib = (name: string) => here(`../../libs/${name}/src/index.ts`);

/**
 * The API's test files that boot no guest, start no sshd and make no network namespace for guests
 * (real agents that only join and heartbeat are fine, and so is a namespace of the test's own with
 * nothing but a veth in it): in the whole run (the root vitest.config.ts) two
 * of them run at once, before the files that boot guests run one at a time. A new file runs with
 * the guests until it is listed here.
 */
export const GUESTLESS_API_TESTS = [
  'src/**/*.spec.ts',
  'test/agents.spec.ts',
  'test/app.spec.ts',
  'test/auth.spec.ts',
  'test/authorization.spec.ts',
  'test/billing.spec.ts',
  'test/billing-locks.spec.ts',
  'test/billing-crash.spec.ts',
  'test/csrf.spec.ts',
  'test/daemons.spec.ts',
  'test/event-delivery.spec.ts',
  'test/events.spec.ts',
  'test/heartbeat-load.spec.ts',
  'test/hosts.spec.ts',
  'test/input.spec.ts',
  'test/install-agent.spec.ts',
  'test/ledger-post.spec.ts',
  'test/market.spec.ts',
  'test/market-search.spec.ts',
  'test/metrics.spec.ts',
  'test/migrations.spec.ts',
  'test/money.spec.ts',
  'test/operator.spec.ts',
  'test/price-history.spec.ts',
  'test/request-id.spec.ts',
  'test/schema-migrations.spec.ts',
  'test/schema-upgrade.spec.ts',
  'test/sql-rows.spec.ts',
  'test/trust-proxy.spec.ts',
  'test/scale/event-order.spec.ts',
  'test/scale/leadership.spec.ts',
  'test/scale/migration-orphans.spec.ts',
  'test/scale/schema-migration-lock.spec.ts',
  'test/scale/shared-state.spec.ts',
];

/**
 * Files whose subject does not depend on the database (the provider package installs and joins
 * the same on either): on SQLite only.
 */
const SQLITE_ONLY_API_TESTS = ['test/install-agent.spec.ts'];

export type ApiTestDatabase = 'sqlite' | 'postgres';
/** all: every file (a developer's run in apps/api); guestless / guests: the whole run's two halves. */
export type ApiTestFiles = 'all' | 'guestless' | 'guests';

/**
 * One vitest project of the API's tests on one database. On SQLite (the default) without
 * test/scale: several replicas on one database exist on PostgreSQL only. On PostgreSQL each test
 * app gets a database of its own on the run's private cluster (test/test-database.ts,
 * test/postgres-setup.ts); src/**: unit tests that touch no database run on SQLite's project only.
 */
export function apiProject(database: ApiTestDatabase, files: ApiTestFiles): TestProjectInlineConfiguration {
  const all = database === 'sqlite' ? ['src/**/*.spec.ts', 'test/**/*.spec.ts'] : ['test/**/*.spec.ts'];
  const skipped = ['**/node_modules/**', ...(database === 'sqlite' ? ['test/scale/**'] : SQLITE_ONLY_API_TESTS)];
  const name = `api${database === 'postgres' ? '-postgres' : ''}${files === 'guests' ? '-guests' : ''}`;
  return {
    root: here('.'),
    // SWC keeps the decorator metadata Nest's dependency injection needs (esbuild drops it).
    plugins: [swc.vite()],
    resolve: { alias: { '@virtuoso/domain': lib('domain'), '@virtuoso/contracts': lib('contracts') } },
    test: {
      name,
      include: files === 'guestless' ? GUESTLESS_API_TESTS.filter((file) => database === 'sqlite' || file.startsWith('test/')) : all,
      exclude: files === 'guests' ? [...skipped, ...GUESTLESS_API_TESTS] : skipped,
      environment: 'node',
      // Builds the provider agent and the tiny guest images: the tests run real agents and real QEMU.
      globalSetup: ['./test/global-setup.ts', ...(database === 'postgres' ? ['./test/postgres-setup.ts'] : [])],
      testTimeout: 60_000,
      hookTimeout: 60_000,
    },
  };
}
