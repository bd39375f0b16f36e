import { defineConfig } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// The whole system under test: the built API serving the built SPA, on a fresh SQLite file; the
// tests start real provider agents (apps/provider-agent/dist) joined to it, which boot QEMU guests.
const port = Number(process.env.E2E_PORT ?? 18080);
// Made once by the runner; its worker processes, which load this file again, inherit it through the
// environment (instead of each making an unused directory), and globalTeardown removes it.
if (!process.env.E2E_DATA_DIR) {
  process.env.E2E_DATA_DIR = mkdtempSync(join(tmpdir(), 'virtuoso-e2e-'));
  process.env.E2E_REMOVE_DATA_DIR = '1';
}
const dataDir = process.env.E2E_DATA_DIR;
const repo = resolve(__dirname, '..');

export default defineConfig({
  testDir: './tests',
  globalSetup: './global-setup.ts',
  globalTeardown: './global-teardown.ts',
  timeout: 120_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list'], ['json', { outputFile: join(repo, 'test-results/playwright.json') }]],
  outputDir: join(repo, 'test-results/playwright'),
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: 'chromium',
    headless: true,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      // Debian's chromium; Playwright's own browser download is not available here.
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  webServer: {
    command: 'node apps/api/dist/main.js',
    cwd: repo,
    url: `http://127.0.0.1:${port}/api/health`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      VIRTUOSO_PORT: String(port),
      VIRTUOSO_HOST: '127.0.0.1',
      VIRTUOSO_DATA_DIR: dataDir,
      VIRTUOSO_SEED_DEMO: 'false',
      VIRTUOSO_MARKET_INTERVAL_SECONDS: '2',
      // A billing pass every second: tests/billing.spec.ts sells running time in 2 s slices.
      VIRTUOSO_BILLING_INTERVAL_SECONDS: '1',
      // The preconfigured images the API hands to agents (tools/guest-image/build.sh; see globalSetup).
      VIRTUOSO_IMAGE_DIR: process.env.VIRTUOSO_IMAGE_DIR ?? join(repo, '.cache', 'guest-image'),
    },
  },
});
