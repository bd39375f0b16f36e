import type { TestProject } from 'vitest/node';
import { startCluster, type PostgresCluster } from '../../../tools/postgres/cluster.mjs';

const clusters: PostgresCluster[] = [];

/**
 * vitest globalSetup of the `api-postgres` projects: private PostgreSQL clusters for the run
 * (tools/postgres/cluster.mjs); each test app gets a database of its own on its worker's cluster
 * (test-database.ts). One cluster per worker when files run side by side (two at most here), as
 * separate deployments are: transaction ids are the cluster's, and the event log's readers wait for
 * every older transaction of the cluster (docs/ARCHITECTURE.md §15), so another file's open
 * transaction would hold back this file's newest events.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  const t0 = Date.now();
  const oneAtATime = project.config.pool === 'forks' && project.config.poolOptions?.forks?.maxForks === 1;
  const count = oneAtATime ? 1 : 2;
  for (let i = 0; i < count; i++) clusters.push(await startCluster({ label: 'virtuoso-api-tests' }));
  process.stderr.write(`[api-postgres] ${count} private PostgreSQL cluster(s) on port(s) ${clusters.map((c) => c.port).join(', ')} in ${Date.now() - t0} ms\n`);
  project.provide(
    'postgresUrls',
    clusters.map((cluster) => cluster.url('')),
  );
  return () => {
    for (const cluster of clusters.splice(0)) cluster.stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** postgres://…/ of each private cluster without a database name; [] on the SQLite project. */
    postgresUrls: string[];
  }
}
