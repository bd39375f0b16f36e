import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app';
import { Daemons } from '../src/common/daemons';
import { ConfigError, loadConfig } from '../src/config';
import { buildOpenApiDocument } from '../src/openapi';
import { toYaml } from '../src/openapi-export';
import { TestApp, startApp } from './helpers';

describe('configuration', () => {
  it('applies the defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      marketIntervalSeconds: 60,
      registrationFee: '0.05',
      signinMaxFailures: 5,
      signinWindowSeconds: 300,
      seedDemo: true,
      cookieSecure: false,
      bcryptCost: 10,
    });
    expect(config.dbPath).toBe(join(config.dataDir, 'virtuoso.sqlite'));
  });

  it('reads the variables, and :memory: as the database', () => {
    const config = loadConfig({
      VIRTUOSO_PORT: '9000',
      VIRTUOSO_DB_PATH: ':memory:',
      VIRTUOSO_REGISTRATION_FEE: '1e-2',
      VIRTUOSO_SEED_DEMO: 'false',
      VIRTUOSO_COOKIE_SECURE: 'yes',
    });
    expect(config).toMatchObject({ port: 9000, dbPath: ':memory:', registrationFee: '0.01', seedDemo: false, cookieSecure: true });
  });

  it('reads the agent, console and media variables', () => {
    const config = loadConfig({
      VIRTUOSO_PUBLIC_URL: 'https://virtuoso.example.org/',
      VIRTUOSO_IMAGE_DIR: '/srv/images',
      VIRTUOSO_RECONCILE_INTERVAL_SECONDS: '2',
      VIRTUOSO_AGENT_OFFLINE_SECONDS: '30',
      VIRTUOSO_STOP_TIMEOUT_SECONDS: '60',
      VIRTUOSO_MEDIA_MAX_MB: '4096',
    });
    expect(config).toMatchObject({
      publicUrl: 'https://virtuoso.example.org',
      imageDir: '/srv/images',
      reconcileIntervalSeconds: 2,
      agentOfflineMs: 30_000,
      stopTimeoutMs: 60_000,
      mediaMaxMb: 4096,
    });
    expect(loadConfig({})).toMatchObject({
      publicUrl: null,
      reconcileIntervalSeconds: 5,
      agentOfflineMs: 15_000,
      stopTimeoutMs: 30_000,
      mediaMaxMb: 1024,
      consoleTokenTtlMs: 30_000,
    });
    expect(() => loadConfig({ VIRTUOSO_PUBLIC_URL: 'ftp://x', VIRTUOSO_MEDIA_MAX_MB: '0' })).toThrow(
      /VIRTUOSO_PUBLIC_URL[\s\S]*VIRTUOSO_MEDIA_MAX_MB|VIRTUOSO_MEDIA_MAX_MB[\s\S]*VIRTUOSO_PUBLIC_URL/,
    );
  });

  it('fails naming every bad variable at once', () => {
    const env = {
      VIRTUOSO_PORT: 'eighty',
      VIRTUOSO_REGISTRATION_FEE: '-1',
      VIRTUOSO_SEED_DEMO: 'maybe',
      VIRTUOSO_MARKET_INTERVAL_SECONDS: '0',
      VIRTUOSO_WEB_DIR: '/nowhere',
    };
    let error: unknown;
    try {
      loadConfig(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of Object.keys(env)) expect(message).toContain(name);
    expect((error as ConfigError).problems).toHaveLength(5);
  });
});

