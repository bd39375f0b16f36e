import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

/** vitest globalSetup: agent tests run the real `node apps/provider-agent/dist/main.js`. */
export default function setup(): void {
  const repo = path.resolve(__dirname, '..', '..', '..', '..', '..');
  const t0 = Date.now();
  execFileSync(process.execPath, [path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', 'apps/provider-agent'], {
    cwd: repo,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  process.stderr.write(`[provider-agent] tsc -b apps/provider-agent in ${Date.now() - t0} ms\n`);
}
