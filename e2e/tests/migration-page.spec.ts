import { expect, test, type Locator, type Page, type Request, type Route } from '@playwright/test';
import type { Schemas } from '@virtuoso/api-client';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

// The migration pages in the browser (report fig. 20 and 21), the buyer signed in to the real API
// and the machine's own routes answered by the test: the migrate page lists hosts with prices,
// free room and per host the methods it offers (a host that did not answer greyed, no choice);
// the confirmation names the arrival terms; the POST carries If-Match and an Idempotency-Key; the
// machine page shows the progress bar (polled every second), the VMMP log and Cancel; the outcome
// and the past migrations. Each screen is checked at 1280 px and on a 390 px phone.
// tests/migration.spec.ts drives a real migration between two agents.
const run = Date.now().toString(36);
const buyer = { handle: `mpbuyer-${run}`, email: `mpbuyer-${run}@example.com`, password: 'migration-page-1' };
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MB = 1024 * 1024;
const screens = resolve(__dirname, '../../test-results/migration-screens');

const machineId = '0f8fad5b-d9cb-469f-a165-70867728950e';
const virt17 = { id: '11111111-1111-4111-8111-111111111117', name: 'virt17', owner: 'RsrcProvider', online: true };
const virt13 = { id: '11111111-1111-4111-8111-111111111113', name: 'virt13', owner: 'OtherProvider', online: true };
const virt14 = { id: '11111111-1111-4111-8111-111111111114', name: 'virt14', owner: 'ThirdProvider', online: true };

type Machine = Schemas['MachineDto'];
type Migration = Schemas['MigrationDto'];
type Offer = Schemas['MigrationOfferDto'];

function machine(over: Partial<Machine> = {}): Machine {
  return {
    id: machineId,
    name: `mp-vm-${run}`,
    processor: 'pentium3',
    speed: 4000,
    os: 'win98',
    memory: 64,
    disk: 100,
    preconfigured: false,
    image: null,
    state: 'stopped',
    version: 3,
    etag: '"3-0"',
    allowedActions: ['start', 'migrate', 'delete'],
    askedStoragePerMonth: '3',
    askedRunningPerHour: '0.1',
    host: virt17,
    storagePrice: '3',
    storageAmount: 30,
    runningPrice: '0.002016',
    runningUnitAmount: 3600,
    macAddress: '52:54:00:12:34:56',
    registrationFee: '1',
    lastError: null,
    media: null,
    createdAt: '2026-12-05T09:00:00.000Z',
    ...over,
  } as Machine;
}

const offers: Offer[] = [
  {
    hostId: virt13.id,
    hostName: 'virt13',
    owner: virt13.owner,
    processor: 'pentium3',
    connectionSpeed: '1Gbps',
    storagePrice: '3',
    storageAmount: 30,
    runningPrice: '0.2016',
    runningUnitAmount: 3600,
    storagePerMonth: '3',
    runningPerHour: '0.2016',
    withinAsked: false,
    free: { speed: 8000, memory: 512, storage: 20000 },
    methods: ['SCP', 'RSYNC'],
    vmmp: [`<VMMP 1.0 QUERY ${machineId} METHODS>`, `<VMMP 1.0 RESULTS ${machineId} 2 SCP RSYNC>`],
  },
  {
    hostId: virt14.id,
    hostName: 'virt14',
    owner: virt14.owner,
    processor: 'pentium3',
    connectionSpeed: '100Mbps',
    storagePrice: '2.5',
    storageAmount: 30,
    runningPrice: '0.002016',
    runningUnitAmount: 3600,
    storagePerMonth: '2.5',
    runningPerHour: '0.002016',
    withinAsked: true,
    free: { speed: 4000, memory: 256, storage: 5000 },
    methods: [],
    unavailable: 'its agent did not answer within 2 s',
    vmmp: [`<VMMP 1.0 QUERY ${machineId} METHODS>`],
  },
];

