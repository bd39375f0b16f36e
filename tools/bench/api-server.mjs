// Shared by the benchmarks: starts the built API on a fresh data directory (and stops it), signs users up, calls the API, finds free ports.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Starts the built API. `dataDir`: an existing data directory (its database) to start on, left in
 * place on stop, so a benchmark can stop the API, write to its database and start it again; without
 * it, a fresh temporary directory removed on stop. `nodeArgs`: options for node before the API's script.
 */
export async function startApi({ port = 18090, env = {}, dataDir, nodeArgs = [] } = {}) {
  const keep = dataDir !== undefined;
  dataDir ??= mkdtempSync(join(tmpdir(), 'virtuoso-bench-'));
  const child = spawn(process.execPath, [...nodeArgs, 'apps/api/dist/main.js'], {
    cwd: repo,
    env: { ...process.env, VIRTUOSO_PORT: String(port), VIRTUOSO_HOST: '127.0.0.1', VIRTUOSO_DATA_DIR: dataDir, VIRTUOSO_SEED_DEMO: 'false', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // Its log, kept (the last 40 lines) to show when it does not come up; not printed otherwise.
  const log = [];
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text) => {
    log.push(...text.split('\n').filter(Boolean));
    log.splice(0, Math.max(0, log.length - 40));
  });
  let exited = false;
  let exitedWith = '';
  child.once('exit', (code, signal) => {
    exited = true;
    exitedWith = signal ? `signal ${signal}` : `code ${code}`;
  });
  const base = `http://127.0.0.1:${port}`;
  let healthy = false;
  for (let i = 0; i < 1200 && !healthy && !exited; i++) {
    try {
      healthy = (await fetch(`${base}/api/health`)).ok;
    } catch {}
    if (!healthy) await new Promise((r) => setTimeout(r, 100));
  }
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      await new Promise((r) => (exited ? r() : child.once('exit', r)));
    }
    if (!keep) rmSync(dataDir, { recursive: true, force: true });
  };
  if (!healthy) {
    const gaveUp = !exited;
    await stop();
    process.stderr.write(`${log.join('\n')}\n`);
    throw new Error(`the API did not answer GET ${base}/api/health (${gaveUp ? 'within 120 s' : `it exited with ${exitedWith}; see its output above`})`);
  }
  return { base, dataDir, stop, child };
}

/** Signs up a user and returns a bearer token for it. */
export async function signUpWithToken(base, handle, role) {
  const res = await fetch(`${base}/api/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ handle, email: `${handle}@example.com`, password: 'bench-password', role }),
  });
  if (!res.ok) throw new Error(`signup ${handle}: ${res.status} ${await res.text()}`);
  const cookie = res.headers.get('set-cookie').split(';')[0];
  const tok = await fetch(`${base}/api/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify({ name: 'bench' }),
  });
  if (!tok.ok) throw new Error(`token ${handle}: ${tok.status} ${await tok.text()}`);
  return (await tok.json()).token;
}

export function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** One API call with a bearer token: the parsed JSON answer, or an error naming the status and body. */
export async function api(base, token, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** A TCP port free on loopback right now. */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}
