import { expect, test, type Page } from '@playwright/test';
import { createApiClient, type ApiClient } from '@virtuoso/api-client';
import type { TestAgent } from '../support/agent';
import { addAgentHost, signUpApi, stopIfRunning } from '../support/market';

// The issue's billing flow in the browser: a provider's host joined by a real agent, selling running
// time in slices of 2 seconds; a buyer stores the preconfigured tiny-linux on it, starts it from My
// computers and watches the balance on the account page fall while it runs (one slice is charged at
// the start of each slice, the first at once), stops it, and sees the balance stay put. The API runs
// its billing pass every second (VIRTUOSO_BILLING_INTERVAL_SECONDS in playwright.config.ts).
const SLICE_SECONDS = 2;

let agent: TestAgent | null = null;
let buyerApi: ApiClient | null = null;
let machineId = '';

/** An exact amount shown as "$999.948", "-$0.5" as integer units of 10^-12 dollars (never floats). */
function units(shown: string): bigint {
  const match = /^(-?)\$(\d+)(?:\.(\d{1,12}))?$/.exec(shown.trim());
  if (!match) throw new Error(`not an amount: "${shown}"`);
  const value = BigInt(match[2]) * 10n ** 12n + BigInt((match[3] ?? '').padEnd(12, '0'));
  return match[1] ? -value : value;
}

/** The balance exactly: the page shows it rounded to cents and the exact amount on hover (title). */
async function balance(page: Page): Promise<bigint> {
  return units((await page.getByTestId('balance').getAttribute('title')) ?? '');
}

test.afterEach(async () => {
  await stopIfRunning(buyerApi, machineId);
  await agent?.stop();
  agent = null;
  machineId = '';
});