describe('the app', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(() => t.close());

  it('answers health, and unknown API routes with a JSON 404', async () => {
    expect((await t.anonymous().get('/api/health')).body).toEqual({ status: 'ok', replica: expect.any(String), leader: false });
    const missing = await t.anonymous().get('/api/no/such/route');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'Cannot GET /api/no/such/route' });
  });

  it('answers a body that is not JSON with a 400', async () => {
    const response = await t.anonymous().post('/api/auth/signin').set('Content-Type', 'application/json').send('{"handle":');
    expect(response.status).toBe(400);
    expect(response.body.message).toMatch(/not valid JSON/);
    const array = await t.anonymous().post('/api/auth/signin').send([1, 2]);
    expect(array.status).toBe(400);
    expect(array.body.message).toBe('the request body must be a JSON object');
  });

  it('serves swagger-ui and the document', async () => {
    const ui = await t.anonymous().get('/api/docs/');
    expect(ui.status).toBe(200);
    expect(ui.text).toMatch(/swagger/i);
    expect((await t.anonymous().get('/api/docs-json')).body.info.title).toBe('Virtuoso API');
  });

  it('documents every operation with a summary and error answers, every DTO field with a description and example', () => {
    const document = buildOpenApiDocument(t.app);
    expect(Object.keys(document.components?.securitySchemes ?? {})).toEqual(['session', 'token']);
    for (const [path, operations] of Object.entries(document.paths)) {
      type Operation = {
        summary?: string;
        operationId?: string;
        responses: Record<string, { description?: string }>;
        parameters?: Array<{ name: string; description?: string }>;
      };
      for (const [method, operation] of Object.entries(operations as Record<string, Operation>)) {
        const where = `${method} ${path}`;
        expect(operation.summary, where).toBeTruthy();
        expect(operation.operationId, where).toMatch(/^[a-z][A-Za-z]+$/);
        for (const [status, response] of Object.entries(operation.responses)) expect(response.description, `${where} ${status}`).toBeTruthy();
        for (const parameter of operation.parameters ?? []) expect(parameter.description, `${where} ${parameter.name}`).toBeTruthy();
        // Signed-in routes document the 401 they give without a session.
        if ('security' in operation) expect(Object.keys(operation.responses), where).toContain('401');
      }
    }
    for (const [name, schema] of Object.entries(document.components?.schemas ?? {})) {
      for (const [field, property] of Object.entries(
        (schema as { properties?: Record<string, { description?: string; example?: unknown; allOf?: unknown; $ref?: string }> }).properties ?? {},
      )) {
        expect(property.description, `${name}.${field}`).toBeTruthy();
        if (!property.allOf && !property.$ref) expect(property, `${name}.${field}`).toHaveProperty('example');
      }
    }
  });

  it('builds the same YAML every time, from any instance', async () => {
    const first = toYaml(buildOpenApiDocument(t.app));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const other = await createApp({ env: {}, config: { dbPath: ':memory:', webDir: null }, seed: false, daemons: false, docs: false, logger: false });
    try {
      expect(toYaml(buildOpenApiDocument(other))).toBe(first);
    } finally {
      await other.close();
    }
    expect(first).not.toMatch(/&a\d|\*a\d/); // no YAML anchors
    expect(parse(first).paths['/api/machines/{id}/start'].post.operationId).toBe('startMachine');
  });
});

