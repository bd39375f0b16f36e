import { expect, test, type Locator, type Page } from '@playwright/test';
import { handHost } from '../support/market';

// The pages as a new user meets them (the "Pages" findings): tables that fit a 1280 px
// screen and a 390 px phone, a one-line top bar on the phone, numbers for people, an explicit
// Sign out, a Switch user page that does not sign anyone out by opening it, a provider's own
// navigation and home, confirmations before deleting, a double click that registers once, and
// one validation message per field named by its label.
const run = Date.now().toString(36);
const password = 'pages-password-1';
const provider = { handle: `pprov-${run}`, email: `pprov-${run}@example.com`, password };
const buyer = { handle: `pbuyer-${run}`, email: `pbuyer-${run}@example.com`, password };
const hostName = `pages-host-${run}`;
const machineName = `pages-vm-${run}`;

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

/** Signs up through the page's request context, so the browser holds the session cookie. */
async function signUp(page: Page, user: typeof buyer, role: 'buyer' | 'provider') {
  const response = await page.request.post('/api/auth/signup', { data: { ...user, role } });
  expect(response.status(), await response.text()).toBe(201);
}

/** A host added by hand (no agent: offline), as the report's form does. */
async function addHostByHand(page: Page, name: string) {
  const response = await page.request.post('/api/hosts', { data: handHost(name) });
  expect(response.status(), await response.text()).toBe(201);
}

/** The element lies within the window, left to right: nothing to scroll to see it. */
async function expectWithinWidth(locator: Locator, width: number) {
  await expect(locator).toBeVisible();
  const box = (await locator.boundingBox())!;
  expect(box.x, `${await locator.innerText()} starts on screen`).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width, `${await locator.innerText()} ends on screen`).toBeLessThanOrEqual(width);
}

/** The top bar (brand, navigation, user) takes little of the screen's height. */
async function expectSmallTopBar(page: Page, maxHeight: number) {
  const box = (await page.locator('header.topbar').boundingBox())!;
  expect(box.height).toBeLessThanOrEqual(maxHeight);
}

test('My hosts, the marketplace and My computers show Status, prices and connection at 1280 px and on a 390 px phone', async ({ browser, baseURL }) => {
  const providerPage = await browser.newPage({ viewport: DESKTOP, baseURL });
  await signUp(providerPage, provider, 'provider');
  await addHostByHand(providerPage, hostName);

  for (const viewport of [DESKTOP, PHONE]) {
    await providerPage.setViewportSize(viewport);
    await providerPage.goto('/hosts');
    const row = providerPage.getByRole('row', { name: new RegExp(hostName) });
    for (const label of ['Status', 'Speed', 'Memory', 'Storage', 'Connection']) {
      await expectWithinWidth(row.locator(`td[data-label="${label}"]`), viewport.width);
    }
    await expect(row.locator('td[data-label="Status"]')).toContainText('Offline');

    await providerPage.goto('/marketplace');
    const market = providerPage.getByRole('row', { name: new RegExp(hostName) });
    for (const label of ['Status', 'Speed price', 'Memory price', 'Storage price', 'Connection']) {
      await expectWithinWidth(market.locator(`td[data-label="${label}"]`), viewport.width);
    }
    // The marketplace keeps offline hosts, marked offline.
    await expect(market.locator('td[data-label="Status"]')).toContainText('Offline');
  }

  const buyerPage = await browser.newPage({ viewport: DESKTOP, baseURL });
  await signUp(buyerPage, buyer, 'buyer');
  const registered = await buyerPage.request.post('/api/machines', {
    data: {
      name: machineName,
      processor: 'Pentium3',
      os: 'winPro',
      speed: 4000,
      memory: 256,
      disk: 1000,
      askedStoragePerMonth: '4.208333333333',
      askedRunningPerHour: '0.064386111111',
    },
  });
  expect(registered.status(), await registered.text()).toBe(201);
  for (const viewport of [DESKTOP, PHONE]) {
    await buyerPage.setViewportSize(viewport);
    await buyerPage.goto('/computers');
    const row = buyerPage.getByRole('row', { name: new RegExp(machineName) });
    for (const label of ['Status', 'Asked storage', 'Asked running']) {
      await expectWithinWidth(row.locator(`td[data-label="${label}"]`), viewport.width);
    }
    await expectWithinWidth(row.getByRole('link', { name: 'Search providers' }), viewport.width);
  }
  await providerPage.close();
  await buyerPage.close();
});