test('a buyer watches the balance fall while the machine runs and stay put once it is stopped', async ({ page, baseURL }, testInfo) => {
  test.setTimeout(240_000);
  const base = baseURL!;
  const run = `${Date.now().toString(36)}${testInfo.repeatEachIndex || ''}`;
  const provider = { handle: `bprov-${run}`, email: `bprov-${run}@example.com`, password: 'provider-password' };
  const buyer = { handle: `bbuyer-${run}`, email: `bbuyer-${run}@example.com`, password: 'buyer-password' };
  const machineName = `billed-${run}`;

  // Provider (API): a real agent joined with a join token; a host on it whose running slice is 2 s.
  const providerApi = await signUpApi(base, provider, 'provider');
  const hostName = `billing-host-${run}`;
  const added = await addAgentHost(base, providerApi, hostName, SLICE_SECONDS);
  agent = added.agent;
  const host = added.host;

  // Buyer: signs up in the browser; tiny-linux is registered and stored on that host (API, with the
  // session's cookie): asked prices high enough for any host, the host chosen by name.
  await page.goto('/signup');
  await page.getByLabel('Handle').fill(buyer.handle);
  await page.getByLabel('Email').fill(buyer.email);
  await page.getByLabel('Password').fill(buyer.password);
  await page.getByLabel('Buyer', { exact: true }).check();
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page.getByTestId('current-user')).toHaveText(buyer.handle);
  const cookie = (await page.context().cookies()).find((c) => c.name === 'virtuoso_session')!;
  buyerApi = createApiClient({ baseUrl: base, headers: { cookie: `virtuoso_session=${cookie.value}` } });
  const { data: catalog } = await buyerApi.GET('/api/catalog');
  const tiny = catalog!.find((entry) => entry.name === 'tiny-linux')!;
  const { data: registered, error: registerError } = await buyerApi.POST('/api/machines', {
    body: {
      name: machineName,
      configurationId: tiny.id,
      processor: tiny.processor,
      os: tiny.os,
      speed: tiny.speed,
      memory: tiny.memory,
      disk: tiny.disk,
      askedStoragePerMonth: '1000',
      askedRunningPerHour: '1000',
    },
  });
  expect(registerError, JSON.stringify(registerError)).toBeUndefined();
  machineId = registered!.id;
  const { data: offers } = await buyerApi.GET('/api/machines/{id}/offers', { params: { path: { id: machineId } } });
  const offer = offers!.find((o) => o.hostId === host.id)!;
  expect(offer.runningUnitAmount).toBe(SLICE_SECONDS);
  const { error: storeError } = await buyerApi.POST('/api/machines/{id}/store', {
    params: { path: { id: machineId } },
    headers: { 'If-Match': `"${registered!.version}"` },
    body: { hostId: host.id },
  });
  expect(storeError, JSON.stringify(storeError)).toBeUndefined();

  // The account page lists it stored: its fixed prices, the storage deadline, not running.
  await page.goto('/account');
  const costRow = page.getByTestId(`cost-${machineId}`);
  await expect(costRow).toBeVisible({ timeout: 30_000 });
  await expect(costRow).toContainText(`$ ${offer.runningPrice} per ${SLICE_SECONDS} seconds`);
  // Days and hours for people, not a fraction of days.
  await expect(costRow.getByTestId('storage-deadline')).toHaveText(/^\d+ days?( \d+ hours?)?$/);
  await expect(costRow.getByTestId('running-deadline')).toHaveText('Not currently running');

  // Start it from My computers.
  await page.goto('/computers');
  const row = page.getByRole('row', { name: new RegExp(machineName) });
  await expect(row.getByRole('button', { name: 'Start' })).toBeVisible({ timeout: 60_000 });
  await row.getByRole('button', { name: 'Start' }).click();
  await expect(row.getByRole('button', { name: 'Stop', exact: true })).toBeVisible({ timeout: 60_000 });

  // Running: the account page counts down to the next slice and the balance falls, slice after slice.
  await page.goto('/account');
  await expect(costRow.getByTestId('running-deadline')).toHaveText(/^\d+ seconds?$/, { timeout: 30_000 });
  const whileRunning = [await balance(page)];
  for (let i = 0; i < 2; i++) {
    const last = whileRunning[whileRunning.length - 1];
    await expect.poll(() => balance(page), { timeout: 20_000, message: 'the balance falls while the machine runs' }).toBeLessThan(last);
    whileRunning.push(await balance(page));
  }
  await testInfo.attach('account page while running', { body: await page.screenshot({ fullPage: true }), contentType: 'image/png' });
  const sliceUnits = units(`$${offer.runningPrice}`);
  // Each fall is a whole number of slices at the machine's fixed running price.
  for (let i = 1; i < whileRunning.length; i++) expect((whileRunning[i - 1] - whileRunning[i]) % sliceUnits).toBe(0n);

  // Stop from My computers; once the machine is stopped and one more billing pass and re-fetch
  // have gone by, the balance no longer moves.
  await page.goto('/computers');
  await row.getByRole('button', { name: 'Stop', exact: true }).click();
  await expect(row.getByRole('button', { name: 'Start' })).toBeVisible({ timeout: 60_000 });
  await page.goto('/account');
  await expect(costRow.getByTestId('running-deadline')).toHaveText('Not currently running', { timeout: 30_000 });
  await page.waitForTimeout(4_000);
  const stopped = await balance(page);
  expect(stopped).toBeLessThan(whileRunning[0]);
  const stillSince = Date.now();
  while (Date.now() - stillSince < 4 * SLICE_SECONDS * 1000) {
    await page.waitForTimeout(1_000);
    expect(await balance(page), 'the balance stays put while the machine is stopped').toBe(stopped);
  }
  await testInfo.attach('account page once stopped', { body: await page.screenshot({ fullPage: true }), contentType: 'image/png' });
  // The page did re-fetch meanwhile: the server's figure agrees.
  const { data: account } = await buyerApi.GET('/api/account/buyer');
  expect(units(`$${account!.balance}`)).toBe(stopped);

  // The statement shows the running slices; the CSV export keeps the filter.
  await page.getByLabel('Kind').selectOption('running');
  const statementRows = page.locator('.table--statement tbody tr');
  await expect(statementRows.first()).toContainText('Running');
  expect(await statementRows.count()).toBeGreaterThanOrEqual(3);
  await expect(page.getByRole('link', { name: 'Download CSV' })).toHaveAttribute('href', /format=csv.*kind=running/);

  // The machine's history, from its page, tells its life (newest first): registered, stored on the
  // host, started there, charged while it ran (read from the ledger), stopped.
  await page.goto(`/machines/${machineId}`);
  await page.getByRole('link', { name: 'History' }).click();
  const history = page.getByRole('table', { name: 'Machine history' });
  await expect(history).toBeVisible({ timeout: 30_000 });
  const older = page.getByRole('button', { name: 'Older events' });
  while (await older.isVisible()) {
    const shown = await history.locator('tbody tr').count();
    await older.click();
    await expect.poll(() => history.locator('tbody tr').count()).toBeGreaterThan(shown);
  }
  await testInfo.attach('machine history', { body: await page.screenshot({ fullPage: true }), contentType: 'image/png' });
  const story = (await history.locator('tbody tr').evaluateAll((rows) => rows.map((row) => Array.from(row.children).map((cell) => cell.textContent ?? ''))))
    .map(([, , kind, message]) => ({ kind, message }))
    .reverse();
  const at = (what: string, test: (line: { kind: string; message: string }, index: number) => boolean) => {
    const index = story.findIndex(test);
    expect(index, `${what} in the history:\n${story.map((line) => `${line.kind} ${line.message}`).join('\n')}`).toBeGreaterThanOrEqual(0);
    return index;
  };
  const createdAt = at('registered', (line) => line.kind === 'machine.created');
  const storedAt = at('stored', (line) => line.kind === 'machine.stored' && line.message.includes(`${machineName}: storing → stored`));
  const startingAt = at('asked to start', (line) => line.kind === 'machine.state' && / → starting /.test(line.message));
  // The charges are the ledger's rows (billing.charged, by the time they were written): the first
  // slice when the host started it, the next ones by the billing passes while it ran.
  const firstChargeAt = at('the first running charge', (line) => line.kind === 'billing.charged' && line.message.includes('running'));
  const startedAt = at('started', (line) => line.kind === 'machine.state' && / → running /.test(line.message));
  const chargedAt = at(
    'a running charge while it ran',
    (line, index) => index > startedAt && line.kind === 'billing.charged' && line.message.includes('running'),
  );
  const stoppedAt = at('stopped', (line) => line.kind === 'machine.state' && / → stopped /.test(line.message));
  expect(createdAt).toBeLessThan(storedAt);
  expect(storedAt).toBeLessThan(startingAt);
  expect(startingAt).toBeLessThan(firstChargeAt);
  expect(startingAt).toBeLessThan(startedAt);
  expect(startedAt).toBeLessThan(chargedAt);
  expect(chargedAt).toBeLessThan(stoppedAt);
});
