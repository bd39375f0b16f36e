// Starts the built API on a fresh data directory for a benchmark, and stops it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export async function startApi({ port = 18090, env = {} } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'virtuoso-bench-'));
  const child = spawn(process.execPath, ['apps/api/dist/main.js'], {
    cwd: repo,
    env: { ...process.env, VIRTUOSO_PORT: String(port), VIRTUOSO_HOST: '127.0.0.1', VIRTUOSO_DATA_DIR: dataDir, VIRTUOSO_SEED_DEMO: 'false', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${base}/api/health`)).ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    dataDir,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
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
