import { expect, test, type Page } from '@playwright/test';
import type { ApiClient } from '@virtuoso/api-client';
import type { TestAgent } from '../support/agent';
import { addAgentHost, browserApi, registerTinyLinux, signUpApi, stopIfRunning } from '../support/market';

// A buyer's machine on a real provider agent, driven from My computers: a double click on Start
// starts it once, charges one slice and leaves no stale "Cannot start" error once it runs; the
// requests carry an Idempotency-Key and If-Match with the machine's etag; Reboot, Reset and
// Force stop (the last two asked first), "Stopping…" at once; searches that find nothing say
// why; the provider revokes the host's agent and the buyer's actions are shown disabled with the
// reason; the account lists sessions, with Revoke, and the top-up limits; Add host suggests
// ports and says so when no agent joins.
const run = Date.now().toString(36);
const password = 'actions-password-1';
const provider = { handle: `aprov-${run}`, email: `aprov-${run}@example.com`, password };
const buyer = { handle: `abuyer-${run}`, email: `abuyer-${run}@example.com`, password };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let agent: TestAgent | null = null;
let buyerApi: ApiClient | null = null;
let machineId = '';

test.afterAll(async () => {
  await stopIfRunning(buyerApi, machineId);
  await agent?.stop();
});

async function signUpInBrowser(page: Page, user: typeof buyer, role: 'buyer' | 'provider') {
  const response = await page.request.post('/api/auth/signup', { data: { ...user, role } });
  expect(response.status(), await response.text()).toBe(201);
}

test('machine actions on a real agent: one start per double click, no stale error, reboot, reset, force stop, offline host', async ({
  page,
  browser,
  baseURL,
}) => {
  test.setTimeout(300_000);
  const base = baseURL!;
  const providerApi = await signUpApi(base, provider, 'provider');
  const hostName = `actions-host-${run}`;
  const added = await addAgentHost(base, providerApi, hostName, 3600);
  agent = added.agent;

  // The buyer registers tiny-linux and stores it on that host (API, with the browser's cookie).
  await signUpInBrowser(page, buyer, 'buyer');
  buyerApi = await browserApi(page, base);
  const name = `actions-${run}`;
  const registered = await registerTinyLinux(buyerApi, name);
  machineId = registered.id;
  const { error: storeError } = await buyerApi.POST('/api/machines/{id}/store', {
    params: { path: { id: machineId } },
    headers: { 'If-Match': registered.etag },
    body: { hostId: added.host.id },
  });
  expect(storeError, JSON.stringify(storeError)).toBeUndefined();

  await page.goto('/computers');
  const row = page.getByRole('row', { name: new RegExp(name) });
  const start = row.getByRole('button', { name: 'Start', exact: true });
  await expect(start).toBeVisible({ timeout: 60_000 });
  const { data: stored } = await buyerApi.GET('/api/machines/{id}', { params: { path: { id: machineId } } });

  // Double click Start: one request, with the action's key and the etag the page saw.
  const starts: Record<string, string>[] = [];
  page.on('request', (request) => {
    if (request.method() === 'POST' && request.url().endsWith(`/api/machines/${machineId}/start`)) starts.push(request.headers());
  });
  await start.dblclick();
  await expect(row.getByRole('button', { name: 'Stop', exact: true })).toBeVisible({ timeout: 90_000 });
  expect(starts).toHaveLength(1);
  expect(starts[0]['idempotency-key']).toMatch(UUID);
  expect(starts[0]['if-match']).toBe(stored!.etag);
  // Running: no error about the start is left on the page, and one slice was charged.
  await expect(row.getByRole('alert')).toHaveCount(0);
  await expect(row).not.toContainText('Cannot start');
  const { data: slices } = await buyerApi.GET('/api/account/statement', { params: { query: { kind: 'running', machineId } } });
  expect(slices!.total).toBe(1);

  // Reboot: asked of the guest; it stays running.
  await row.getByRole('button', { name: 'Reboot' }).click();
  await expect(row.getByRole('button', { name: 'Reboot' })).toBeEnabled({ timeout: 30_000 });
  await expect(row.getByRole('alert')).toHaveCount(0);

  // Reset asks first; Cancel sends nothing.
  await row.getByRole('button', { name: 'Reset', exact: true }).click();
  const confirmReset = page.getByRole('group', { name: `Reset ${name}?` });
  await expect(confirmReset).toBeVisible();
  await confirmReset.getByRole('button', { name: 'Cancel' }).click();
  await expect(confirmReset).toHaveCount(0);
  await row.getByRole('button', { name: 'Reset', exact: true }).click();
  await page
    .getByRole('group', { name: `Reset ${name}?` })
    .getByRole('button', { name: 'Reset now' })
    .click();
  await expect(row.getByRole('button', { name: 'Stop', exact: true })).toBeEnabled({ timeout: 30_000 });
  await expect(row.getByRole('alert')).toHaveCount(0);

  // Stop says "Stopping…" from the click on (the answer is held back a little to see it).
  await page.route(`**/api/machines/${machineId}/stop`, async (route) => {
    await new Promise((done) => setTimeout(done, 1500));
    await route.continue();
  });
  await row.getByRole('button', { name: 'Stop', exact: true }).click();
  await expect(row.getByText('Stopping…').first()).toBeVisible();
  await expect(row.getByRole('button', { name: 'Start', exact: true })).toBeVisible({ timeout: 90_000 });
  await page.unroute(`**/api/machines/${machineId}/stop`);

  // Force stop asks first, then powers off at once.
  await row.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(row.getByRole('button', { name: 'Force stop' })).toBeVisible({ timeout: 90_000 });
  await row.getByRole('button', { name: 'Force stop' }).click();
  await page
    .getByRole('group', { name: `Force stop ${name}?` })
    .getByRole('button', { name: 'Force stop now' })
    .click();
  await expect(row.getByRole('button', { name: 'Start', exact: true })).toBeVisible({ timeout: 60_000 });

  // A search that finds nothing says why: asked prices too low (hosts can hold it) or too big.
  const { data: cheap } = await buyerApi.POST('/api/machines', {
    body: {
      name: `cheap-${run}`,
      processor: 'x86',
      os: 'none',
      speed: 100,
      memory: 64,
      disk: 100,
      askedStoragePerMonth: '0.000001',
      askedRunningPerHour: '0.000001',
    },
  });
  await page.goto(`/machines/${cheap!.id}/offers`);
  await expect(page.getByTestId('no-offers')).toBeVisible();
  await expect(page.getByTestId('no-offer-reason')).toContainText('asked prices are too low');
  const { data: huge } = await buyerApi.POST('/api/machines', {
    body: {
      name: `huge-${run}`,
      processor: 'x86',
      os: 'none',
      speed: 9_000_000,
      memory: 64,
      disk: 100,
      askedStoragePerMonth: '1000',
      askedRunningPerHour: '1000',
    },
  });
  await page.goto(`/machines/${huge!.id}/offers`);
  await expect(page.getByTestId('no-offer-reason')).toContainText('too big');

  // The provider revokes the host's agent (asked first): the host goes offline and gets the join
  // flow for a new agent; the buyer's machine shows its agent actions disabled, with the reason.
  const providerContext = await browser.newContext({ baseURL: base });
  const providerPage = await providerContext.newPage();
  const signIn = await providerPage.request.post('/api/auth/signin', { data: { handle: provider.handle, password } });
  expect(signIn.status()).toBe(200);
  await providerPage.goto('/hosts');
  await providerPage.getByRole('button', { name: `Revoke the agent of ${hostName}` }).click();
  await providerPage
    .getByRole('group', { name: `Revoke the agent of ${hostName}?` })
    .getByRole('button', { name: 'Revoke agent' })
    .click();
  await expect(providerPage).toHaveURL(new RegExp(`/hosts/${added.host.id}/agent`));
  await expect(providerPage.getByTestId('join-command')).toBeVisible();
  await providerContext.close();

  await page.goto('/computers');
  await expect(row.getByText(`${hostName} is offline`)).toBeVisible({ timeout: 60_000 });
  await expect(row.getByRole('button', { name: 'Start', exact: true })).toBeDisabled();
});

