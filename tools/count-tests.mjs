#!/usr/bin/env node
// Adds up the results every runner wrote under test-results/ and prints the closing line CI reads.
// A runner that should have written results but did not counts as one failure, so a crash never reads as green.
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
const report = (name, p, f) => {
  console.log(`${name}: ${p} passed, ${f} failed`);
  passed += p;
  failed += f;
};
const read = (file) => (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null);

if (process.env.BUILD_FAILED === '1') {
  report('build', 0, 1);
} else {
  for (const check of ['lint', 'format']) {
    const file = `test-results/${check}.txt`;
    const passed = existsSync(file) && readFileSync(file, 'utf8').trim() === 'pass';
    report(check, passed ? 1 : 0, passed ? 0 : 1);
  }
  const vitest = read('test-results/vitest.json');
  if (vitest) report('vitest', vitest.numPassedTests, vitest.numFailedTests + (vitest.success === false && vitest.numFailedTests === 0 ? 1 : 0));
  else report('vitest (no results)', 0, 1);

  const pw = read('test-results/playwright.json');
  if (pw) report('playwright', pw.stats.expected + pw.stats.flaky, pw.stats.unexpected + (pw.errors?.length ? 1 : 0));
  else report('playwright (no results)', 0, 1);
}
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
