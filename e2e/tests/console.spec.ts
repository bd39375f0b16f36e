import { expect, test, type Page } from '@playwright/test';
import { createApiClient, type ApiClient } from '@virtuoso/api-client';
import type { TestAgent } from '../support/agent';
import { typeOnConsole } from '../support/console';
import { addAgentHost, signUpApi, stopIfRunning } from '../support/market';

// The console flow on a real provider agent and a real QEMU guest (TCG): a provider's host
// joined by an agent this test starts; a buyer stores the preconfigured tiny-linux on it, starts
// it, watches the console canvas draw the guest's screen, types a command whose output reaches
// the guest's serial log, suspends, resumes (the console reconnects), stops, starts again and
// sends Ctrl-Alt-Del (the guest reboots, as a real OS does: it boots again and stays running).
const run = Date.now().toString(36);
const provider = { handle: `cprov-${run}`, email: `cprov-${run}@example.com`, password: 'provider-password' };
const buyer = { handle: `cbuyer-${run}`, email: `cbuyer-${run}@example.com`, password: 'buyer-password' };

let agent: TestAgent | null = null;
let machineId = '';
let buyerApi: ApiClient | null = null;

async function signUp(page: Page, user: typeof buyer) {
  await page.goto('/signup');
  await page.getByLabel('Handle').fill(user.handle);
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByLabel('Buyer', { exact: true }).check();
  await page.getByRole('button', { name: 'Sign up' }).click();
  await expect(page.getByText(user.handle).first()).toBeVisible();
}

/** Fraction of the console canvas's pixels that are not (near) black: the guest's text. */
function litFraction(page: Page): Promise<number> {
  return page.evaluate(() => {
    const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="console-screen"] canvas');
    if (!canvas || canvas.width === 0 || canvas.height === 0) return 0;
    const { data } = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    let lit = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] + data[i + 1] + data[i + 2] > 96) lit++;
    return lit / (data.length / 4);
  });
}

function serialLog(): string {
  return agent?.serialLog(machineId) ?? '';
}

/** How many times the guest said it was ready (one per boot). */
function readyCount(): number {
  return serialLog().split('VIRTUOSO-GUEST-READY').length - 1;
}

async function machineState(): Promise<string> {
  const { data } = await buyerApi!.GET('/api/machines/{id}', { params: { path: { id: machineId } } });
  return data!.state;
}

test.afterAll(async () => {
  await stopIfRunning(buyerApi, machineId);
  await agent?.stop();
});

