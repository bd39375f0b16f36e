import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

/** vitest globalSetup: make sure the tiny guest images exist (tools/guest-image/build.sh). */
export default function setup(): void {
  const repo = path.resolve(__dirname, '..', '..', '..', '..', '..');
  const t0 = Date.now();
  execFileSync('bash', [path.join(repo, 'tools', 'guest-image', 'build.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  process.stderr.write(`[provider-agent] guest image ready in ${Date.now() - t0} ms\n`);
}
