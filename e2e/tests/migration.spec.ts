import { expect, test, type Page } from '@playwright/test';
import type { ApiClient, Schemas } from '@virtuoso/api-client';
import { freePort } from '../support/agent';
import { typeOnConsole } from '../support/console';
import { addAgentHost, browserApi, registerTinyLinux, signUpApi, type AgentHost } from '../support/market';

// A real migration between two real provider agents, driven from the browser (report §5.1.5,
// fig. 20 and 21): the buyer stores tiny-linux on host A, opens Migrate, picks host B and RSYNC,
// confirms the arrival terms, and the machine's page follows it to the outcome "arrived at B at
// version + 1"; storage is charged anew on arrival. Then back to A by RSYNC, where A's cache of
// the machine makes the copy cheaper than the first. tests/migration-page.spec.ts covers each
// screen with answers made up by the test.
const run = Date.now().toString(36);
const password = 'migration-password-1';
const provider = { handle: `mprov-${run}`, email: `mprov-${run}@example.com`, password };
const buyer = { handle: `mbuyer-${run}`, email: `mbuyer-${run}@example.com`, password };
const RSYNC_LABEL = 'RSYNC — only what changed; fast when that host held this machine before';

const hosts: AgentHost[] = [];

test.afterAll(async () => {
  for (const { agent } of hosts) await agent.stop();
});

type Migration = Schemas['MigrationDto'];

/** Opens the migrate page from the machine's page, picks `to` and RSYNC, confirms; back on the machine's page. */
async function migrateInBrowser(page: Page, machineId: string, machineName: string, to: string) {
  await page.goto(`/machines/${machineId}`);
  await page.getByRole('link', { name: `Migrate ${machineName}` }).click();
  const rsync = page.getByRole('radio', { name: `${to}: ${RSYNC_LABEL}` });
  await expect(rsync).toBeVisible({ timeout: 30_000 });
  await rsync.check();
  await page.getByRole('button', { name: `Migrate to ${to} by RSYNC…` }).click();
  const terms = page.getByTestId('arrival-terms');
  await expect(terms).toContainText(`Storage at ${to}:`);
  await expect(terms).toContainText('charged anew when the machine arrives');
  await expect(terms).toContainText('is not refunded');
  await page.getByRole('button', { name: 'Migrate now' }).click();
  await expect(page).toHaveURL(new RegExp(`/machines/${machineId}$`));
}

async function storageCharges(buyerApi: ApiClient, machineId: string): Promise<number> {
  const { data } = await buyerApi.GET('/api/account/statement', { params: { query: { kind: 'storage', machineId } } });
  return data!.total;
}

test('a stored machine migrates A → B by RSYNC from the migrate page and back B → A, cheaper the second time; storage charged on each arrival', async ({
  page,
  baseURL,
}) => {
  test.setTimeout(420_000);
  const base = baseURL!;
  const providerApi = await signUpApi(base, provider, 'provider');
  hosts.push(await addAgentHost(base, providerApi, `mig-a-${run}`, 3600, { sshPort: await freePort() }));
  hosts.push(await addAgentHost(base, providerApi, `mig-b-${run}`, 3600, { sshPort: await freePort() }));
  const [a, b] = hosts.map((h) => h.host);

  const signedUp = await page.request.post('/api/auth/signup', { data: { ...buyer, role: 'buyer' } });
  expect(signedUp.status(), await signedUp.text()).toBe(201);
  const buyerApi = await browserApi(page, base);
  const name = `mig-${run}`;
  const registered = await registerTinyLinux(buyerApi, name);
  const machineId = registered.id;
  const { error: storeError } = await buyerApi.POST('/api/machines/{id}/store', {
    params: { path: { id: machineId } },
    headers: { 'If-Match': registered.etag },
    body: { hostId: a.id },
  });
  expect(storeError, JSON.stringify(storeError)).toBeUndefined();
  const machine = async () => (await buyerApi.GET('/api/machines/{id}', { params: { path: { id: machineId } } })).data!;
  await expect.poll(async () => (await machine()).state, { timeout: 120_000, intervals: [500] }).toBe('stored');
  const stored = await machine();
  expect(stored.host!.id).toBe(a.id);
  expect(await storageCharges(buyerApi, machineId)).toBe(1);

  // The phases the machine's page saw, for the log of this run.
  const seen: string[] = [];
  page.on('response', async (response) => {
    if (response.request().method() === 'GET' && response.url().endsWith(`/api/machines/${machineId}/migration`) && response.ok()) {
      const phase = ((await response.json()) as Migration).phase;
      if (seen.at(-1) !== phase) seen.push(phase);
    }
  });

  // A → B: the page follows it to the outcome, at version + 1.
  await migrateInBrowser(page, machineId, name, b.name);
  await expect(page.getByTestId('migration-outcome')).toContainText(
    `The machine arrived at ${b.name} at version ${stored.version + 1}, stored as it left ${a.name}.`,
    {
      timeout: 180_000,
    },
  );
  console.log(`A → B phases seen by the page: ${seen.join(' → ')}`);
  const atB = await machine();
  expect(atB.host!.id).toBe(b.id);
  expect(atB.version).toBe(stored.version + 1);
  expect(atB.state).toBe('stored');
  // Storage is charged anew on arrival at B (report §5.1.6); the machine page's list has the move.
  await expect.poll(() => storageCharges(buyerApi, machineId), { timeout: 15_000 }).toBe(2);
  const firstRow = page.locator('table.table--migrations tbody tr').first();
  await expect(firstRow.locator('td[data-label="From → to"]')).toHaveText(`${a.name} → ${b.name}`);
  await expect(firstRow.locator('td[data-label="Outcome"]')).toHaveText(`Arrived, version ${stored.version + 1}`);

  // B → A by RSYNC: A kept the machine's old files as a cache, so less crosses the wire.
  seen.length = 0;
  await migrateInBrowser(page, machineId, name, a.name);
  await expect(page.getByTestId('migration-outcome')).toContainText(`The machine arrived at ${a.name} at version ${stored.version + 2}`, { timeout: 180_000 });
  console.log(`B → A phases seen by the page: ${seen.join(' → ')}`);
  expect((await machine()).host!.id).toBe(a.id);
  await expect.poll(() => storageCharges(buyerApi, machineId), { timeout: 15_000 }).toBe(3);
  await expect(page.locator('table.table--migrations tbody tr')).toHaveCount(2);
  const { data: migrations } = await buyerApi.GET('/api/machines/{id}/migrations', { params: { path: { id: machineId } } });
  const [back, there] = migrations!;
  expect([back.phase, there.phase]).toEqual(['committed', 'committed']);
  console.log(`bytes transferred: A → B ${there.bytesTransferred}, B → A ${back.bytesTransferred} (with A's cache)`);
  expect(back.bytesTransferred!).toBeLessThan(there.bytesTransferred!);
});

