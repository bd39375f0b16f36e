import { expect, test, type Locator, type Page } from '@playwright/test';
import type { ApiClient } from '@virtuoso/api-client';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, type TestAgent } from '../support/agent';
import { addAgentHost, browserApi, registerTinyLinux, signUpApi, stopIfRunning } from '../support/market';

// Guest networking in the SPA (docs/ARCHITECTURE.md §11), against the real API: the account page's
// ssh keys (add, fingerprint as ssh-keygen prints it, the API's message for a bad key, remove), the
// machine page's Network panel (address, forwarded ports, the ssh command while running, extra
// ports, the network's members, joining one's own computer, the notice without a key) and the
// provider's host page (public host, port range, ports in use, outbound policy), at 1280 px and on
// a 390 px phone.
const run = Date.now().toString(36);
const password = 'network-password-1';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let agent: TestAgent | null = null;
let buyerApi: ApiClient | null = null;
let machineId = '';
let peerId = '';
const keyDir = mkdtempSync(join(tmpdir(), 'virtuoso-e2e-keys-'));

test.afterAll(async () => {
  await stopIfRunning(buyerApi, machineId);
  await stopIfRunning(buyerApi, peerId);
  await agent?.stop();
  rmSync(keyDir, { recursive: true, force: true });
});

async function signUp(page: Page, who: string, role: 'buyer' | 'provider') {
  const user = { handle: `${who}-${run}`, email: `${who}-${run}@example.com`, password };
  const response = await page.request.post('/api/auth/signup', { data: { ...user, role } });
  expect(response.status(), await response.text()).toBe(201);
  return user;
}