test('the account lists sessions with Revoke and shows the top-up limits', async ({ page, browser, baseURL }) => {
  const user = { ...buyer, handle: `${buyer.handle}-s`, email: `s-${buyer.email}` };
  await signUpInBrowser(page, user, 'buyer');
  // The same user signed in in another browser.
  const other = await browser.newContext({ baseURL });
  expect((await other.request.post('/api/auth/signin', { data: { handle: user.handle, password } })).status()).toBe(200);

  await page.goto('/account');
  await expect(page.getByTestId('top-up-limits')).toContainText('per top-up');
  const sessions = page.getByRole('region', { name: 'Signed-in sessions' });
  await expect(sessions.getByRole('row')).toHaveCount(3); // the head and two sessions
  await expect(sessions.getByText('this browser')).toBeVisible();
  await sessions.getByRole('button', { name: /^Revoke the session of/ }).click();
  await expect(sessions.getByRole('row')).toHaveCount(2);
  expect((await other.request.get('/api/auth/me')).status()).toBe(401);
  expect((await page.request.get('/api/auth/me')).status()).toBe(200);
  await other.close();
});

test('Add host shows the one install line, suggests free ports and, when no agent joins within a minute, says what to check', async ({ page, baseURL }) => {
  const p = { ...provider, handle: `${provider.handle}-j`, email: `j-${provider.email}` };
  await signUpInBrowser(page, p, 'provider');
  await page.clock.install();
  await page.goto('/hosts/new');
  const ports = page.getByTestId('suggested-ports');
  await expect(ports).toBeVisible();
  const [agentPort, consolePort] = ((await ports.innerText()).match(/\d+/g) ?? []).map(Number);
  const command = (await page.getByTestId('join-command').innerText()).trim();
  // The one line a provider pastes on a fresh Debian host: this market's install script, the token, the ports.
  expect(command).toMatch(
    new RegExp(
      `^curl -fsSL ${baseURL!.replace(/\/$/, '').replace(/[.]/g, '\\.')}/install-agent\\.sh \\| sudo bash -s -- --join vj_\\S+ --port ${agentPort} --console-port ${consolePort}$`,
    ),
  );
  // The developer's line from a checkout, the same token and ports, one click away.
  await page.getByText('From a checkout of this repository instead').click();
  const dev = (await page.getByTestId('dev-command').innerText()).trim();
  expect(dev).toMatch(/^npm run agent -- --frontend /);
  expect(dev).toContain(`--join ${command.match(/--join (\S+)/)![1]}`);
  expect(dev).toContain(`--port ${agentPort}`);
  await expect(page.getByTestId('agent-not-joined')).toHaveCount(0);
  await page.clock.fastForward('01:01');
  await expect(page.getByTestId('agent-not-joined')).toContainText(`ports ${agentPort} and ${consolePort}`);
});
