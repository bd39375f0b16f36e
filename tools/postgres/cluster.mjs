// A private PostgreSQL cluster for tests, benchmarks and the schema-migration scripts: initdb in a
// temporary directory, its own port on 127.0.0.1 and its own socket directory, stopped (and the
// directory removed) by stop(). No system service and no configuration outside the directory.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** The directory of Debian's PostgreSQL programs (initdb, pg_ctl), the newest version installed. */
export function postgresBinDir() {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((name) => existsSync(join(root, name, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length > 0) return join(root, versions[0], 'bin');
  const found = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).stdout.trim();
  if (found) return join(found, '..');
  throw new Error("PostgreSQL's initdb was not found: install Debian's postgresql package (tools/setup.sh does)");
}

/** A free TCP port on 127.0.0.1 (the kernel picks it; the cluster binds it a moment later). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a cluster. PostgreSQL refuses to run as root, so under root its programs run as the
 * `postgres` user that Debian's package creates (the directory is given to that user).
 * Durability is traded for speed (fsync off): these clusters live as long as a test run.
 */
export async function startCluster({ port, label = 'virtuoso-pg', maxConnections = 300 } = {}) {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), `${label}-`));
  const dataDir = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const run = (program, args) => {
    const argv = asRoot ? ['-u', 'postgres', '--', join(bin, program), ...args] : args;
    execFileSync(asRoot ? 'runuser' : join(bin, program), argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  };
  if (asRoot)
    chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), Number(execFileSync('id', ['-g', 'postgres']).toString().trim()));
  const listenPort = port ?? (await freePort());
  try {
    run('initdb', ['-D', dataDir, '-U', 'virtuoso', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    const settings = [
      `-p ${listenPort}`,
      `-k ${dir}`,
      "-c listen_addresses='127.0.0.1'",
      `-c max_connections=${maxConnections}`,
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c shared_buffers=128MB',
    ].join(' ');
    run('pg_ctl', ['-D', dataDir, '-l', join(dir, 'postgres.log'), '-o', settings, '-w', '-t', '60', 'start']);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = error && typeof error === 'object' && 'stderr' in error ? String(error.stderr) : '';
    throw new Error(`could not start a private PostgreSQL cluster: ${stderr || error}`);
  }
  const url = (database = 'postgres') => `postgres://virtuoso@127.0.0.1:${listenPort}/${database}`;
  const admin = async (sql) => {
    const client = new pg.Client({ connectionString: url('postgres') });
    await client.connect();
    try {
      return await client.query(sql);
    } finally {
      await client.end();
    }
  };
  let stopped = false;
  return {
    dir,
    port: listenPort,
    url,
    /** Runs one statement as the superuser on the `postgres` database. */
    admin,
    /** CREATE DATABASE (from `template` when given); returns its URL. */
    async createDatabase(name, template) {
      await admin(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ''}`);
      return url(name);
    },
    async dropDatabase(name) {
      await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
    /** Stops the server at once and removes its directory. */
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        run('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already gone
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes the cluster's URL where other processes (a vitest worker, a script) can read it. */
export function writeClusterFile(path, cluster) {
  writeFileSync(path, JSON.stringify({ port: cluster.port, url: cluster.url(''), dir: cluster.dir }));
}
