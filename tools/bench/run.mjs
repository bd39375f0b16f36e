#!/usr/bin/env node
// npm run bench — performance figures, printed, never asserted (timings do not belong in tests).
// Each benchmark is a module in this folder exporting `name` and `run()`; pass names to run a subset.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.bench.mjs'))
  .sort();
for (const file of benches) {
  const bench = await import(join(here, file));
  if (wanted.length && !wanted.includes(bench.name)) continue;
  console.log(`\n== ${bench.name}`);
  await bench.run();
}