/** A new ed25519 key pair made by ssh-keygen: its public line and the fingerprint ssh-keygen -l prints. */
function newPublicKey(name: string): { line: string; fingerprint: string } {
  const file = join(keyDir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@e2e`, '-f', file]);
  const line = readFileSync(`${file}.pub`, 'utf8').trim();
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1];
  return { line, fingerprint };
}

/** The element lies within the window, left to right: nothing to scroll to see it. */
async function expectWithinWidth(locator: Locator, width: number) {
  await expect(locator).toBeVisible();
  const box = (await locator.boundingBox())!;
  expect(box.x, `${await locator.innerText()} starts on screen`).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width, `${await locator.innerText()} ends on screen`).toBeLessThanOrEqual(width);
}

test('the account page adds an ssh key with its fingerprint, shows the API’s message for a bad or repeated key, and removes it', async ({ page, baseURL }) => {
  await page.setViewportSize(DESKTOP);
  await signUp(page, 'nkeys', 'buyer');
  const laptop = newPublicKey('laptop');
  await page.goto('/account');
  const section = page.getByRole('region', { name: 'SSH keys' });
  await expect(section.getByText('No ssh keys yet')).toBeVisible();

  // A bad key: the API's message, under the field, and nothing added.
  await section.getByLabel('Key name').fill('broken');
  await section.getByLabel('Public key').fill('ssh-ed25519 this-is-not-base64!');
  await section.getByRole('button', { name: 'Add key' }).click();
  await expect(section.locator('.field__errors')).toContainText('Public key must be one OpenSSH public key line');
  await expect(section.getByRole('table', { name: 'Your ssh keys' })).toHaveCount(0);

  // A real key: listed with its type and the fingerprint ssh-keygen prints.
  await section.getByLabel('Public key').fill(`${laptop.line}\n`);
  await section.getByLabel('Key name').fill('laptop');
  await section.getByRole('button', { name: 'Add key' }).click();
  await expect(section.getByRole('status')).toContainText(laptop.fingerprint);
  const row = section.getByRole('row', { name: /laptop/ });
  await expect(row.locator('td[data-label="Type"]')).toHaveText('ssh-ed25519');
  await expect(row.locator('td[data-label="Fingerprint"]')).toHaveText(laptop.fingerprint);
  await expect(section.getByLabel('Public key')).toHaveValue('');

  // The same key again: the API's conflict, shown above the form.
  await section.getByLabel('Key name').fill('laptop again');
  await section.getByLabel('Public key').fill(laptop.line);
  await section.getByRole('button', { name: 'Add key' }).click();
  await expect(section.getByRole('alert')).toContainText(`this key is already on your account as "laptop" (${laptop.fingerprint})`);
  await expect(section.locator('.field__errors')).toContainText('Public key is already on your account');
  await expect(section.getByRole('row', { name: /laptop again/ })).toHaveCount(0);

  // On a phone the key's row fits the screen: the fingerprint wraps instead of running off.
  await page.setViewportSize(PHONE);
  await expectWithinWidth(row.locator('td[data-label="Fingerprint"]'), PHONE.width);
  await expectWithinWidth(section.getByRole('button', { name: 'Add key' }), PHONE.width);
  await page.screenshot({ path: test.info().outputPath('account-ssh-keys-phone.png'), fullPage: true });
  await page.setViewportSize(DESKTOP);

  // Remove: gone from the list, and from the API.
  await row.getByRole('button', { name: 'Remove laptop' }).click();
  await expect(section.getByText('No ssh keys yet')).toBeVisible();
  const api = await browserApi(page, baseURL!);
  const { data: left } = await api.GET('/api/account/ssh-keys');
  expect(left).toEqual([]);
});

test('a machine’s page shows its network: address, forwarded ports and the ssh command while it runs, the members linking to their pages, joining a computer; the host page its port range', async ({
  page,
  browser,
  baseURL,
}) => {
  test.setTimeout(300_000);
  const base = baseURL!;
  const providerUser = { handle: `nprov-${run}`, email: `nprov-${run}@example.com`, password };
  const providerApi = await signUpApi(base, providerUser, 'provider');
  const hostName = `net-host-${run}`;
  // With a transfer sshd the host can be the network's hub, which the join script plugs into.
  const added = await addAgentHost(base, providerApi, hostName, 3600, { sshPort: await freePort() });
  agent = added.agent;

  await page.setViewportSize(DESKTOP);
  await signUp(page, 'nbuyer', 'buyer');
  buyerApi = await browserApi(page, base);
  const name = `net-vm-${run}`;
  const registered = await registerTinyLinux(buyerApi, name);
  machineId = registered.id;
  const { error: storeError } = await buyerApi.POST('/api/machines/{id}/store', {
    params: { path: { id: machineId } },
    headers: { 'If-Match': registered.etag },
    body: { hostId: added.host.id },
  });
  expect(storeError, JSON.stringify(storeError)).toBeUndefined();

  // Stored, not running, no ssh key: the panel says where the ssh command will be, and how to get a key.
  await page.goto(`/machines/${machineId}`);
  const panel = page.getByRole('region', { name: 'Network' });
  await expect(panel.getByTestId('ssh-note')).toContainText('The ssh command appears here when the machine runs');
  await expect(panel.getByText('You have no ssh key')).toBeVisible();
  await expect(panel.getByRole('link', { name: 'Add your public key on your account page' })).toHaveAttribute('href', '/account#ssh-keys');
  const { data: stored } = await buyerApi.GET('/api/machines/{id}/network', { params: { path: { id: machineId } } });
  expect(stored!.subnet).toMatch(/^10\.\d+\.\d+\.0\/24$/);
  const details = panel.locator('dl').first();
  await expect(details).toContainText(stored!.mac);
  await expect(details).toContainText(stored!.subnet);

  // Extra forwarded ports: 22 is refused before sending (always forwarded), 80 and 443 are kept.
  const ports = panel.getByRole('form', { name: 'Extra forwarded ports' });
  await ports.getByLabel('Extra forwarded ports').fill('80, 22');
  await ports.getByRole('button', { name: 'Save ports' }).click();
  await expect(ports.locator('.field__errors')).toContainText('ssh (22) is always forwarded');
  await ports.getByLabel('Extra forwarded ports').fill('80, 443');
  await ports.getByRole('button', { name: 'Save ports' }).click();
  await expect(ports.getByRole('status')).toContainText('22, 80, 443');
  const forwarded = panel.getByRole('table', { name: 'Forwarded ports' });
  await expect(forwarded.getByRole('row')).toHaveCount(4);
  await expect(forwarded.getByRole('row', { name: /443/ })).toContainText('when running');
  const { data: saved } = await buyerApi.GET('/api/machines/{id}/network', { params: { path: { id: machineId } } });
  expect(saved!.forwardPorts).toEqual([22, 80, 443]);

  // A key, then Start: the machine gets an address, ports on the provider, and the ssh command.
  const key = newPublicKey('desk');
  const { error: keyError } = await buyerApi.POST('/api/account/ssh-keys', { body: { name: 'desk', publicKey: key.line } });
  expect(keyError, JSON.stringify(keyError)).toBeUndefined();
  await page.reload();
  await expect(panel.getByText('You have no ssh key')).toHaveCount(0);
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  const sshCommand = panel.getByLabel('ssh command');
  await expect(sshCommand).toHaveText(/^ssh -p \d+ root@\S+$/, { timeout: 90_000 });
  const { data: net } = await buyerApi.GET('/api/machines/{id}/network', { params: { path: { id: machineId } } });
  const ssh = net!.forwards.find((f) => f.guestPort === 22)!;
  expect(net!.privateAddress).toMatch(/^10\.\d+\.\d+\.\d+$/);
  await expect(sshCommand).toHaveText(`ssh -p ${ssh.hostPort} root@${net!.publicHost}`);
  await expect(panel.getByTestId('private-address')).toHaveText(net!.privateAddress!);
  await expect(forwarded.getByRole('row', { name: /22 \(ssh\)/ })).toContainText(`${net!.publicHost}:${ssh.hostPort}`);
  const http = net!.forwards.find((f) => f.guestPort === 80)!;
  await expect(forwarded.getByRole('row', { name: /^80 / })).toContainText(`${net!.publicHost}:${http.hostPort}`);

  // The network's members: this machine with its address and host.
  const members = panel.getByRole('table', { name: 'Machines on your network' });
  const me = members.getByRole('row', { name: new RegExp(name) });
  await expect(me).toContainText('(this machine)');
  await expect(me.locator('td[data-label="Address"]')).toHaveText(net!.privateAddress!);
  await expect(me.locator('td[data-label="Host"]')).toHaveText(hostName);

  // Join your computer: the script's download and the one command, for the chosen device address.
  await panel.getByText('Join your computer').click();
  const { data: network } = await buyerApi.GET('/api/network');
  await expect(panel.getByLabel('Which computer')).toContainText(network!.deviceAddresses[0]);
  await expect(panel.getByRole('link', { name: 'Download join.sh' })).toHaveAttribute('href', '/api/network/join.sh?device=1');
  await panel.getByLabel('Which computer').selectOption('2');
  await expect(panel.getByRole('link', { name: 'Download join.sh' })).toHaveAttribute('href', '/api/network/join.sh?device=2');
  await expect(panel.getByLabel('Join command')).toContainText(`${base}/api/network/join.sh?device=2' | sudo bash`);
  const script = await page.request.get('/api/network/join.sh?device=2');
  expect(script.status(), await script.text()).toBe(200);
  expect(await script.text()).toContain(network!.deviceAddresses[1]);

  // On a phone the ssh command and the members fit the screen.
  await page.setViewportSize(PHONE);
  await expectWithinWidth(sshCommand, PHONE.width);
  await expectWithinWidth(panel.getByRole('button', { name: 'Copy' }).first(), PHONE.width);
  await expectWithinWidth(me.locator('td[data-label="Address"]'), PHONE.width);
  await page.screenshot({ path: test.info().outputPath('machine-network-phone.png'), fullPage: true });
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: test.info().outputPath('machine-network-desktop.png'), fullPage: true });

  // The provider's host page: public host, port range, ports in use (ssh and 80, 443), outbound.
  const providerPage = await browser.newPage({ viewport: DESKTOP, baseURL: base });
  const signIn = await providerPage.request.post('/api/auth/signin', { data: { handle: providerUser.handle, password } });
  expect(signIn.status(), await signIn.text()).toBeLessThan(300);
  await expect
    .poll(async () => (await providerApi.GET('/api/hosts/{id}', { params: { path: { id: added.host.id } } })).data?.network?.portsInUse, { timeout: 30_000 })
    .toBe(3);
  const { data: host } = await providerApi.GET('/api/hosts/{id}', { params: { path: { id: added.host.id } } });
  const facts = host!.network!;
  await providerPage.goto(`/hosts/${added.host.id}/edit`);
  const section = providerPage.getByRole('region', { name: 'Guest network' });
  await expect(section).toContainText(facts.publicHost);
  await expect(section).toContainText(`${facts.portRange.first}–${facts.portRange.last}`);
  await expect(section).toContainText(`3 of ${facts.portRange.last - facts.portRange.first + 1}`);
  await expect(section).toContainText(facts.outbound === 'allow' ? "allow (NAT'ed through this host)" : 'none');
  await providerPage.goto('/hosts');
  await expect(providerPage.getByRole('row', { name: new RegExp(hostName) }).getByTestId('host-network')).toContainText(
    `ports ${facts.portRange.first}–${facts.portRange.last} (3 in use) · outbound ${facts.outbound}`,
  );
  await providerPage.setViewportSize(PHONE);
  await providerPage.goto(`/hosts/${added.host.id}/edit`);
  await expectWithinWidth(providerPage.getByRole('region', { name: 'Guest network' }).locator('dl'), PHONE.width);
  await providerPage.screenshot({ path: test.info().outputPath('host-network-phone.png'), fullPage: true });
  await providerPage.close();

  // A second machine, started once: a member of the network with its own address, linking to its page.
  const peerName = `net-peer-${run}`;
  const peer = await registerTinyLinux(buyerApi, peerName);
  peerId = peer.id;
  const { data: storedPeer, error: peerStoreError } = await buyerApi.POST('/api/machines/{id}/store', {
    params: { path: { id: peerId } },
    headers: { 'If-Match': peer.etag },
    body: { hostId: added.host.id },
  });
  expect(peerStoreError, JSON.stringify(peerStoreError)).toBeUndefined();
  const { error: peerStartError } = await buyerApi.POST('/api/machines/{id}/start', {
    params: { path: { id: peerId } },
    headers: { 'If-Match': storedPeer!.etag },
    body: {},
  });
  expect(peerStartError, JSON.stringify(peerStartError)).toBeUndefined();
  await expect
    .poll(async () => (await buyerApi!.GET('/api/machines/{id}', { params: { path: { id: peerId } } })).data?.state, { timeout: 90_000 })
    .toBe('running');
  const { data: peerNet } = await buyerApi.GET('/api/machines/{id}/network', { params: { path: { id: peerId } } });
  expect(peerNet!.privateAddress).not.toBe(net!.privateAddress);
  await page.goto(`/machines/${machineId}`);
  const peerRow = members.getByRole('row', { name: new RegExp(peerName) });
  await expect(peerRow.locator('td[data-label="Address"]')).toHaveText(peerNet!.privateAddress!);
  await expect(peerRow.locator('td[data-label="State"]')).toHaveText('running');
  await peerRow.getByRole('link', { name: peerName }).click();
  await expect(page).toHaveURL(new RegExp(`/machines/${peerId}$`));
  await expect(page.getByRole('heading', { name: peerName, level: 1 })).toBeVisible();
  await expect(panel.getByTestId('private-address')).toHaveText(peerNet!.privateAddress!);
  await expect(members.getByRole('row', { name: new RegExp(name) }).getByRole('link', { name })).toHaveAttribute('href', `/machines/${machineId}`);

  // Stopped: its ports are released, so no ssh command; it keeps its address.
  await expect(panel.getByLabel('ssh command')).toBeVisible();
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await expect(panel.getByTestId('ssh-note')).toContainText('The ssh command appears here when the machine runs', { timeout: 60_000 });
  await expect(panel.getByLabel('ssh command')).toHaveCount(0);
  await expect(forwarded.getByRole('row', { name: /22 \(ssh\)/ })).toContainText('when running');
  await expect(panel.getByTestId('private-address')).toHaveText(peerNet!.privateAddress!);
});