test("what the buyer wrote in the guest travels: written from A's console, stopped, migrated by RSYNC from the migrate page, started at B and read back there", async ({
  page,
  baseURL,
}) => {
  test.setTimeout(420_000);
  const base = baseURL!;
  if (hosts.length < 2) {
    const providerApi = await signUpApi(base, { ...provider, handle: `${provider.handle}-2`, email: `2-${provider.email}` }, 'provider');
    hosts.push(await addAgentHost(base, providerApi, `mig-a2-${run}`, 3600, { sshPort: await freePort() }));
    hosts.push(await addAgentHost(base, providerApi, `mig-b2-${run}`, 3600, { sshPort: await freePort() }));
  }
  const [a, b] = hosts.map((h) => h.host);
  const [agentA, agentB] = hosts.map((h) => h.agent);
  const writer = { handle: `mwriter-${run}`, email: `mwriter-${run}@example.com`, password };
  const signedUp = await page.request.post('/api/auth/signup', { data: { ...writer, role: 'buyer' } });
  expect(signedUp.status(), await signedUp.text()).toBe(201);
  const buyerApi = await browserApi(page, base);
  const name = `data-${run}`;
  const registered = await registerTinyLinux(buyerApi, name);
  const id = registered.id;
  const path = { params: { path: { id } } };
  const machine = async () => (await buyerApi.GET('/api/machines/{id}', path)).data!;
  expect((await buyerApi.POST('/api/machines/{id}/store', { ...path, body: { hostId: a.id } })).error).toBeUndefined();
  await expect.poll(async () => (await machine()).state, { timeout: 120_000 }).toBe('stored');

  /** Starts the machine, opens its console and waits for the guest's prompt. */
  const openConsole = async (agent: (typeof hosts)[number]['agent']) => {
    const ready = agent.serialLog(id).split('VIRTUOSO-GUEST-READY').length - 1;
    expect((await buyerApi.POST('/api/machines/{id}/start', { ...path, body: {} })).error).toBeUndefined();
    await page.goto(`/machines/${id}/console`);
    await expect(page.getByTestId('console-status')).toHaveText(/Connected/, { timeout: 30_000 });
    await expect
      .poll(() => agent.serialLog(id).split('VIRTUOSO-GUEST-READY').length - 1, { timeout: 90_000, message: 'the guest boots (TCG)' })
      .toBeGreaterThan(ready);
    await page.locator('[data-testid="console-screen"] canvas').click();
    await page.keyboard.press('Enter');
  };
  const stop = async () => {
    expect((await buyerApi.POST('/api/machines/{id}/stop', { ...path, body: {} })).error).toBeUndefined();
    await expect.poll(async () => (await machine()).state, { timeout: 60_000 }).toBe('stopped');
  };

  // At A: write a line onto the machine's disk (past the boot files, at 40 MiB), flushed.
  await openConsole(agentA);
  await typeOnConsole(page, 'echo TRAVELLED-$((6*7)) | dd of=/dev/vda bs=1M seek=40 conv=fsync && echo WRITTEN > /dev/ttyS0');
  await expect.poll(() => agentA.serialLog(id), { timeout: 20_000, message: 'the write ran in the guest' }).toContain('WRITTEN');
  await stop();
  const before = await machine();

  await migrateInBrowser(page, id, name, b.name);
  await expect(page.getByTestId('migration-outcome')).toContainText(`The machine arrived at ${b.name} at version ${before.version + 1}`, { timeout: 180_000 });
  expect((await machine()).host!.id).toBe(b.id);

  // At B: read it back from the disk, lower-cased so that only the read can print it.
  await openConsole(agentB);
  await typeOnConsole(page, 'dd if=/dev/vda bs=1M skip=40 count=1 2>/dev/null | head -c 12 | tr A-Z a-z > /dev/ttyS0');
  await expect.poll(() => agentB.serialLog(id), { timeout: 20_000, message: "the line is on B's copy of the disk" }).toContain('travelled-42');
  await stop();
});
