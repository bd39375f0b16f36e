// Writes apps/api/test/fixtures/synchronize-schema.sql: a SQLite database made by a release before
// schema migrations (its schema made by TypeORM's `synchronize`), holding real rows made through
// that release's API — two users, their sessions, a host, a top-up, a registered machine and the
// ledger rows they posted — as SQL text. schema-upgrade.spec.ts loads it and checks that the
// first migration adopts it (docs/ARCHITECTURE.md §12).
//
// Made once; kept so that the fixture can be remade or extended. It needs a build of such a
// release: `node tools/db/make-synchronize-fixture.mjs <its apps/api/dist> [out.sql]`, e.g. from a
// worktree of the commit before schema migrations:
//   git worktree add ../old <commit> && (cd ../old && npm ci && npx tsc -b apps/api)
//   node tools/db/make-synchronize-fixture.mjs ../old/apps/api/dist
// It refuses a build with schema migrations (its database has a schema_migrations table).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sqlite3 from 'sqlite3';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const [distArg, outArg] = process.argv.slice(2);
if (!distArg) {
  process.stderr.write('usage: node tools/db/make-synchronize-fixture.mjs <apps/api/dist of a release before schema migrations> [out.sql]\n');
  process.exit(2);
}
const dist = resolve(distArg);
const out = resolve(outArg ?? join(root, 'apps/api/test/fixtures/synchronize-schema.sql'));

const freePort = () =>
  new Promise((ok, fail) => {
    const server = createServer().once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });

/** A client keeping its session cookie, like a browser. */
function client(base) {
  let cookie = '';
  return async (method, path, body) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const set = response.headers.getSetCookie();
    if (set.length) cookie = set.map((line) => line.split(';')[0]).join('; ');
    const json = await response.json().catch(() => null);
    if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
    return json;
  };
}

/** SQL text of every table and index and every row, in a form sqlite3's exec() loads. */
async function dump(path) {
  const db = new sqlite3.Database(path, sqlite3.OPEN_READONLY);
  const all = (sql, params = []) => new Promise((ok, fail) => db.all(sql, params, (error, rows) => (error ? fail(error) : ok(rows))));
  try {
    const objects = await all(
      "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type = 'index', name",
    );
    if (objects.some((object) => object.name === 'schema_migrations'))
      throw new Error(`${dist} has schema migrations: give the build of a release before them`);
    const value = (v) =>
      v === null
        ? 'NULL'
        : typeof v === 'number' || typeof v === 'bigint'
          ? String(v)
          : Buffer.isBuffer(v)
            ? `X'${v.toString('hex')}'`
            : `'${String(v).replace(/'/g, "''")}'`;
    const lines = ['-- A SQLite database made by synchronize before schema migrations: tools/db/make-synchronize-fixture.mjs', 'BEGIN;'];
    for (const object of objects.filter((o) => o.type === 'table')) lines.push(`${object.sql};`);
    for (const object of objects.filter((o) => o.type === 'table')) {
      for (const row of await all(`SELECT * FROM "${object.name}"`)) {
        const columns = Object.keys(row);
        lines.push(`INSERT INTO "${object.name}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map((c) => value(row[c])).join(', ')});`);
      }
    }
    for (const object of objects.filter((o) => o.type === 'index')) lines.push(`${object.sql};`);
    lines.push('COMMIT;', '');
    return lines.join('\n');
  } finally {
    db.close();
  }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'virtuoso-synchronize-fixture-'));
  const dbPath = join(dir, 'virtuoso.sqlite');
  const port = await freePort();
  const api = spawn(process.execPath, [join(dist, 'main.js')], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      VIRTUOSO_PORT: String(port),
      VIRTUOSO_HOST: '127.0.0.1',
      VIRTUOSO_DATA_DIR: dir,
      VIRTUOSO_DB_PATH: dbPath,
      VIRTUOSO_SEED_DEMO: 'false',
      VIRTUOSO_BCRYPT_COST: '4',
      VIRTUOSO_MARKET_INTERVAL_SECONDS: '3600',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  api.stdout.on('data', (d) => (output += d));
  api.stderr.on('data', (d) => (output += d));
  const exited = new Promise((done) => api.once('exit', done));
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; ; i++) {
      if (api.exitCode !== null) throw new Error(`the API exited: ${output}`);
      const up = await fetch(`${base}/api/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      if (i > 300) throw new Error(`the API did not start: ${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const provider = client(base);
    await provider('POST', '/api/auth/signup', { handle: 'olga', email: 'olga@example.com', password: 'provider password', role: 'provider' });
    await provider('POST', '/api/hosts', {
      name: 'virt8',
      processor: 'Pentium3',
      speed: 10000,
      speedUnit: 1000,
      speedUnitPrice: '.00001',
      memory: 512,
      memoryUnit: 4,
      memoryUnitPrice: '.00001',
      runningUnitAmount: 3600,
      storage: 100000,
      storageUnit: 100,
      storageUnitPrice: '.01',
      storageAmount: 30,
      connectionSpeed: '1GB',
      agentHost: '129.105.44.205',
      agentPort: 8000,
    });
    const buyer = client(base);
    await buyer('POST', '/api/auth/signup', { handle: 'bruno', email: 'Bruno@Example.com', password: 'buyer password', role: 'buyer' });
    await buyer('POST', '/api/account/top-ups', { amount: '25.5', requestId: '6c0e2b8a-3f5d-4e7c-9b1a-2d4f6e8a0c1b' });
    await buyer('POST', '/api/machines', {
      name: 'win2000Pro',
      processor: 'Pentium3',
      speed: 4000,
      os: 'winPro',
      memory: 256,
      disk: 1000,
      askedStoragePerMonth: '60',
      askedRunningPerHour: '10.11',
    });
    // A second session of the buyer's: signed in again.
    await client(base)('POST', '/api/auth/signin', { handle: 'bruno', password: 'buyer password' });
  } finally {
    api.kill('SIGTERM');
    await exited;
  }
  const sql = await dump(dbPath);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, sql);
  process.stdout.write(`wrote ${out}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
