import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from './agent-process';
import { Database } from '../src/common/database.service';
import { NotificationsService } from '../src/notifications/notifications.service';
import { Agent, TestApp, startApp, virt8, win2000Pro } from './helpers';

type Owned = 'host' | 'machine' | 'token' | 'media' | 'joinToken' | 'notification' | 'session' | 'sshKey';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
interface Route {
  method: Method;
  path: string;
  /** Who may call it: anyone, any signed-in user, one role, or a joined provider agent (a signed envelope; 401 otherwise). */
  access: 'public' | 'signed-in' | 'buyer' | 'provider' | 'operator' | 'agent';
  body?: object;
  /** For routes on one resource: the owner's resource id is substituted for :id. */
  owned?: Owned;
}

/** A public key line (ssh-keygen -t ed25519) for the ssh key routes. */
const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ9B/sI4q3vobfFia2lPkbLn8gAaCBkjvyvH9oYIwXqo me@laptop';

/** Every operation of the API. The last test checks this list against the OpenAPI document. */
const ROUTES: Route[] = [
  { method: 'get', path: '/api/health', access: 'public' },
  { method: 'get', path: '/api/health/ready', access: 'public' },
  { method: 'get', path: '/api/operator/overview', access: 'operator' },
  { method: 'get', path: '/api/metrics', access: 'operator' },
  { method: 'get', path: '/api/catalog', access: 'public' },
  { method: 'post', path: '/api/auth/signup', access: 'public' },
  { method: 'post', path: '/api/auth/signin', access: 'public' },
  { method: 'post', path: '/api/auth/signout', access: 'public' },
  { method: 'get', path: '/api/auth/me', access: 'signed-in' },
  { method: 'get', path: '/api/auth/tokens', access: 'signed-in' },
  { method: 'post', path: '/api/auth/tokens', access: 'signed-in', body: { name: 'x' } },
  { method: 'delete', path: '/api/auth/tokens/:id', access: 'signed-in', owned: 'token' },
  { method: 'get', path: '/api/auth/sessions', access: 'signed-in' },
  { method: 'delete', path: '/api/auth/sessions/:id', access: 'signed-in', owned: 'session' },
  { method: 'get', path: '/api/market/hosts', access: 'signed-in' },
  { method: 'post', path: '/api/market/search', access: 'buyer', body: win2000Pro() },
  {
    method: 'post',
    path: '/api/market/search/explain',
    access: 'buyer',
    body: { speed: 4000, memory: 256, disk: 1000, askedStoragePerMonth: '60', askedRunningPerHour: '10.11' },
  },
  { method: 'get', path: '/api/hosts', access: 'provider' },
  { method: 'post', path: '/api/hosts', access: 'provider', body: virt8({ name: 'another' }) },
  { method: 'get', path: '/api/hosts/:id', access: 'provider', owned: 'host' },
  { method: 'patch', path: '/api/hosts/:id', access: 'provider', owned: 'host', body: { speedUnitPrice: '0.00002' } },
  { method: 'delete', path: '/api/hosts/:id', access: 'provider', owned: 'host' },
  { method: 'delete', path: '/api/hosts/:id/agent', access: 'provider', owned: 'host' },
  { method: 'get', path: '/api/machines', access: 'buyer' },
  { method: 'post', path: '/api/machines', access: 'buyer', body: win2000Pro() },
  { method: 'get', path: '/api/machines/:id', access: 'buyer', owned: 'machine' },
  { method: 'patch', path: '/api/machines/:id', access: 'buyer', owned: 'machine', body: { memory: 128 } },
  { method: 'delete', path: '/api/machines/:id', access: 'buyer', owned: 'machine' },
  { method: 'get', path: '/api/machines/:id/offers', access: 'buyer', owned: 'machine' },
  { method: 'get', path: '/api/machines/:id/offers/explain', access: 'buyer', owned: 'machine' },
  { method: 'post', path: '/api/machines/:id/store', access: 'buyer', owned: 'machine', body: { hostId: '00000000-0000-4000-8000-000000000000' } },
  { method: 'post', path: '/api/machines/:id/start', access: 'buyer', owned: 'machine' },
  { method: 'post', path: '/api/machines/:id/stop', access: 'buyer', owned: 'machine' },
  { method: 'post', path: '/api/machines/:id/reboot', access: 'buyer', owned: 'machine' },
  { method: 'post', path: '/api/machines/:id/reset', access: 'buyer', owned: 'machine' },
  { method: 'post', path: '/api/machines/:id/suspend', access: 'buyer', owned: 'machine' },
  { method: 'post', path: '/api/machines/:id/resume', access: 'buyer', owned: 'machine' },
  { method: 'post', path: '/api/machines/:id/media', access: 'buyer', owned: 'machine', body: { mediaId: '00000000-0000-4000-8000-000000000000' } },
  { method: 'delete', path: '/api/machines/:id/media', access: 'buyer', owned: 'machine' },
  { method: 'post', path: '/api/machines/:id/console', access: 'buyer', owned: 'machine' },
  { method: 'post', path: '/api/machines/:id/keys', access: 'buyer', owned: 'machine', body: { keys: ['ctrl', 'alt', 'delete'] } },
  { method: 'get', path: '/api/machines/:id/migration-offers', access: 'buyer', owned: 'machine' },
  {
    method: 'post',
    path: '/api/machines/:id/migrate',
    access: 'buyer',
    owned: 'machine',
    body: { hostId: '00000000-0000-4000-8000-000000000000', method: 'RSYNC' },
  },
  { method: 'get', path: '/api/machines/:id/migration', access: 'buyer', owned: 'machine' },
  { method: 'get', path: '/api/machines/:id/migrations', access: 'buyer', owned: 'machine' },
  { method: 'post', path: '/api/machines/:id/migration/cancel', access: 'buyer', owned: 'machine' },
  { method: 'get', path: '/api/media', access: 'buyer' },
  { method: 'post', path: '/api/media', access: 'buyer' },
  { method: 'delete', path: '/api/media/:id', access: 'buyer', owned: 'media' },
  { method: 'get', path: '/api/agents', access: 'provider' },
  { method: 'post', path: '/api/agents/join-tokens', access: 'provider', body: {} },
  { method: 'get', path: '/api/agents/join-tokens/:id', access: 'provider', owned: 'joinToken' },
  { method: 'post', path: '/api/agents/join', access: 'public' },
  { method: 'post', path: '/api/agents/heartbeat', access: 'agent', body: { agentId: 'x', facts: {}, vms: [], events: [] } },
  {
    method: 'post',
    path: '/api/agents/migrations',
    access: 'agent',
    body: { agentId: 'x', migrationId: '00000000-0000-4000-8000-000000000000', vmmp: '<VMMP 1.0 HEARTBEAT x>' },
  },
  { method: 'get', path: '/api/agents/images/:name', access: 'agent' },
  { method: 'get', path: '/api/agents/media/:id', access: 'agent', owned: 'media' },
  { method: 'get', path: '/api/account/buyer', access: 'buyer' },
  { method: 'post', path: '/api/account/top-ups', access: 'buyer', body: { amount: '1' } },
  { method: 'get', path: '/api/account/provider', access: 'provider' },
  { method: 'get', path: '/api/account/statement', access: 'signed-in' },
  { method: 'get', path: '/api/account/events', access: 'signed-in' },
  { method: 'get', path: '/api/notifications', access: 'signed-in' },
  { method: 'post', path: '/api/notifications/read-all', access: 'signed-in' },
  { method: 'post', path: '/api/notifications/:id/read', access: 'signed-in', owned: 'notification' },
  { method: 'get', path: '/api/catalog/:id/price-history', access: 'public' },
  { method: 'get', path: '/api/market/price-history', access: 'signed-in' },
  { method: 'get', path: '/api/account/ssh-keys', access: 'buyer' },
  { method: 'post', path: '/api/account/ssh-keys', access: 'buyer', body: { name: 'k', publicKey: SSH_KEY } },
  { method: 'delete', path: '/api/account/ssh-keys/:id', access: 'buyer', owned: 'sshKey' },
  { method: 'get', path: '/api/machines/:id/network', access: 'buyer', owned: 'machine' },
  { method: 'put', path: '/api/machines/:id/network/ports', access: 'buyer', owned: 'machine', body: { ports: [80] } },
  { method: 'get', path: '/api/network', access: 'buyer' },
  { method: 'get', path: '/api/network/join.sh', access: 'buyer' },
  { method: 'get', path: '/api/machines/:id/events', access: 'buyer', owned: 'machine' },
  { method: 'get', path: '/api/hosts/:id/events', access: 'provider', owned: 'host' },
  { method: 'get', path: '/api/operator/events', access: 'operator' },
];