test('buyer stores tiny-linux on an agent host, uses its console, suspends, resumes, stops and sends Ctrl-Alt-Del (a reboot)', async ({ page, baseURL }) => {
  test.setTimeout(300_000);
  const base = baseURL!;

  // Provider (API): a join token, a real agent started with it, the host added bound to that agent.
  const providerApi = await signUpApi(base, provider, 'provider');
  const hostName = `agent-host-${run}`;
  ({ agent } = await addAgentHost(base, providerApi, hostName, 3600));

  // Buyer (browser): register the preconfigured tiny-linux from Browse, at the market averages.
  await signUp(page, buyer);
  // Register is offered once the market daemon has priced tiny-linux from the new host (seconds).
  const register = page.getByRole('button', { name: /Register tiny-linux/ });
  await expect(async () => {
    await page.goto('/browse');
    await expect(register).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 30_000 });
  await register.click();
  await page.waitForURL(/\/machines\/[0-9a-f-]{36}\?registered=1/);
  machineId = new URL(page.url()).pathname.split('/')[2];
  const cookie = (await page.context().cookies()).find((c) => c.name === 'virtuoso_session')!;
  buyerApi = createApiClient({ baseUrl: base, headers: { cookie: `virtuoso_session=${cookie.value}` } });

  // Store it on the agent's host (the agent fetches the image), then start it.
  await page.getByRole('link', { name: 'Search providers' }).click();
  await page.getByRole('radio', { name: hostName }).check();
  await page.getByRole('button', { name: 'Store machine' }).click();
  const row = page.getByRole('row', { name: /tiny-linux/ });
  await expect(row.getByRole('button', { name: 'Start' })).toBeVisible({ timeout: 60_000 });
  await row.getByRole('button', { name: 'Start' }).click();
  await expect(row.getByRole('link', { name: /Console/ })).toBeVisible({ timeout: 60_000 });

  // The console: noVNC connects through the API and the agent to QEMU's VNC socket.
  await row.getByRole('link', { name: /Console/ }).click();
  await expect(page).toHaveURL(new RegExp(`/machines/${machineId}/console$`));
  const status = page.getByTestId('console-status');
  const canvas = page.locator('[data-testid="console-screen"] canvas');
  await expect(status).toHaveText(/Connected/, { timeout: 30_000 });
  await expect.poll(readyCount, { timeout: 90_000, message: 'the guest boots (TCG)' }).toBeGreaterThanOrEqual(1);
  // The guest's text (SeaBIOS, syslinux, the kernel, the ready marker, the prompt) is drawn.
  await expect.poll(() => litFraction(page), { timeout: 20_000 }).toBeGreaterThan(0.01);

  // Type a command on the console's keyboard; its output goes to the serial log on the agent.
  await canvas.click();
  await page.keyboard.press('Enter');
  await typeOnConsole(page, 'echo VNC-$((6*7)) > /dev/ttyS0');
  await expect.poll(serialLog, { timeout: 20_000, message: 'typed command ran in the guest' }).toContain('VNC-42');
  // `clear` empties the screen but for the prompt: the lit fraction drops measurably.
  const beforeClear = await litFraction(page);
  await typeOnConsole(page, 'clear');
  await expect.poll(() => litFraction(page), { timeout: 15_000 }).toBeLessThan(beforeClear / 2);

  // Suspend: the console says the machine is suspended; resume: it reconnects on its own.
  await page.getByRole('button', { name: 'Suspend', exact: true }).click();
  await expect(status).toHaveText(/machine is suspended/, { timeout: 60_000 });
  await expect(page.getByRole('button', { name: 'Resume' })).toBeVisible();
  await page.getByRole('button', { name: 'Resume' }).click();
  await expect(status).toHaveText(/Connected/, { timeout: 60_000 });
  // Same guest, same memory: the cleared screen's prompt is back and the shell still answers.
  await expect.poll(() => litFraction(page), { timeout: 20_000 }).toBeGreaterThan(0);
  await canvas.click();
  await typeOnConsole(page, 'echo RESUMED-$((40+2)) > /dev/ttyS0');
  await expect.poll(serialLog, { timeout: 20_000 }).toContain('RESUMED-42');
  expect(readyCount()).toBe(1); // resumed, not rebooted

  // Stop: the page shows the machine stopped and offers Start.
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await expect(status).toHaveText(/machine is stopped/, { timeout: 60_000 });
  await expect(page.getByText('The machine is stopped.')).toBeVisible();
  expect(await machineState()).toBe('stopped');

  // Start again from the console page, then Ctrl-Alt-Del: the guest reboots like a real OS — it
  // boots to its ready marker again while the machine stays running and the console connected.
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(status).toHaveText(/Connected/, { timeout: 60_000 });
  await expect.poll(readyCount, { timeout: 90_000 }).toBeGreaterThanOrEqual(2);
  const boots = readyCount();
  await page.getByRole('button', { name: 'Ctrl-Alt-Del' }).click();
  await expect.poll(serialLog, { timeout: 20_000, message: 'the guest took Ctrl-Alt-Del as a reboot' }).toContain('VIRTUOSO-GUEST-REBOOT');
  await expect.poll(readyCount, { timeout: 90_000, message: 'the guest booted again' }).toBe(boots + 1);
  expect(await machineState()).toBe('running');
  await expect(status).toHaveText(/Connected/);
});
