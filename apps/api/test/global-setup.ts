import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

/**
 * vitest globalSetup: the API tests drive REAL provider agents (`node apps/provider-agent/dist/main.js`)
 * that boot REAL QEMU guests, so the agent must be built and the tiny guest images must exist
 * (tools/guest-image/build.sh: cached, seconds when fresh).
 */
export default function setup(): void {
  const repo = resolve(__dirname, '..', '..', '..');
  let t0 = Date.now();
  execFileSync(process.execPath, [resolve(repo, 'node_modules/typescript/bin/tsc'), '-b', 'apps/provider-agent'], {
    cwd: repo,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  process.stderr.write(`[api] tsc -b apps/provider-agent in ${Date.now() - t0} ms\n`);
  t0 = Date.now();
  execFileSync('bash', [resolve(repo, 'tools/guest-image/build.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  process.stderr.write(`[api] guest images ready in ${Date.now() - t0} ms\n`);
}
