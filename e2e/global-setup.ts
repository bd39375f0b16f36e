import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * Before the browser tests: the built apps they run (the API serving the SPA, the provider agent)
 * must exist, and the tiny guest image the agents boot is built (from Debian's packages) when
 * missing — a no-op taking milliseconds when it is up to date.
 */
export default function globalSetup(): void {
  const repo = resolve(__dirname, '..');
  for (const built of ['apps/api/dist/main.js', 'apps/provider-agent/dist/main.js', 'apps/web/dist/index.html']) {
    if (!existsSync(resolve(repo, built))) throw new Error(`${built} is missing: run \`npx nx run-many -t build\` first`);
  }
  execFileSync('bash', [resolve(repo, 'tools/guest-image/build.sh')], { cwd: repo, stdio: 'inherit' });
}