function migration(over: Partial<Migration> = {}): Migration {
  return {
    id: '9b2d3a4c-1111-4a53-9d0e-6c1f0f2f9b11',
    machineId,
    fromHostId: virt17.id,
    fromHostName: 'virt17',
    toHostId: virt13.id,
    toHostName: 'virt13',
    method: 'SCP',
    phase: 'preparing',
    cleanedUp: false,
    previousState: 'stopped',
    fromVersion: 3,
    toVersion: null,
    bytesDone: 0,
    bytesTotal: 0,
    bytesPerSecond: 0,
    secondsLeft: null,
    bytesTransferred: null,
    transferMs: null,
    lastHeartbeatAt: null,
    error: null,
    storagePrice: '3',
    storageAmount: 30,
    runningPrice: '0.2016',
    runningUnitAmount: 3600,
    startedAt: '2026-12-05T10:00:00.000Z',
    finishedAt: null,
    log: [
      { at: '2026-12-05T10:00:00.100Z', text: `<VMMP 1.0 QUERY ${machineId} METHODS>` },
      { at: '2026-12-05T10:00:00.200Z', text: `<VMMP 1.0 RESULTS ${machineId} 2 SCP RSYNC>` },
      { at: '2026-12-05T10:00:00.900Z', text: `<VMMP 1.0 REQ ${machineId} 127.0.0.1 2222 SCP 127.0.0.1 18390>` },
    ],
    ...over,
  };
}

/** What the test's API answers for the machine's routes; the tests change it as the story goes on. */
interface World {
  machine: Machine;
  migration: Migration | null;
  history: Migration[];
  started: Request | null;
  cancelled: Request | null;
  /** When set, POST …/migrate is refused with this answer. */
  refuse?: { status: number; message: string };
}

async function answerMachineRoutes(page: Page, world: World) {
  const json = (route: Route, status: number, body: unknown) => route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });
  await page.route(new RegExp(`/api/machines/${machineId}(/[^?]*)?(\\?.*)?$`), async (route) => {
    const request = route.request();
    const path = new URL(request.url()).pathname.slice(`/api/machines/${machineId}`.length);
    const method = request.method();
    if (method === 'GET' && path === '') return json(route, 200, world.machine);
    if (method === 'GET' && path === '/migration-offers') return json(route, 200, offers);
    if (method === 'GET' && path === '/migration') {
      return world.migration ? json(route, 200, world.migration) : json(route, 404, { statusCode: 404, error: 'Not Found', message: 'never migrated' });
    }
    if (method === 'GET' && path === '/migrations') return json(route, 200, world.history);
    if (method === 'POST' && path === '/migrate') {
      world.started = request;
      if (world.refuse) return json(route, world.refuse.status, { statusCode: world.refuse.status, error: 'Refused', message: world.refuse.message });
      world.migration = migration({ method: request.postDataJSON().method });
      world.history = [world.migration];
      world.machine = machine({ state: 'migrating', allowedActions: [] });
      return json(route, 202, world.migration);
    }
    if (method === 'POST' && path === '/migration/cancel') {
      world.cancelled = request;
      world.migration = migration({
        ...world.migration,
        phase: 'rolled-back',
        error: 'cancelled by the buyer',
        cleanedUp: true,
        finishedAt: '2026-12-05T10:00:09.000Z',
      });
      world.history = [world.migration];
      world.machine = machine();
      return json(route, 200, world.migration);
    }
    return json(route, 404, { statusCode: 404, error: 'Not Found', message: `not mocked: ${method} ${path}` });
  });
}

/** The element is shown whole within the screen's width (no sideways scrolling to read it). */
async function expectWithinWidth(locator: Locator, width: number) {
  await expect(locator).toBeVisible();
  const box = (await locator.boundingBox())!;
  expect(box.x, `${await locator.innerText()} starts on screen`).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width, `${await locator.innerText()} ends on screen`).toBeLessThanOrEqual(width);
}

