import { CONSOLE_CLOSE } from '@virtuoso/contracts';
import { quote } from '@virtuoso/domain';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Database } from '../src/common/database.service';
import { WALL_CLOCK } from '../src/common/clock';
import { nowIso } from '../src/common/time';
import { loadConfig } from '../src/config';
import { Machine } from '../src/machines/machine.entity';
import { MachineStore } from '../src/machines/machine-store.service';
import { NotificationsService } from '../src/notifications/notifications.service';
import { HostsService, pricesOf } from '../src/providers/hosts.service';
import { TestApp, Agent, startApp, uniqueHandle, virt8, win2000Pro } from './helpers';

/** `{"<field>": [[[…]]]}` nested `levels` deep in all, as raw JSON text. */
const nested = (field: string, levels: number) => `{"${field}":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;

describe('hostile request bodies', () => {
  let t: TestApp;
  let provider: Agent;
  let buyer: Agent;
  beforeAll(async () => {
    t = await startApp();
    provider = await t.signUp('provider');
    buyer = await t.signUp('buyer');
  });
  afterAll(() => t.close());

  it('answers a body nested 2,000 levels deep with a 400 on every route, public or not, and changes nothing', async () => {
    const before = await t.snapshot();
    const routes: Array<[Agent, string]> = [
      [t.anonymous(), '/api/auth/signup'],
      [t.anonymous(), '/api/auth/signin'],
      [t.anonymous(), '/api/agents/join'],
      [t.anonymous(), '/api/agents/heartbeat'],
      [provider, '/api/hosts'],
      [provider, '/api/agents/join-tokens'],
      [buyer, '/api/machines'],
      [buyer, '/api/market/search'],
      [buyer, '/api/account/top-ups'],
    ];
    for (const [client, path] of routes) {
      const response = await client.post(path).set('Content-Type', 'application/json').send(nested('email', 2000));
      expect(response.status, path).toBe(400);
      expect(response.body, path).toMatchObject({ statusCode: 400, message: 'the request body is nested more than 32 levels deep' });
    }
    expect(await t.snapshot()).toEqual(before);
  });

  it('lets a body 32 levels deep through to validation, and refuses 33', async () => {
    const within = await t.anonymous().post('/api/auth/signin').set('Content-Type', 'application/json').send(nested('handle', 32));
    expect(within.status).toBe(400);
    expect(within.body.fields).toHaveProperty('handle');
    const over = await t.anonymous().post('/api/auth/signin').set('Content-Type', 'application/json').send(nested('handle', 33));
    expect(over.status).toBe(400);
    expect(over.body.message).toMatch(/nested more than 32 levels/);
  });

  it('answers a body over the size cap with a 413 naming the limit, while a large heartbeat still gets through to its signature check', async () => {
    const before = await t.snapshot();
    const big = { handle: uniqueHandle('big'), email: 'big@example.com', password: 'x'.repeat(200 * 1024), role: 'buyer' };
    const signup = await t.anonymous().post('/api/auth/signup').send(big);
    expect(signup.status).toBe(413);
    expect(signup.body).toMatchObject({ statusCode: 413, error: 'Payload Too Large', message: 'the request body is larger than the 102400 byte limit' });
    const join = await t
      .anonymous()
      .post('/api/agents/join')
      .send({ joinToken: 'x'.repeat(200 * 1024) });
    expect(join.status).toBe(413);
    // A heartbeat of a big host (1 MB of VM states as signed text) is parsed, then refused as unsigned.
    const heartbeat = await t
      .anonymous()
      .post('/api/agents/heartbeat')
      .send({ agentId: 'h', ts: Date.now(), nonce: 'n', body: 'v'.repeat(1024 * 1024), sig: 'ab' });
    expect(heartbeat.status).toBe(401);
    expect(await t.snapshot()).toEqual(before);
  });

  it('answers a lone surrogate in the email of a sign-up with a 400 naming email, and creates no user', async () => {
    const before = await t.snapshot();
    const handle = uniqueHandle('lone');
    // Raw JSON text: "\ud800" is a valid JSON escape that decodes to half a surrogate pair.
    const response = await t
      .anonymous()
      .post('/api/auth/signup')
      .set('Content-Type', 'application/json')
      .send(`{"handle":"${handle}","email":"\\ud800@example.com","password":"correct horse","role":"buyer"}`);
    expect(response.status).toBe(400);
    expect(response.body.fields).toEqual({ email: [expect.stringMatching(/^email is not valid text/)] });
    expect(await t.snapshot()).toEqual(before);
    // A proper pair (an emoji) is text like any other: here it is refused by the email rule, not as broken text.
    const pair = await t
      .anonymous()
      .post('/api/auth/signup')
      .set('Content-Type', 'application/json')
      .send(`{"handle":"${handle}","email":"\\ud83d\\ude00@example","password":"correct horse","role":"buyer"}`);
    expect(pair.status).toBe(400);
    expect(pair.body.message).toBe('email must be a valid email address');
  });

  it('refuses a lone surrogate anywhere in a body, in keys and nested values too, naming where', async () => {
    const host = await provider.post('/api/hosts').set('Content-Type', 'application/json').send(JSON.stringify(virt8()).replace('"virt8"', '"virt\\udc00"'));
    expect(host.status).toBe(400);
    expect(host.body.fields).toHaveProperty('name');
    const join = await t
      .anonymous()
      .post('/api/agents/join')
      .set('Content-Type', 'application/json')
      .send('{"joinToken":"t","agentHost":"127.0.0.1","agentPort":7000,"consolePort":7001,"facts":{"hostname":"a\\ud800"}}');
    expect(join.status).toBe(400);
    expect(join.body.fields).toHaveProperty(['facts.hostname']);
    const key = await buyer.post('/api/machines').set('Content-Type', 'application/json').send(`{"\\ud800":1,"name":"x"}`);
    expect(key.status).toBe(400);
    expect(key.body.message).toMatch(/not valid text/);
    expect((await buyer.post('/api/machines').send(win2000Pro())).status).toBe(201);
  });
});

describe('integer query parameters', () => {
  let t: TestApp;
  let buyer: Agent;
  beforeAll(async () => {
    t = await startApp();
    buyer = await t.signUp('buyer');
  });
  afterAll(() => t.close());

  it("takes only plain decimal digits within bounds for the statement's limit and offset, naming the parameter", async () => {
    const refused: Array<[string, string]> = [
      ['offset=1e20', 'offset'],
      ['offset=9007199254740993', 'offset'],
      ['offset=10000001', 'offset'],
      ['offset=-1', 'offset'],
      ['offset=1.0', 'offset'],
      ['offset=%201', 'offset'],
      ['limit=0x10', 'limit'],
      ['limit=1e1', 'limit'],
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['limit=16&limit=17', 'limit'],
      ['limit=', 'limit'],
    ];
    for (const [query, field] of refused) {
      for (const format of ['json', 'csv']) {
        const response = await buyer.get(`/api/account/statement?${query}&format=${format}`);
        expect(response.status, query).toBe(400);
        expect(Object.keys(response.body.fields ?? {}), query).toEqual([field]);
      }
    }
    const fine = await buyer.get('/api/account/statement?limit=16&offset=0');
    expect(fine.status).toBe(200);
    expect(fine.body).toMatchObject({ limit: 16, offset: 0, total: 1 });
    expect((await buyer.get('/api/account/statement?offset=10000000')).body).toMatchObject({ offset: 10_000_000, items: [] });
  });

  it("parses the notices' limit and the market search's limit the same way", async () => {
    for (const bad of ['0x10', '1e2', '2.5', '+5']) {
      const notices = await buyer.get(`/api/notifications?limit=${encodeURIComponent(bad)}`);
      expect(notices.status, bad).toBe(400);
      expect(notices.body.fields, bad).toEqual({ limit: ['limit must be a whole number from 1 to 200'] });
      const search = await buyer
        .post(`/api/market/search?limit=${encodeURIComponent(bad)}`)
        .send({ speed: 1000, memory: 64, disk: 100, askedStoragePerMonth: '60', askedRunningPerHour: '10' });
      expect(search.status, bad).toBe(400);
      expect(search.body.fields, bad).toEqual({ limit: ['limit must be a whole number from 1 to 500'] });
    }
    expect((await buyer.get('/api/notifications?limit=16')).status).toBe(200);
  });

  it("parses query strings in DTOs: the offers' limit, true/false flags, and nothing unknown", async () => {
    const machine = (await buyer.post('/api/machines').send(win2000Pro())).body.id as string;
    const offers = await buyer.get(`/api/machines/${machine}/offers?limit=1e1`);
    expect(offers.status).toBe(400);
    expect(offers.body.fields).toEqual({ limit: ['limit must be a whole number from 1 to 500'] });
    expect((await buyer.get(`/api/machines/${machine}/offers?limit=10`)).status).toBe(200);
    const unknown = await buyer
      .post('/api/market/search?limit=5&sort=price')
      .send({ speed: 1000, memory: 64, disk: 100, askedStoragePerMonth: '60', askedRunningPerHour: '10' });
    expect(unknown.status).toBe(400);
    expect(Object.keys(unknown.body.fields)).toEqual(['sort']);
    for (const bad of ['yes', '1', 'TRUE', '']) {
      const notices = await buyer.get(`/api/notifications?unread=${bad}`);
      expect(notices.status, bad).toBe(400);
      expect(notices.body.fields, bad).toEqual({ unread: ['unread must be true or false'] });
    }
    // "false" is false (not a non-empty string taken for true): every notice, read or not.
    const buyerId = (await buyer.get('/api/auth/me')).body.id as string;
    await t.app
      .get(Database)
      .transaction((em) =>
        t.app.get(NotificationsService).notify(em, { userId: buyerId, kind: 'lowBalance', key: 'query-dto', subject: 'test', body: 'test', email: false }),
      );
    expect((await buyer.post('/api/notifications/read-all')).status).toBe(204);
    expect((await buyer.get('/api/notifications?unread=false')).body.items).toHaveLength(1);
    expect((await buyer.get('/api/notifications?unread=true')).body.items).toHaveLength(0);
    const provider = await t.signUp('provider');
    const host = (await provider.post('/api/hosts').send(virt8())).body.id as string;
    const before = await t.snapshot();
    const force = await provider.delete(`/api/hosts/${host}?force=yes`);
    expect(force.status).toBe(400);
    expect(force.body.fields).toEqual({ force: ['force must be true or false'] });
    expect(await t.snapshot()).toEqual(before);
    expect((await provider.delete(`/api/hosts/${host}?force=false`)).status).toBe(204);
  });
});

/** Smallest file the media library takes for an ISO: "CD001" where ISO 9660 puts it. */
const fakeIso = (size = 0x8010): Buffer => {
  const buffer = Buffer.alloc(size);
  buffer.write('\u0001CD001', 0x8000, 'latin1');
  return buffer;
};

describe('names refuse control characters', () => {
  let t: TestApp;
  let provider: Agent;
  let buyer: Agent;
  const forged = [
    'line\r\nBcc: x@example.com',
    'nul\u0000',
    'tab\there',
    'bell\u0007',
    'del\u007f',
    'c1\u0085',
    'gpj.\u202Eexe',
    'isolate\u2066x\u2069',
    'mark\u200F',
    'sep\u2028x',
  ];
  beforeAll(async () => {
    t = await startApp();
    provider = await t.signUp('provider');
    buyer = await t.signUp('buyer');
  });
  afterAll(() => t.close());

  const expectRefused = (response: { status: number; body: { fields?: Record<string, string[]> } }, field: string, what: string) => {
    expect(response.status, what).toBe(400);
    expect(response.body.fields?.[field], what).toContain(
      `${field} must not contain control characters (line breaks, tabs, NUL or bidirectional text controls)`,
    );
  };

  it('in host names, processors and connection speeds (nothing is added)', async () => {
    const before = await t.snapshot();
    for (const text of forged) {
      for (const field of ['name', 'processor', 'connectionSpeed'])
        expectRefused(await provider.post('/api/hosts').send(virt8({ [field]: text })), field, `${field} ${JSON.stringify(text)}`);
    }
    expect(await t.snapshot()).toEqual(before);
    expect((await provider.post('/api/hosts').send(virt8({ name: 'Zürich 東京 — rack 1' }))).status).toBe(201);
  });

  it('in machine names, processors and OS, on register and on edit', async () => {
    const machine = await buyer.post('/api/machines').send(win2000Pro());
    expect(machine.status).toBe(201);
    const before = await t.snapshot();
    for (const text of forged) {
      for (const field of ['name', 'processor', 'os']) {
        expectRefused(await buyer.post('/api/machines').send(win2000Pro({ [field]: text })), field, `register ${field} ${JSON.stringify(text)}`);
        expectRefused(await buyer.patch(`/api/machines/${machine.body.id}`).send({ [field]: text }), field, `edit ${field} ${JSON.stringify(text)}`);
      }
    }
    expect(await t.snapshot()).toEqual(before);
  });

  it('in media names, given or taken from the file name', async () => {
    const before = await t.snapshot();
    expectRefused(await buyer.post('/api/media').field('name', 'installer\u202Eosi.exe').attach('file', fakeIso(), 'x.iso'), 'name', 'given name');
    const fromFile = await buyer.post('/api/media').attach('file', fakeIso(), 'install\u202Eosi.exe');
    expect(fromFile.status).toBe(400);
    expect(Object.keys(fromFile.body.fields)).toEqual(['name']);
    expect(await t.snapshot()).toEqual(before);
    const fine = await buyer.post('/api/media').field('name', 'debian 12 netinst').attach('file', fakeIso(), 'x.iso');
    expect(fine.status).toBe(201);
  });

  it("in API token names, handles, emails and an agent's reported host name", async () => {
    const before = await t.snapshot();
    expectRefused(await buyer.post('/api/auth/tokens').send({ name: 'ci\nadmin' }), 'name', 'token name');
    expectRefused(
      await t.anonymous().post('/api/auth/signup').send({ handle: 'evil\u202E', email: 'e@example.com', password: 'correct horse', role: 'buyer' }),
      'handle',
      'handle',
    );
    expectRefused(
      await t
        .anonymous()
        .post('/api/auth/signup')
        .send({ handle: uniqueHandle('bidi'), email: 'gpj\u202E@example.com', password: 'correct horse', role: 'buyer' }),
      'email',
      'email',
    );
    const facts = { bogomips: 8000, cpus: 2, memoryMb: 2048, freeDiskMb: 20000, accelerator: 'tcg', agentVersion: '0.1.0', hostname: 'host\r\nX-Injected: 1' };
    expectRefused(
      await t.anonymous().post('/api/agents/join').send({ joinToken: 'unknown', agentHost: '127.0.0.1', agentPort: 7000, consolePort: 7001, facts }),
      'facts.hostname',
      'facts.hostname',
    );
    expect(await t.snapshot()).toEqual(before);
  });
});

describe('the statement CSV', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it("neutralises a provider's formula-like host name and a buyer's machine name, and keeps amounts as numbers", async () => {
    const provider = await t.signUp('provider');
    const buyer = await t.signUp('buyer');
    const host = await provider.post('/api/hosts').send(virt8({ name: '=HYPERLINK("x")' }));
    expect(host.status).toBe(201);
    const machine = await buyer.post('/api/machines').send(win2000Pro({ name: '@SUM(1+1)', speed: 1000, memory: 16, disk: 100 }));
    expect(machine.status).toBe(201);
    // Stored as the lifecycle does once the agent has answered (billing needs no VM): storage period 0 is charged at once.
    await t.app.get(Database).transaction(async (em) => {
      const row = await em.findOneByOrFail(Machine, { id: machine.body.id });
      const size = { speed: row.speed, memory: row.memory, disk: row.disk };
      const fixed = quote(pricesOf(await t.app.get(HostsService).reserve(em, host.body.id, size)), size);
      const { storagePrice, storageAmount, runningPrice, runningUnitAmount } = fixed;
      await t.app.get(MachineStore).write(em, row, {
        state: 'stored',
        version: 1,
        hostId: host.body.id,
        storagePrice,
        storageAmount,
        runningPrice,
        runningUnitAmount,
        storedAt: nowIso(t.app.get(WALL_CLOCK)),
      });
    });
    const csv = await buyer.get('/api/account/statement?format=csv');
    expect(csv.status).toBe(200);
    const [header, storage, fee] = csv.text.trimEnd().split('\r\n');
    expect(header).toBe('at,kind,amount,machine,host,description,key');
    const storageCells = storage.split(',');
    expect(storageCells.slice(1, 5)).toEqual(['storage', storageCells[2], "'@SUM(1+1)", `"'=HYPERLINK(""x"")"`]);
    expect(storageCells[2]).toMatch(/^-\d+\.\d+$/);
    expect(fee).toMatch(/^[^,]+,fee,-0\.05,'@SUM\(1\+1\),,/);
    // The JSON statement keeps the names as they are: only the CSV is for spreadsheets.
    expect((await buyer.get('/api/account/statement?kind=storage')).body.items[0]).toMatchObject({ machineName: '@SUM(1+1)', hostName: '=HYPERLINK("x")' });
  });
});

describe('per-user quotas', () => {
  let t: TestApp;
  const isoSize = 0x8010;
  beforeAll(async () => {
    t = await startApp({ config: { quotas: { apiTokens: 2, hosts: 2, machines: 2, mediaBytes: 2 * isoSize } } });
  });
  afterAll(() => t.close());

  it('are read from VIRTUOSO_QUOTA_*, with sensible defaults', () => {
    expect(loadConfig({}).quotas).toEqual({ apiTokens: 20, hosts: 100, machines: 100, mediaBytes: 10 * 1024 * 1024 * 1024 });
    expect(
      loadConfig({ VIRTUOSO_QUOTA_API_TOKENS: '5', VIRTUOSO_QUOTA_HOSTS: '6', VIRTUOSO_QUOTA_MACHINES: '7', VIRTUOSO_QUOTA_MEDIA_MB: '8' }).quotas,
    ).toEqual({ apiTokens: 5, hosts: 6, machines: 7, mediaBytes: 8 * 1024 * 1024 });
    expect(() => loadConfig({ VIRTUOSO_QUOTA_HOSTS: 'many' })).toThrow(/VIRTUOSO_QUOTA_HOSTS/);
  });

  it('caps API tokens per user (409 naming the quota); revoking one makes room', async () => {
    const buyer = await t.signUp('buyer');
    const first = await buyer.post('/api/auth/tokens').send({ name: 'one' });
    expect((await buyer.post('/api/auth/tokens').send({ name: 'two' })).status).toBe(201);
    const before = await t.snapshot();
    const third = await buyer.post('/api/auth/tokens').send({ name: 'three' });
    expect(third.status).toBe(409);
    expect(third.body.message).toBe('quota apiTokens reached: a user may have at most 2 API tokens; revoke one first');
    expect(await t.snapshot()).toEqual(before);
    // Per user: another user still has the whole quota.
    expect((await (await t.signUp('buyer')).post('/api/auth/tokens').send({ name: 'one' })).status).toBe(201);
    expect((await buyer.delete(`/api/auth/tokens/${first.body.id}`)).status).toBe(204);
    expect((await buyer.post('/api/auth/tokens').send({ name: 'three' })).status).toBe(201);
  });

  it('caps hosts per provider and machines per buyer (deleted machines do not count)', async () => {
    const provider = await t.signUp('provider');
    expect((await provider.post('/api/hosts').send(virt8({ name: 'h1' }))).status).toBe(201);
    expect((await provider.post('/api/hosts').send(virt8({ name: 'h2' }))).status).toBe(201);
    const host = await provider.post('/api/hosts').send(virt8({ name: 'h3' }));
    expect(host.status).toBe(409);
    expect(host.body.message).toBe('quota hosts reached: a user may have at most 2 hosts; delete one first');

    const buyer = await t.signUp('buyer');
    const first = await buyer.post('/api/machines').send(win2000Pro());
    expect((await buyer.post('/api/machines').send(win2000Pro())).status).toBe(201);
    const before = await t.snapshot();
    const third = await buyer.post('/api/machines').send(win2000Pro());
    expect(third.status).toBe(409);
    expect(third.body.message).toBe('quota machines reached: a user may have at most 2 machines (deleted ones do not count); delete one first');
    // Refused before the registration fee: nothing charged.
    expect(await t.snapshot()).toEqual(before);
    expect((await buyer.delete(`/api/machines/${first.body.id}`)).status).toBe(204);
    expect((await buyer.post('/api/machines').send(win2000Pro())).status).toBe(201);
  });

  it("caps the bytes of a buyer's media library (413 naming the quota, the file not kept)", async () => {
    const buyer = await t.signUp('buyer');
    expect((await buyer.post('/api/media').attach('file', fakeIso(isoSize), 'a.iso')).status).toBe(201);
    const before = await t.snapshot();
    const over = await buyer.post('/api/media').attach('file', fakeIso(isoSize + 1), 'b.iso');
    expect(over.status).toBe(413);
    expect(over.body.message).toMatch(/^quota mediaBytes reached: a media library may hold at most 1 MB/);
    expect(over.body.fields).toHaveProperty('file');
    expect(await t.snapshot()).toEqual(before);
    expect(readdirSync(join(t.dir, 'media')).filter((name) => name.endsWith('.iso'))).toHaveLength(1);
    expect((await buyer.post('/api/media').attach('file', fakeIso(isoSize), 'c.iso')).status).toBe(201);
  });
});

describe('security headers and request timeouts', () => {
  let t: TestApp;
  let web: string;
  beforeAll(async () => {
    web = mkdtempSync(join(tmpdir(), 'virtuoso-web-'));
    writeFileSync(join(web, 'index.html'), '<!doctype html><title>Virtuoso SPA</title>');
    t = await startApp({ listen: true, config: { webDir: web, requestTimeoutMs: 1000 } });
  });
  afterAll(async () => {
    await t.close();
    rmSync(web, { recursive: true, force: true });
  });

  it("sends helmet's headers on the SPA, the API and swagger-ui, with a CSP the SPA, its console websocket and swagger-ui live with", async () => {
    for (const path of ['/', '/machines/1/console', '/api/health', '/api/docs/', '/api/no/such/route']) {
      const response = await t.anonymous().get(path);
      expect(response.headers['x-content-type-options'], path).toBe('nosniff');
      expect(response.headers['x-frame-options'], path).toBe('DENY');
      expect(response.headers['referrer-policy'], path).toBe('same-origin');
      const csp = Object.fromEntries(
        (response.headers['content-security-policy'] as string).split(';').map((directive) => {
          const [name, ...values] = directive.trim().split(/\s+/);
          return [name, values];
        }),
      );
      expect(csp, path).toMatchObject({
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'connect-src': ["'self'"],
        'img-src': ["'self'", 'data:', 'blob:'],
        'style-src': ["'self'", "'unsafe-inline'"],
        'frame-ancestors': ["'none'"],
        'object-src': ["'none'"],
      });
      // Plain HTTP (VIRTUOSO_COOKIE_SECURE off): no HSTS, no upgrade to an https:// that is not there.
      expect(csp, path).not.toHaveProperty('upgrade-insecure-requests');
      expect(response.headers['strict-transport-security'], path).toBeUndefined();
    }
  });

  it('still serves swagger-ui: its page loads only scripts of this origin, which load', async () => {
    const page = await t.anonymous().get('/api/docs/');
    expect(page.status).toBe(200);
    const scripts = [...page.text.matchAll(/<script[^>]*src=["']([^"']+)["']/g)].map((match) => match[1]);
    expect(scripts.length).toBeGreaterThan(0);
    expect(page.text).not.toMatch(/<script>(?!\s*<\/script>)/); // no inline script the CSP would block
    for (const script of scripts) {
      expect(script).not.toMatch(/^(https?:)?\/\//);
      const asset = await t.anonymous().get(new URL(script, `${t.url}/api/docs/`).pathname);
      expect(asset.status, script).toBe(200);
    }
    expect((await t.anonymous().get('/api/docs-json')).body.info.title).toBe('Virtuoso API');
  });

  it('still upgrades the console websocket (a client without a session is then refused with a console close code)', async () => {
    const ws = new WebSocket(`${t.url.replace(/^http/, 'ws')}/api/console/ws?token=nonsense`, ['binary']);
    const opened = new Promise<boolean>((done) => ws.on('open', () => done(true)));
    const closed = await new Promise<number>((done) => ws.on('close', (code) => done(code)));
    expect(await opened).toBe(true);
    expect(Object.values(CONSOLE_CLOSE)).toContain(closed);
  });

  it('answers 408 to a client that does not send its whole request within VIRTUOSO_REQUEST_TIMEOUT_SECONDS', async () => {
    expect(loadConfig({}).requestTimeoutMs).toBe(600_000);
    expect(loadConfig({ VIRTUOSO_REQUEST_TIMEOUT_SECONDS: '30' }).requestTimeoutMs).toBe(30_000);
    const before = await t.snapshot();
    const { port } = new URL(t.url);
    const answer = await new Promise<string>((done, fail) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write('POST /api/auth/signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"handle":');
      });
      let text = '';
      socket.on('data', (data) => (text += data.toString()));
      socket.on('close', () => done(text));
      socket.on('error', fail);
    });
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
    expect(await t.snapshot()).toEqual(before);
  });
});
