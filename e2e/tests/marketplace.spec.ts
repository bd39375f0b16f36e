import { expect, test, type Page } from '@playwright/test';
import { createApiClient } from '@virtuoso/api-client';
import { startAgent, tokenOfCommand, type TestAgent } from '../support/agent';

// The browser flow: a provider signs up and adds a host; a buyer signs up, registers a
// configuration, finds that host with the right prices and stores the machine on it. The host that
// holds the machine is added the safe way (the provider agent, started by this test with the join
// command the page shows); the report's by-hand form stays as the secondary, offline path.
const run = Date.now().toString(36);
const provider = { handle: `prov-${run}`, email: `prov-${run}@example.com`, password: 'provider-password' };
const buyer = { handle: `buyer-${run}`, email: `buyer-${run}@example.com`, password: 'buyer-password' };

let agent: TestAgent | null = null;
test.afterAll(async () => {
  await agent?.stop();
});

async function signUp(page: Page, user: typeof provider, role: 'buyer' | 'provider') {
  await page.goto('/signup');
  await page.getByLabel('Handle').fill(user.handle);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByLabel(role === 'buyer' ? 'Buyer' : 'Provider', { exact: true }).check();
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page.getByText(user.handle).first()).toBeVisible();
}

test('provider adds a host; buyer registers, finds it with the right prices and stores the machine', async ({ page, baseURL }) => {
  // Provider: the report's fig. 27 host, first by hand (no agent: it is listed offline).
  await signUp(page, provider, 'provider');
  await page.goto('/hosts/new');
  await page.getByRole('link', { name: 'Add without an agent (offline)' }).click();
  const byHand = `offline-${run}`;
  const host = {
    Name: byHand,
    Processor: 'Pentium3',
    Speed: '10000',
    'Speed unit': '1000',
    'Speed unit price': '0.00001',
    Memory: '512',
    'Memory unit': '4',
    'Memory unit price': '0.00001',
    'Running period': '3600',
    Storage: '100000',
    'Storage unit': '100',
    'Storage unit price': '0.01',
    'Storage period': '30',
    'Connection speed': '1Gbps',
    'Agent host': '127.0.0.1',
    'Agent port': '8000',
  };
  for (const [label, value] of Object.entries(host)) await page.getByLabel(label, { exact: true }).fill(value);
  await page.getByRole('button', { name: 'Add host' }).click();
  const offlineRow = page.getByRole('row', { name: new RegExp(byHand) });
  await expect(offlineRow).toBeVisible();
  await expect(offlineRow.getByText('Offline', { exact: true })).toBeVisible();

  // Then a copy of it (same units and prices) for a machine with the provider agent: the page
  // shows the join command; the agent started with it joins and its measured facts fill the totals.
  await offlineRow.getByRole('link', { name: `Copy ${byHand}` }).click();
  const command = await page.getByTestId('join-command').textContent();
  agent = await startAgent(baseURL!, tokenOfCommand(command ?? ''));
  await expect(page.getByTestId('agent-facts')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByLabel('Speed unit price', { exact: true })).toHaveValue('0.00001');
  await expect(page.getByLabel('Storage unit', { exact: true })).toHaveValue('100');
  const speed = Number(await page.getByLabel('Speed', { exact: true }).inputValue());
  expect(speed).toBeGreaterThanOrEqual(4000); // the measured bogomips, enough for the machine below
  const hostName = `virt8-${run}`;
  await page.getByLabel('Name', { exact: true }).fill(hostName);
  await page.getByRole('button', { name: 'Add host' }).click();
  const agentRow = page.getByRole('row', { name: new RegExp(hostName) });
  await expect(agentRow).toBeVisible();
  await expect(agentRow.getByText('Online', { exact: true })).toBeVisible({ timeout: 20_000 });

  // Switch to a new buyer.
  await page.goto('/switch-user');
  await signUp(page, buyer, 'buyer');

  // Register the fig. 31 configuration: 4000 bogomips, 256 MB, 1000 MB, generous asked prices.
  await page.goto('/configure');
  const config = {
    Name: `win2000Pro-${run}`,
    Processor: 'Pentium3',
    Speed: '4000',
    'Operating system': 'winPro',
    Memory: '256',
    Disk: '1000',
    'Asked storage price per month': '60',
    'Asked running price per hour': '10.11',
  };
  for (const [label, value] of Object.entries(config)) await page.getByLabel(label, { exact: true }).fill(value);
  await page.getByRole('button', { name: /Register configuration/ }).click();
  await expect(page.getByText('registered').first()).toBeVisible();

  // Search providers for it: the host appears with 3 / 30 days and 2.448 / 3600 seconds (fig. 31).
  await page.goto('/computers');
  const row = page.getByRole('row', { name: new RegExp(config.Name) });
  await row.getByRole('link', { name: 'Search providers' }).click();
  const offer = page.getByRole('row', { name: new RegExp(hostName) });
  await expect(offer).toContainText('3 / 30 days');
  await expect(offer).toContainText('2.448 / 3600 seconds');
  await page.getByRole('radio', { name: hostName }).check();
  await page.getByRole('button', { name: 'Store machine' }).click();

  // My computers shows it stored with exactly the stored state's actions.
  await expect(page.getByRole('heading', { name: 'Your stored machines' })).toBeVisible();
  const stored = page.getByRole('row', { name: new RegExp(config.Name) });
  await expect(stored.getByRole('button', { name: 'Start' })).toBeVisible();
  await expect(stored.getByText('Search providers')).toHaveCount(0);
  await expect(stored.getByText('Edit configuration')).toHaveCount(0);

  // The API agrees: the machine is stored on that host at the fixed fig. 31 prices, and the fee was charged.
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'virtuoso_session');
  expect(session).toBeTruthy();
  const api = createApiClient({ baseUrl: baseURL, headers: { cookie: `virtuoso_session=${session!.value}` } });
  const { data: machines } = await api.GET('/api/machines');
  const machine = machines!.find((m) => m.name === config.Name)!;
  expect(machine.state).toBe('stored');
  expect(machine.host?.name).toBe(hostName);
  expect([machine.runningPrice, machine.runningUnitAmount, machine.storagePrice, machine.storageAmount]).toEqual(['2.448', 3600, '3', 30]);
  const { data: me } = await api.GET('/api/auth/me');
  // The 1000 welcome credit less the 0.05 registration fee and the first storage period (3 / 30 days),
  // charged at its beginning: when the machine was stored.
  expect(me!.balance).toBe('996.95');
});