async function screenshot(page: Page, name: string) {
  mkdirSync(screens, { recursive: true });
  await page.screenshot({ path: resolve(screens, `${name}.png`), fullPage: true });
}

let signUps = 0;
test.beforeEach(async ({ page }) => {
  signUps += 1;
  const user = { ...buyer, handle: `${buyer.handle}-${signUps}`, email: `${signUps}-${buyer.email}` };
  const response = await page.request.post('/api/auth/signup', { data: { ...user, role: 'buyer' } });
  expect(response.status(), await response.text()).toBe(201);
});

test('migrate page (fig. 20): prices, free room, methods per host, a silent host greyed; the confirmation; POST with If-Match and Idempotency-Key', async ({
  page,
}) => {
  const world: World = { machine: machine(), migration: null, history: [], started: null, cancelled: null };
  await answerMachineRoutes(page, world);
  await page.setViewportSize(DESKTOP);

  // The machine's page links to the migrate page because its state allows `migrate`.
  await page.goto(`/machines/${machineId}`);
  await page.getByRole('link', { name: `Migrate ${world.machine.name}` }).click();
  await expect(page).toHaveURL(new RegExp(`/machines/${machineId}/migrate$`));

  for (const viewport of [DESKTOP, PHONE]) {
    await page.setViewportSize(viewport);
    const answered = page.getByTestId('migration-offer-virt13');
    const silent = page.getByTestId('migration-offer-virt14');
    await expect(answered.locator('td[data-label="Storage cost"]')).toContainText('3 / 30 days');
    await expect(answered.locator('td[data-label="Storage cost"]')).toContainText('3 / month');
    await expect(answered.locator('td[data-label="Running cost"]')).toContainText('0.2016 / 3600 seconds');
    await expect(answered.locator('td[data-label="Running cost"]')).toContainText('0.2016 / hour');
    await expect(answered).toContainText('above your asked prices');
    await expect(silent).toContainText('within your asked prices');
    await expect(answered.locator('td[data-label="Free room"]')).toContainText('8000 bogomips');
    await expect(answered.locator('td[data-label="Free room"]')).toContainText('512 MB memory · 20000 MB disk');
    // Both methods of the host that answered are choices; the silent host has none, and says why.
    await expect(page.getByRole('radio', { name: 'virt13: SCP — full copy' })).toBeVisible();
    await expect(page.getByRole('radio', { name: 'virt13: RSYNC — only what changed; fast when that host held this machine before' })).toBeChecked();
    await expect(silent.getByRole('radio')).toHaveCount(0);
    await expect(silent).toContainText('No method: its agent did not answer within 2 s');
    await expect(silent).toHaveClass(/is-offline/);
    for (const label of ['Storage cost', 'Running cost', 'Free room', 'Migration methods']) {
      await expectWithinWidth(answered.locator(`td[data-label="${label}"]`), viewport.width);
    }
    await screenshot(page, `migrate-${viewport.width}`);
  }

  await page.setViewportSize(DESKTOP);
  // The QUERY each host was sent and what it answered, in the report's text form.
  await page.getByText('VMMP exchange with the hosts (3 messages)').click();
  await expect(page.getByTestId('offers-vmmp')).toHaveText(
    [
      `virt13: <VMMP 1.0 QUERY ${machineId} METHODS>`,
      `virt13: <VMMP 1.0 RESULTS ${machineId} 2 SCP RSYNC>`,
      `virt14: <VMMP 1.0 QUERY ${machineId} METHODS>`,
    ].join('\n'),
  );
  await page.getByRole('radio', { name: 'virt13: SCP — full copy' }).check();
  await page.getByRole('button', { name: 'Migrate to virt13 by SCP…' }).click();
  // The confirmation names the arrival terms; nothing was sent yet.
  const terms = page.getByTestId('arrival-terms');
  await expect(terms).toContainText('Storage at virt13: 3 / 30 days (3 / month), charged anew when the machine arrives, for a new period of 30 days');
  await expect(terms).toContainText('Running at virt13: 0.2016 / 3600 seconds (0.2016 / hour)');
  await expect(terms).toContainText('The unused part of the storage period already paid at virt17 is not refunded.');
  await expect(terms).toContainText('The machine is stopped, not running, so no running slice moves with it.');
  await expect(terms).toContainText('virt13 asks more than the prices you asked for this machine.');
  expect(world.started).toBeNull();
  await page.setViewportSize(PHONE);
  await expectWithinWidth(page.getByRole('button', { name: 'Migrate now' }), PHONE.width);
  await screenshot(page, 'confirm-390');

  await page.getByRole('button', { name: 'Migrate now' }).click();
  await expect(page).toHaveURL(new RegExp(`/machines/${machineId}$`));
  const started = world.started as Request | null;
  expect(started).not.toBeNull();
  expect(started!.postDataJSON()).toEqual({ hostId: virt13.id, method: 'SCP' });
  expect(started!.headers()['if-match']).toBe('"3-0"');
  expect(started!.headers()['idempotency-key']).toMatch(UUID);
  await expect(page.getByText(`${world.machine.name}: migration to virt13 by SCP started.`)).toBeVisible();
  await expect(page.getByRole('progressbar', { name: 'Migration progress' })).toBeVisible();
});

