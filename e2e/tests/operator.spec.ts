import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { handHost, signUpApi } from '../support/market';

// The operator's page: an operator made on the server with `npm run operator -- create` (against
// the e2e API's own database) signs in, lands on /operator and sees the market and the ledger.
const run = Date.now().toString(36);
const repo = resolve(__dirname, '..', '..');

test('an operator made by the command signs in to the overview: the seeded hosts and a balanced ledger', async ({ page, baseURL }) => {
  const provider = await signUpApi(baseURL!, { handle: `op-prov-${run}`, email: `op-prov-${run}@example.com`, password: 'provider-password' }, 'provider');
  for (const name of [`op-a-${run}`, `op-b-${run}`]) {
    const { response } = await provider.POST('/api/hosts', { body: handHost(name) });
    expect(response.status).toBe(201);
  }
  // A buyer: its sign-up credit is a ledger movement the check has to account for.
  await signUpApi(baseURL!, { handle: `op-buyer-${run}`, email: `op-buyer-${run}@example.com`, password: 'buyer-password' }, 'buyer');

  const handle = `op-${run}`;
  const printed = execFileSync(process.execPath, ['apps/api/dist/cli/operator.js', 'create', handle], {
    cwd: repo,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', VIRTUOSO_DATA_DIR: process.env.E2E_DATA_DIR! },
    encoding: 'utf8',
  });
  const password = /password \(shown once\): (\S+)/.exec(printed)![1];

  await page.goto('/signin');
  await page.getByLabel('Handle').fill(handle);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/operator$/);
  await expect(page.getByRole('heading', { name: 'Operator' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Operator' })).toBeVisible();

  const hosts = page.getByRole('table', { name: 'Hosts and agents' });
  for (const name of [`op-a-${run}`, `op-b-${run}`]) {
    const row = hosts.getByRole('row', { name: new RegExp(name) });
    await expect(row).toBeVisible();
    await expect(row.getByText('no agent')).toBeVisible();
    await expect(row.getByText(`op-prov-${run}`)).toBeVisible();
  }
  await expect(page.getByRole('status').filter({ hasText: 'Ledger balanced' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Event log' })).toHaveAttribute('href', '/operator/events');
});
