import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import { apiProject } from './apps/api/vitest.shared';
import { agentProject } from './apps/provider-agent/vitest.shared';

/**
 * Files without guests run two at a time (the threads pool, 2 workers) in a first group. Neither
 * group isolates files: a worker imports Nest, TypeORM and the app once for all its files instead
 * of once per file (most of a short file's time); each test makes its own app and database. Files
 * that boot QEMU guests, start sshd or make network namespaces run one at a time (the forks pool,
 * 1 worker) in a second group, alone on the machine's 2 cores as TCG needs. The unit projects
 * (libs, web, tools) are in the first group by their own configs.
 */
const twoAtOnce = (project: TestProjectInlineConfiguration): TestProjectInlineConfiguration => ({
  ...project,
  test: { ...project.test, pool: 'threads', sequence: { groupOrder: 0 } },
});
const oneAtATime = (project: TestProjectInlineConfiguration): TestProjectInlineConfiguration => ({
  ...project,
  test: { ...project.test, pool: 'forks', sequence: { groupOrder: 1 } },
});

// One vitest run covers every TypeScript project. The API's tests run twice: on SQLite (api) and
// on PostgreSQL (api-postgres, a private cluster).
export default defineConfig({
  test: {
    poolOptions: { threads: { maxThreads: 2, minThreads: 1, isolate: false }, forks: { maxForks: 1, minForks: 1, isolate: false } },
    projects: [
      'libs/domain',
      'libs/contracts',
      'apps/web',
      'tools',
      twoAtOnce(apiProject('sqlite', 'guestless')),
      twoAtOnce(apiProject('postgres', 'guestless')),
      twoAtOnce(agentProject('guestless')),
      oneAtATime(apiProject('sqlite', 'guests')),
      oneAtATime(apiProject('postgres', 'guests')),
      oneAtATime(agentProject('guests')),
    ],
  },
});
