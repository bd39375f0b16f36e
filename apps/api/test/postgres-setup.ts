import type { TestProject } from 'vitest/node';
import { startCluster, type PostgresCluster } from '../../../tools/postgres/cluster.mjs';

let cluster: PostgresCluster | null = null;

/**
 * vitest globalSetup of the `api-postgres` project: one private PostgreSQL cluster for the run
 * (tools/postgres/cluster.mjs); each test app gets a database of its own on it (helpers.ts).
 */
export default async function setup(project: TestProject): Promise<() => void> {
  const t0 = Date.now();
  cluster = await startCluster({ label: 'virtuoso-api-tests' });
  process.stderr.write(`[api-postgres] private PostgreSQL cluster on port ${cluster.port} in ${Date.now() - t0} ms\n`);
  project.provide('postgresUrl', cluster.url(''));
  return () => cluster?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** postgres://…/ of the private cluster without a database name; '' on the SQLite project. */
    postgresUrl: string;
  }
}