describe('first start', () => {
  it('seeds the catalog even without the demo, and runs the market pass at boot', async () => {
    const t = await startApp({ daemons: true });
    try {
      expect((await t.anonymous().get('/api/catalog')).body).toHaveLength(11);
      expect((await t.anonymous().post('/api/auth/signin').send({ handle: 'demo-buyer', password: 'demo-buyer-pw' })).status).toBe(401);
    } finally {
      await t.close();
    }
  });

  it('seeds the demo provider with two hosts and the demo buyer with 1000, once; averages computed at boot', async () => {
    const t = await startApp({ daemons: true, config: { seedDemo: true } });
    try {
      const provider = t.anonymous();
      const signedIn = await provider.post('/api/auth/signin').send({ handle: 'demo-provider', password: 'demo-provider-pw' });
      expect(signedIn.body).toMatchObject({ role: 'provider' });
      const hosts = (await provider.get('/api/hosts')).body as Array<Record<string, unknown>>;
      expect(hosts.map((h) => [h.name, h.agentHost, h.agentPort])).toEqual([
        ['demo-host-1', '127.0.0.1', 7101],
        ['demo-host-2', '127.0.0.1', 7102],
      ]);
      expect(hosts[0]).toMatchObject({
        speed: 10000,
        speedUnit: 1000,
        speedUnitPrice: '0.00001',
        memory: 2048,
        memoryUnit: 4,
        runningUnitAmount: 3600,
        storage: 100000,
        storageUnit: 100,
        storageUnitPrice: '0.01',
        storageAmount: 30,
        connectionSpeed: '1Gbps',
      });
      const buyer = t.anonymous();
      expect((await buyer.post('/api/auth/signin').send({ handle: 'demo-buyer', password: 'demo-buyer-pw' })).body).toMatchObject({
        role: 'buyer',
        balance: '1000',
      });
      // The boot pass priced the catalog from the two demo hosts (on PostgreSQL it runs beside serving).
      await t.app.get(Daemons).settled;
      const catalog = (await t.anonymous().get('/api/catalog')).body as Array<{ averageRunningPerHour: string | null }>;
      expect(catalog.every((entry) => entry.averageRunningPerHour !== null)).toBe(true);
      // npm start reads how to run their agents: one-time tokens bound to the demo hosts.
      const demo = JSON.parse(readFileSync(join(t.dir, 'demo-agents.json'), 'utf8'));
      expect(demo.agents.map((a: { host: string; port: number; consolePort: number; joined: boolean }) => [a.host, a.port, a.consolePort, a.joined])).toEqual([
        ['demo-host-1', 7101, 7201, false],
        ['demo-host-2', 7102, 7202, false],
      ]);
      expect(demo.agents[0].command).toBe(
        `npm run agent -- --frontend ${demo.frontend} --join ${demo.agents[0].token} --data ${demo.agents[0].dataDir} --port 7101 --console-port 7201`,
      );
      const facts = { bogomips: 20000, cpus: 4, memoryMb: 8192, freeDiskMb: 200000, accelerator: 'tcg', agentVersion: '0.1.0', hostname: 'demo' };
      const joined = await t
        .anonymous()
        .post('/api/agents/join')
        .send({ joinToken: demo.agents[0].token, agentHost: '127.0.0.1', agentPort: 7101, consolePort: 7201, facts });
      expect(joined.status).toBe(201);
      expect(((await provider.get('/api/hosts')).body as Array<{ name: string; agentId: string | null }>)[0]).toMatchObject({
        name: 'demo-host-1',
        agentId: joined.body.agentId,
      });
    } finally {
      await t.app.close();
    }
    // A second start on the same database seeds nothing more.
    const again = await startApp({ database: t.database, config: { seedDemo: true } });
    try {
      const provider = again.anonymous();
      await provider.post('/api/auth/signin').send({ handle: 'demo-provider', password: 'demo-provider-pw' });
      expect((await provider.get('/api/hosts')).body).toHaveLength(2);
      expect((await again.anonymous().get('/api/catalog')).body).toHaveLength(11);
      // The joined one needs no token any more; the other gets a fresh one.
      const demo = JSON.parse(readFileSync(join(again.dir, 'demo-agents.json'), 'utf8'));
      expect(demo.agents.map((a: { joined: boolean; token: string | null }) => [a.joined, a.token === null])).toEqual([
        [true, true],
        [false, false],
      ]);
    } finally {
      await again.close();
      await t.close();
    }
  });
});

describe('the SPA', () => {
  let t: TestApp;
  let web: string;
  beforeAll(async () => {
    // Under a dot-directory on purpose: such a web dir must still be served.
    web = mkdtempSync(join(tmpdir(), 'virtuoso-web-'));
    const dir = join(web, '.local', 'web');
    mkdirSync(join(dir, 'assets'), { recursive: true });
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Virtuoso SPA</title>');
    writeFileSync(join(dir, 'assets', 'app-1234.js'), 'console.log("hi")');
    t = await startApp({ config: { webDir: dir } });
  });
  afterAll(async () => {
    await t.close();
    rmSync(web, { recursive: true, force: true });
  });

  it('serves index.html at / and for client routes, assets as files, and never shadows /api', async () => {
    const root = await t.anonymous().get('/');
    expect(root.status).toBe(200);
    expect(root.text).toContain('Virtuoso SPA');
    expect((await t.anonymous().get('/machines/123/console')).text).toContain('Virtuoso SPA');
    const asset = await t.anonymous().get('/assets/app-1234.js');
    expect(asset.text).toContain('console.log');
    expect(asset.headers['cache-control']).toMatch(/immutable/);
    expect((await t.anonymous().get('/assets/missing.js')).status).toBe(404);
    const api = await t.anonymous().get('/api/nothing-here');
    expect(api.status).toBe(404);
    expect(api.body.error).toBe('Not Found');
    expect((await t.anonymous().get('/api/health')).body).toEqual({ status: 'ok', replica: expect.any(String), leader: false });
    const badJson = await t.anonymous().post('/api/auth/signin').set('Content-Type', 'application/json').send('{');
    expect(badJson.status).toBe(400);
  });
});