test('the top bar is one line on a phone: the navigation folds behind Menu', async ({ page }) => {
  await page.setViewportSize(DESKTOP);
  await signUp(page, { ...buyer, handle: `${buyer.handle}-nav`, email: `nav-${buyer.email}` }, 'buyer');
  await page.goto('/');
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'My computers' })).toBeVisible();
  await expectSmallTopBar(page, 80);

  await page.setViewportSize(PHONE);
  await page.goto('/');
  // A tenth of the phone's height at most (it took a quarter).
  await expectSmallTopBar(page, PHONE.height / 10);
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'My computers' })).toBeHidden();
  await page.getByRole('button', { name: 'Menu' }).click();
  await expect(nav.getByRole('link', { name: 'My computers' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
  await nav.getByRole('link', { name: 'My computers' }).click();
  await expect(page.getByRole('heading', { name: 'My computers' })).toBeVisible();
  // Following a link folds the menu again.
  await expect(nav.getByRole('link', { name: 'Media' })).toBeHidden();
  await expectSmallTopBar(page, PHONE.height / 10);
});

test('prices and the balance are rounded for people, with the exact value on hover', async ({ page }) => {
  const user = { ...buyer, handle: `${buyer.handle}-fmt`, email: `fmt-${buyer.email}` };
  await signUp(page, user, 'buyer');
  const registered = await page.request.post('/api/machines', {
    data: {
      name: `fmt-${run}`,
      processor: 'Pentium3',
      os: 'winPro',
      speed: 4000,
      memory: 256,
      disk: 1000,
      askedStoragePerMonth: '4.208333333333',
      askedRunningPerHour: '0.000006333333',
    },
  });
  expect(registered.status(), await registered.text()).toBe(201);
  await page.goto('/computers');
  const row = page.getByRole('row', { name: new RegExp(`fmt-${run}`) });
  const running = row.locator('td[data-label="Asked running"]');
  await expect(running).toHaveText('0.00000633333 / hour');
  await expect(running).toHaveAttribute('title', '0.000006333333');
  await expect(row.locator('td[data-label="Asked storage"]')).toHaveText('4.20833 / month');
  await expect(page.locator('main')).not.toContainText('0.000006333333');

  await page.goto('/account');
  // 1000 welcome credit less the 0.05 fee: cents for reading, the exact figure on hover.
  await expect(page.getByTestId('balance')).toHaveText('$999.95');
  await expect(page.getByTestId('balance')).toHaveAttribute('title', '$999.95');
});

test('Switch user does not sign out by opening it; Sign out does; a provider sees My hosts and provider things at home', async ({ page, browser, baseURL }) => {
  const me = { ...buyer, handle: `${buyer.handle}-sw`, email: `sw-${buyer.email}` };
  const other = { ...provider, handle: `${provider.handle}-sw`, email: `sw-${provider.email}` };
  // The other user exists: a provider signed up elsewhere.
  const elsewhere = await browser.newContext({ baseURL });
  expect((await elsewhere.request.post('/api/auth/signup', { data: { ...other, role: 'provider' } })).status()).toBe(201);
  await elsewhere.close();

  await signUp(page, me, 'buyer');
  await page.goto('/');
  await expect(page.getByTestId('current-user')).toHaveText(me.handle);
  await page.getByRole('link', { name: 'Switch user' }).click();
  await expect(page.getByText(`You are signed in as ${me.handle}`)).toBeVisible();
  await expect(page.getByTestId('current-user')).toHaveText(me.handle);
  // Still signed in: the session works, and leaving the page keeps the user.
  expect((await page.request.get('/api/auth/me')).status()).toBe(200);
  await page.goto('/account');
  await expect(page.getByRole('heading', { name: 'Account', exact: true })).toBeVisible();
  await expect(page.getByTestId('current-user')).toHaveText(me.handle);

  // Signing in as the other user on Switch user switches.
  await page.goto('/switch-user');
  await page.getByLabel('Handle').fill(other.handle);
  await page.getByLabel('Password').fill(other.password);
  await page.getByRole('button', { name: 'Sign in as this user' }).click();
  await expect(page.getByTestId('current-user')).toHaveText(other.handle);

  // A provider's navigation and home page are about hosts.
  const nav = page.getByRole('navigation', { name: 'Main' });
  await page.goto('/');
  await expect(nav.getByRole('link', { name: 'My hosts' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'My computers' })).toHaveCount(0);
  await expect(nav.getByRole('link', { name: 'Browse' })).toHaveCount(0);
  await expect(page.getByRole('heading', { name: 'Add a host' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Income' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Configure & register' })).toHaveCount(0);

  // Sign out: nobody is signed in, here and for the API.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('banner').getByRole('link', { name: 'Sign in' })).toBeVisible();
  await expect(page.getByTestId('current-user')).toHaveCount(0);
  expect((await page.request.get('/api/auth/me')).status()).toBe(401);
});

test('deleting a host and a machine asks first; Cancel keeps them', async ({ page }) => {
  const p = { ...provider, handle: `${provider.handle}-del`, email: `del-${provider.email}` };
  await signUp(page, p, 'provider');
  const name = `del-host-${run}`;
  await addHostByHand(page, name);
  await page.goto('/hosts');
  const row = page.getByRole('row', { name: new RegExp(name) });
  await row.getByRole('button', { name: `Delete ${name}` }).click();
  const confirm = page.getByRole('group', { name: `Delete ${name}?` });
  await expect(confirm).toBeVisible();
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await expect(confirm).toHaveCount(0);
  await page.reload();
  await expect(page.getByRole('row', { name: new RegExp(name) })).toBeVisible();
  await page.getByRole('button', { name: `Delete ${name}` }).click();
  await page
    .getByRole('group', { name: `Delete ${name}?` })
    .getByRole('button', { name: 'Confirm delete' })
    .click();
  await expect(page.getByRole('row', { name: new RegExp(name) })).toHaveCount(0);
});

test('a double click on Register registers one machine and charges one fee', async ({ page }) => {
  const b = { ...buyer, handle: `${buyer.handle}-dbl`, email: `dbl-${buyer.email}` };
  await signUp(page, b, 'buyer');
  await page.goto('/configure');
  const config = {
    Name: `dbl-${run}`,
    Processor: 'Pentium3',
    Speed: '4000',
    'Operating system': 'winPro',
    Memory: '256',
    Disk: '1000',
    'Asked storage price per month': '60',
    'Asked running price per hour': '10',
  };
  for (const [label, value] of Object.entries(config)) await page.getByLabel(label, { exact: true }).fill(value);
  await page.getByRole('button', { name: /Register configuration/ }).dblclick();
  await page.waitForURL(/\/machines\/[0-9a-f-]{36}\?registered=1/);
  const machines = await (await page.request.get('/api/machines')).json();
  expect(machines.filter((m: { name: string }) => m.name === config.Name)).toHaveLength(1);
  const me = await (await page.request.get('/api/auth/me')).json();
  expect(me.balance).toBe('999.95');
});

test('Add host starts from real units and prices; each wrong field gets one message named by its label', async ({ page }) => {
  const p = { ...provider, handle: `${provider.handle}-form`, email: `form-${provider.email}` };
  await signUp(page, p, 'provider');
  await page.goto('/hosts/new?agent=none');
  // Units, prices, periods and connection are filled with real values: submitted as shown, only
  // what describes the machine itself is missing.
  for (const label of [
    'Speed unit',
    'Speed unit price',
    'Memory unit',
    'Memory unit price',
    'Running period',
    'Storage unit',
    'Storage unit price',
    'Storage period',
    'Connection speed',
  ]) {
    await expect(page.getByLabel(label, { exact: true })).not.toHaveValue('');
  }
  await page.getByRole('button', { name: 'Add host' }).click();
  const invalid = page.locator('.field--invalid');
  await expect(invalid.first()).toBeVisible();
  const labels = await invalid.locator('label').allInnerTexts();
  expect(labels.sort()).toEqual(['Agent host', 'Agent port', 'Memory', 'Name', 'Processor', 'Speed', 'Storage'].sort());
  for (const field of await invalid.all()) {
    await expect(field.locator('.field__errors')).toHaveCount(1);
    const label = await field.locator('label').innerText();
    await expect(field.locator('.field__errors')).toHaveText(new RegExp(`^${label} `));
  }

  // A wrong unit: one message, with the label ("Speed unit"), not the code name (speedUnit).
  await page.getByLabel('Speed unit', { exact: true }).fill('abc');
  await page.getByRole('button', { name: 'Add host' }).click();
  const speedUnit = page.locator('.field', { has: page.getByLabel('Speed unit', { exact: true }) });
  await expect(speedUnit.locator('.field__errors')).toHaveText(/^Speed unit must be/);
  await expect(page.locator('main')).not.toContainText('speedUnit');
});