const label = (route: Route) => `${route.method.toUpperCase()} ${route.path}`;

describe('authorisation of every endpoint', () => {
  let t: TestApp;
  let buyer: Agent;
  let provider: Agent;
  const ids: Record<Owned, string> = { host: '', machine: '', token: '', media: '', joinToken: '', notification: '', session: '', sshKey: '' };

  beforeAll(async () => {
    t = await startApp();
    buyer = await t.signUp('buyer');
    provider = await t.signUp('provider');
    ids.host = (await provider.post('/api/hosts').send(virt8())).body.id;
    ids.machine = (await buyer.post('/api/machines').send(win2000Pro())).body.id;
    ids.token = (await buyer.post('/api/auth/tokens').send({ name: 'mine' })).body.id;
    ids.media = (await buyer.post('/api/media').attach('file', join(REPO, '.cache', 'guest-image', 'tiny-linux.iso'))).body.id;
    ids.joinToken = (await provider.post('/api/agents/join-tokens').send({})).body.id;
    const buyerId = (await buyer.get('/api/auth/me')).body.id as string;
    await t.app
      .get(Database)
      .transaction((em) =>
        t.app.get(NotificationsService).notify(em, { userId: buyerId, kind: 'lowBalance', key: 'test', subject: 'test', body: 'test', email: false }),
      );
    ids.notification = (await buyer.get('/api/notifications')).body.items[0].id;
    ids.session = (await buyer.get('/api/auth/sessions')).body[0].id;
    ids.sshKey = (await buyer.post('/api/account/ssh-keys').send({ name: 'mine', publicKey: SSH_KEY })).body.id;
  });
  afterAll(() => t.close());

  const call = (agent: Agent, route: Route, id?: string) => {
    const path = route.path.replace(':id', id ?? ids[route.owned ?? 'host']).replace(':name', 'tiny-linux.qcow2');
    const pending = agent[route.method](path);
    return route.body ? pending.send(route.body) : pending;
  };

  it('answers 401 to every non-public route without a session, changing nothing', async () => {
    const before = await t.snapshot();
    for (const route of ROUTES.filter((r) => r.access !== 'public')) {
      const response = await call(t.anonymous(), route);
      expect(response.status, label(route)).toBe(401);
      expect(response.body, label(route)).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    }
    // An unknown session cookie or a malformed bearer is the same as none.
    expect((await t.anonymous().get('/api/auth/me').set('Cookie', 'virtuoso_session=forged')).status).toBe(401);
    expect((await t.anonymous().get('/api/auth/me').set('Authorization', 'Bearer nonsense')).status).toBe(401);
    expect(await t.snapshot()).toEqual(before);
  });

  it('answers 403 to every route of the other role, changing nothing', async () => {
    const before = await t.snapshot();
    for (const route of ROUTES.filter((r) => r.access === 'buyer' || r.access === 'provider')) {
      const wrong = route.access === 'buyer' ? provider : buyer;
      const response = await call(wrong, route);
      expect(response.status, label(route)).toBe(403);
      expect(response.body.message, label(route)).toBe(route.access === 'buyer' ? 'this action is for buyers' : 'this action is for providers');
    }
    // Operators' routes: for neither buyers nor providers.
    for (const route of ROUTES.filter((r) => r.access === 'operator')) {
      for (const wrong of [buyer, provider]) {
        const response = await call(wrong, route);
        expect(response.status, label(route)).toBe(403);
        expect(response.body.message, label(route)).toBe('this action is for operators');
      }
    }
    expect(await t.snapshot()).toEqual(before);
  });

  it("answers 404 for another user's host, machine or token, changing nothing", async () => {
    const otherBuyer = await t.signUp('buyer');
    const otherProvider = await t.signUp('provider');
    const before = await t.snapshot();
    for (const route of ROUTES.filter((r) => r.owned && r.access !== 'agent')) {
      const stranger = route.access === 'provider' ? otherProvider : otherBuyer;
      const response = await call(stranger, route);
      expect(response.status, label(route)).toBe(404);
      expect(response.body.message, label(route)).toMatch(/not found/);
    }
    // And for ids that do not exist at all.
    expect((await buyer.get(`/api/machines/${randomUUID()}`)).status).toBe(404);
    expect((await provider.get(`/api/hosts/${randomUUID()}`)).status).toBe(404);
    expect(await t.snapshot()).toEqual(before);
  });

  it('answers 400 naming the parameter to every path id that is not a UUID, changing nothing', async () => {
    const before = await t.snapshot();
    const routes = ROUTES.filter((r) => r.path.includes(':id') && r.access !== 'agent');
    expect(routes.length).toBeGreaterThan(20);
    for (const route of routes) {
      const caller = route.access === 'provider' || (route.access === 'signed-in' && route.owned === 'joinToken') ? provider : buyer;
      for (const id of ['no-such-id', '1', `${ids.machine}x`, "1' OR '1'='1"]) {
        const response = await call(caller, route, encodeURIComponent(id));
        expect(response.status, `${label(route)} with ${id}`).toBe(400);
        expect(response.body, label(route)).toMatchObject({ statusCode: 400, message: 'id must be a UUID', fields: { id: ['id must be a UUID'] } });
      }
    }
    expect(await t.snapshot()).toEqual(before);
  });

  it('lets the public routes through without a session', async () => {
    expect((await t.anonymous().get('/api/health')).body).toEqual({ status: 'ok', replica: expect.any(String), leader: false });
    expect((await t.anonymous().get('/api/catalog')).status).toBe(200);
    expect((await t.anonymous().post('/api/auth/signout')).status).toBe(204);
  });

  it('lists every operation of the OpenAPI document', async () => {
    const document = (await t.anonymous().get('/api/docs-json')).body as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(document.paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`))
      .sort();
    expect(ROUTES.map(label).sort()).toEqual(documented);
  });
});
