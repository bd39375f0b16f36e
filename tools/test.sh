#!/usr/bin/env bash
# Runs every test of the project and ends with one line: "tests: N passed, N failed".
#   0. installs what is missing (tools/setup.sh),
#   1. builds every project (a build failure counts as a failed test and stops the run),
#   2. ESLint and Prettier (one test each),
#   3. vitest: unit, API and integration tests of every project, plus the OpenAPI drift check,
#   4. Playwright in Debian's chromium against the whole system.
set -uo pipefail
cd "$(dirname "$0")/.."
# Debian packages (QEMU, chromium, sshd, rsync, the guest-image tools) and npm packages, when missing:
# the same script as npm start and CI. Without them nothing below can run.
bash tools/setup.sh test || { echo "tests: 0 passed, 1 failed"; exit 1; }
export NX_DAEMON=false NX_NO_CLOUD=true NX_SKIP_NX_CACHE=true
rm -rf test-results && mkdir -p test-results

build_failed=0
echo "== build"
if ! npx nx run-many -t build --outputStyle=stream; then build_failed=1; fi
if [ -x tools/guest-image/build.sh ] && [ "$build_failed" = 0 ]; then
  echo "== guest images"
  tools/guest-image/build.sh || build_failed=1
fi

if [ "$build_failed" = 0 ]; then
  # Lint and format: ESLint (typescript-eslint, Nx's module boundaries over the project graph the
  # build just computed) with zero warnings, and Prettier's check; each counts as one test.
  echo "== lint"
  if npx eslint . --max-warnings 0; then echo pass > test-results/lint.txt; else echo fail > test-results/lint.txt; fi
  echo "== format"
  if npx prettier --check . --log-level warn; then echo pass > test-results/format.txt; else echo fail > test-results/format.txt; fi
  echo "== vitest"
  npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json
  echo "== playwright"
  npx playwright test -c e2e/playwright.config.ts
fi

BUILD_FAILED=$build_failed node tools/count-tests.mjs