test('machine page while migrating (fig. 21): progress bar polled every second, VMMP log, Cancel; then why it rolled back and the past migrations', async ({
  page,
}) => {
  const world: World = {
    machine: machine({ state: 'migrating', allowedActions: [] }),
    migration: migration({ phase: 'transferring', bytesDone: 16 * MB, bytesTotal: 64 * MB, bytesPerSecond: 4 * MB, secondsLeft: 12 }),
    history: [],
    started: null,
    cancelled: null,
  };
  world.history = [world.migration!];
  await answerMachineRoutes(page, world);
  await page.setViewportSize(DESKTOP);
  await page.goto(`/machines/${machineId}`);

  const bar = page.getByRole('progressbar', { name: 'Migration progress' });
  await expect(bar).toHaveAttribute('aria-valuenow', '25');
  await expect(page.getByTestId('migration-phase')).toHaveText('Copying from virt17 to virt13 by SCP');
  await expect(page.getByTestId('migration-bytes')).toHaveText('16.0 MB of 64.0 MB');
  await expect(page.getByTestId('migration-percent')).toHaveText('25%');
  await expect(page.getByTestId('migration-rate')).toHaveText('4.00 MB/s');
  await expect(page.getByTestId('migration-time-left')).toHaveText('about 12 seconds left');
  // No machine action while migrating (fig. 21).
  await expect(page.getByRole('button', { name: 'Start' })).toHaveCount(0);
  await expect(page.getByText('Migrating: no actions until it has arrived or the move is undone.')).toBeVisible();

  // The page follows the destination's heartbeats.
  world.migration = { ...world.migration!, bytesDone: 48 * MB, secondsLeft: 4 };
  await expect(bar).toHaveAttribute('aria-valuenow', '75');
  await expect(page.getByTestId('migration-time-left')).toHaveText('about 4 seconds left');

  // The log is folded away, in the report's text form once opened.
  const log = page.getByTestId('migration-log');
  await expect(log).toBeHidden();
  await page.getByText('VMMP log (3 lines)').click();
  await expect(log).toContainText(`10:00:00.900 <VMMP 1.0 REQ ${machineId} 127.0.0.1 2222 SCP 127.0.0.1 18390>`);

  for (const viewport of [DESKTOP, PHONE]) {
    await page.setViewportSize(viewport);
    await expectWithinWidth(bar, viewport.width);
    await expectWithinWidth(page.getByRole('button', { name: 'Cancel migration' }), viewport.width);
    await screenshot(page, `progress-${viewport.width}`);
  }

  await page.getByRole('button', { name: 'Cancel migration' }).click();
  await expect(page.getByTestId('migration-outcome')).toContainText(
    'The migration to virt13 rolled back: cancelled by the buyer. The machine stayed on virt17 at version 3, stopped.',
  );
  expect(world.cancelled!.headers()['idempotency-key']).toMatch(UUID);
  await expect(bar).toHaveCount(0);
  const row = page.getByRole('row', { name: /virt17 → virt13/ });
  await expect(row.locator('td[data-label="Outcome"]')).toContainText('Rolled back');
  await expect(row.locator('td[data-label="Outcome"]')).toContainText('cancelled by the buyer');
  // The machine is back as it was: its actions return.
  await expect(page.getByRole('button', { name: 'Start' })).toBeVisible();
});

