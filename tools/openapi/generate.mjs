#!/usr/bin/env node
// Regenerates openapi.yaml from the API's decorators and libs/api-client/src/schema.ts from it.
// With --check it writes nothing and exits 1 when either checked-in file has drifted.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const check = process.argv.includes('--check');
const bin = (name) => join(root, 'node_modules/.bin', name);
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });

const work = mkdtempSync(join(tmpdir(), 'virtuoso-openapi-'));
run(bin('tsc'), ['-b', 'apps/api']);
const specOut = join(work, 'openapi.yaml');
run(process.execPath, ['apps/api/dist/openapi-export.js', specOut]);
const schemaOut = join(work, 'schema.ts');
run(bin('openapi-typescript'), [specOut, '-o', schemaOut, '--silent']);

const targets = [
  { generated: specOut, checkedIn: join(root, 'openapi.yaml') },
  { generated: schemaOut, checkedIn: join(root, 'libs/api-client/src/schema.ts') },
];
let drift = 0;
for (const { generated, checkedIn } of targets) {
  const fresh = readFileSync(generated, 'utf8');
  const current = existsSync(checkedIn) ? readFileSync(checkedIn, 'utf8') : null;
  if (fresh === current) continue;
  if (check) {
    console.error(`drift: ${checkedIn.slice(root.length + 1)} differs from what the API generates; run npm run openapi:generate`);
    drift++;
  } else {
    writeFileSync(checkedIn, fresh);
    console.log(`wrote ${checkedIn.slice(root.length + 1)}`);
  }
}
if (check && drift === 0) console.log('openapi.yaml and the API client match the API');
process.exit(drift ? 1 : 0);