test('machine page after a migration: where it arrived and at which version, and the past migrations with bytes and duration', async ({ page }) => {
  const arrived = migration({
    id: '9b2d3a4c-2222-4a53-9d0e-6c1f0f2f9b11',
    phase: 'committed',
    method: 'RSYNC',
    toVersion: 4,
    cleanedUp: true,
    bytesDone: 64 * MB,
    bytesTotal: 64 * MB,
    bytesTransferred: 10 * MB,
    transferMs: 2500,
    startedAt: '2026-12-05T11:00:00.000Z',
    finishedAt: '2026-12-05T11:00:03.000Z',
  });
  const failed = migration({ phase: 'rolled-back', error: 'the destination sent no heartbeat for 15 s', finishedAt: '2026-12-05T10:00:20.000Z' });
  const world: World = {
    machine: machine({ host: virt13, version: 4, etag: '"4-0"' }),
    migration: arrived,
    history: [arrived, failed],
    started: null,
    cancelled: null,
  };
  await answerMachineRoutes(page, world);
  for (const viewport of [DESKTOP, PHONE]) {
    await page.setViewportSize(viewport);
    await page.goto(`/machines/${machineId}`);
    await expect(page.getByTestId('migration-outcome')).toContainText('The machine arrived at virt13 at version 4, stopped as it left virt17.');
    const rows = page.locator('table.table--migrations tbody tr');
    await expect(rows).toHaveCount(2);
    await expect(rows.nth(0).locator('td[data-label="Outcome"]')).toHaveText('Arrived, version 4');
    await expect(rows.nth(0).locator('td[data-label="Method"]')).toHaveText('RSYNC');
    await expect(rows.nth(0).locator('td[data-label="Transferred"]')).toHaveText('10.0 MB');
    await expect(rows.nth(0).locator('td[data-label="Duration"]')).toHaveText('3 seconds');
    await expect(rows.nth(1).locator('td[data-label="Outcome"]')).toContainText('Rolled back');
    await expect(rows.nth(1).locator('td[data-label="Transferred"]')).toHaveText('—');
    for (const label of ['From → to', 'Outcome', 'Transferred', 'Duration']) {
      await expectWithinWidth(rows.nth(0).locator(`td[data-label="${label}"]`), viewport.width);
    }
    await screenshot(page, `outcome-${viewport.width}`);
  }
});

test('a refused migration is shown on the confirmation and the machine stays on its page unchanged', async ({ page }) => {
  const world: World = {
    machine: machine(),
    migration: null,
    history: [],
    started: null,
    cancelled: null,
    refuse: { status: 412, message: 'The machine changed since you loaded it (version 4, not 3).' },
  };
  await answerMachineRoutes(page, world);
  await page.setViewportSize(DESKTOP);
  await page.goto(`/machines/${machineId}/migrate`);
  await page.getByRole('button', { name: 'Migrate to virt13 by RSYNC…' }).click();
  await page.getByRole('button', { name: 'Migrate now' }).click();
  const refusal = page.getByRole('alert');
  await expect(refusal).toContainText('The machine changed meanwhile');
  await expect(refusal).toContainText('The machine changed since you loaded it (version 4, not 3).');
  await expect(page).toHaveURL(new RegExp(`/machines/${machineId}/migrate$`));
  expect(world.started!.postDataJSON()).toEqual({ hostId: virt13.id, method: 'RSYNC' });
});
