import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { AgentProcess, REPO, eventually, freePorts } from '../agent-process';
import { type ApiProcess, startApiProcess } from '../api-process';
import { type Agent, type TestApp, addAgentHost, uniqueHandle } from '../helpers';
import { type TestDatabase, testDatabase } from '../test-database';
import { joinSeenFrom, postFrom } from '../client-address';

const HAPROXY_CFG = join(REPO, 'tools', 'deploy', 'haproxy.cfg');
const WEB_DIR = join(REPO, 'apps', 'web', 'dist');
const MARKER = /VIRTUOSO-GUEST-READY/;

/** Debian's haproxy running tools/deploy/haproxy.cfg exactly as committed, in the foreground (-db), its addresses from the environment. */
class Haproxy {
  private log = '';
  private readonly exited: Promise<void>;
  private constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (data: Buffer) => (this.log += data.toString()));
    child.stderr!.on('data', (data: Buffer) => (this.log += data.toString()));
    this.exited = new Promise((done) => child.once('exit', () => done()));
  }

  static start(env: Record<string, string>): Haproxy {
    return new Haproxy(
      spawn('haproxy', ['-f', HAPROXY_CFG, '-db'], { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
  }

  output(): string {
    return this.log;
  }

  /** Resolves once haproxy has logged `server`'s state change to `state` (its nth such line). */
  async marked(server: string, state: 'UP' | 'DOWN', nth: number): Promise<void> {
    const pattern = new RegExp(`Server replicas/${server} is ${state}\\b`, 'g');
    await eventually(async () => (this.log.match(pattern)?.length ?? 0) >= nth, `haproxy to mark replica ${server} ${state} (${nth})`, 30_000);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

/**
 * Two API replicas (the built API, two processes) on one PostgreSQL database behind Debian's haproxy
 * running tools/deploy/haproxy.cfg (README.md "Run it at scale", docs/ARCHITECTURE.md §12): the SPA,
 * the API, a REAL agent (joined and heartbeating through the proxy) with a REAL tiny guest, and its
 * console websocket, all through the proxy; then replica A is killed, everything still works; A
 * comes back, B is killed, everything still works.
 */
describe.sequential('two replicas behind haproxy', () => {
  let dir = '';
  let db: TestDatabase;
  let haproxy: Haproxy | undefined;
  const replicas: Record<'a' | 'b', ApiProcess | undefined> = { a: undefined, b: undefined };
  let replicaEnv: Record<string, string> = {};
  let ports: { proxy: number; a: number; b: number };
  let proxyUrl = '';
  let agent: AgentProcess | undefined;
  let provider: Agent;
  let buyer: Agent & { handle: string };
  let cookie = '';
  let machineId = '';

  const startReplica = async (name: 'a' | 'b') => {
    replicas[name] = await startApiProcess(replicaEnv, { port: ports[name] });
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'virtuoso-proxy-'));
    db = await testDatabase(dir);
    expect(db.kind, 'test/scale runs on the api-postgres project only').toBe('postgres');
    const [proxy, a, b] = await freePorts(3);
    ports = { proxy, a, b };
    proxyUrl = `http://127.0.0.1:${proxy}`;
    replicaEnv = {
      ...db.env,
      // What each replica needs (README.md "Run it at scale"): the same database, the proxy's URL
      // as the public one, the same data directory (install media live there), the SPA, the proxy trusted.
      VIRTUOSO_PUBLIC_URL: proxyUrl,
      VIRTUOSO_DATA_DIR: join(dir, 'data'),
      VIRTUOSO_WEB_DIR: WEB_DIR,
      VIRTUOSO_TRUST_PROXY: '127.0.0.1',
      VIRTUOSO_STOP_TIMEOUT_SECONDS: '15',
    };
    // One after the other: the first creates the schema.
    await startReplica('a');
    await startReplica('b');
    haproxy = Haproxy.start({ VIRTUOSO_PROXY_BIND: `127.0.0.1:${proxy}`, VIRTUOSO_REPLICA_A: `127.0.0.1:${a}`, VIRTUOSO_REPLICA_B: `127.0.0.1:${b}` });
    await eventually(
      async () =>
        (
          await request(proxyUrl)
            .get('/api/health')
            .catch(() => null)
        )?.status === 200,
      'haproxy to answer',
      30_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; haproxy said: ${haproxy?.output()}`);
    });
  }, 120_000);

  afterAll(async () => {
    await agent?.cleanup();
    await haproxy?.stop();
    await replicas.a?.kill('SIGKILL');
    await replicas.b?.kill('SIGKILL');
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const signUp = async (role: 'buyer' | 'provider') => {
    const client = request.agent(proxyUrl);
    const handle = uniqueHandle(role);
    const response = await client.post('/api/auth/signup').send({ handle, email: `${handle}@example.com`, password: 'correct horse', role });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return Object.assign(client, { handle });
  };

  /** The SPA's page through the proxy. */
  const servesSpa = async () => {
    const page = await request(proxyUrl).get('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toBe(readFileSync(join(WEB_DIR, 'index.html'), 'utf8'));
    // A client route is the SPA too.
    expect((await request(proxyUrl).get('/machines')).text).toBe(page.text);
  };

  /** The API through the proxy: a new session signs in (a POST), reads the running machine (a GET), and changes something (a POST). */
  const servesApi = async () => {
    const client = request.agent(proxyUrl);
    const signIn = await client.post('/api/auth/signin').send({ handle: buyer.handle, password: 'correct horse' });
    expect(signIn.status, JSON.stringify(signIn.body)).toBe(200);
    const machine = await client.get(`/api/machines/${machineId}`);
    expect(machine.status).toBe(200);
    expect(machine.body).toMatchObject({ id: machineId, state: 'running' });
    const key = await client.post('/api/auth/tokens').send({ name: `proxy-${Date.now()}` });
    expect(key.status, JSON.stringify(key.body)).toBe(201);
  };

  /** Opens the console through the proxy: a ticket, then the websocket; resolves with the RFB banner. */
  /**
   * A console ticket, then its websocket, both through the proxy. Tickets live in the database
   * (docs/ARCHITECTURE.md §12), so the websocket opens on whichever replica haproxy picks; between
   * idle replicas leastconn takes turns, so with `shift` one more request (a health check) goes in
   * between and the ticket and the websocket land on the other pairing of replicas.
   */
  const opensConsole = async (shift = false) => {
    const ticket = await buyer.post(`/api/machines/${machineId}/console`);
    expect(ticket.status, JSON.stringify(ticket.body)).toBe(201);
    if (shift) await request(proxyUrl).get('/api/health');
    const ws = new WebSocket(`${proxyUrl.replace(/^http/, 'ws')}${ticket.body.path as string}`, ['binary'], { headers: { cookie, origin: proxyUrl } });
    const received: Buffer[] = [];
    ws.on('message', (data: Buffer) => received.push(Buffer.from(data)));
    ws.on('error', () => undefined);
    const closed = new Promise<number>((done) => ws.on('close', (code) => done(code)));
    const banner = eventually(
      async () => Buffer.concat(received).length >= 12 && Buffer.concat(received).subarray(0, 12).toString('latin1'),
      'the RFB banner',
      15_000,
    );
    const outcome = await Promise.race([banner, closed]);
    expect(outcome, 'the console opens at the first ticket').toBe('RFB 003.008\n');
    ws.close();
    await closed;
  };

  const servesEverything = async () => {
    await servesSpa();
    await servesApi();
    await opensConsole();
    await opensConsole(true);
  };

  it('serves the SPA, the API and, for a real agent joined through the proxy, a running guest and its console', async () => {
    await servesSpa();
    provider = await signUp('provider');
    buyer = await signUp('buyer');
    const signIn = await request(proxyUrl).post('/api/auth/signin').send({ handle: buyer.handle, password: 'correct horse' });
    cookie = (signIn.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]).join('; ');
    // The agent's join command names the proxy (VIRTUOSO_PUBLIC_URL): it joins and heartbeats through it.
    const token = await provider.post('/api/agents/join-tokens').send({});
    expect(token.body.command).toContain(`--frontend ${proxyUrl}`);
    agent = await AgentProcess.join({ url: proxyUrl } as TestApp, provider, { heartbeatMs: 500 });
    const host = await addAgentHost(provider, agent.agentId, { name: 'behind-proxy' });
    const tiny = ((await request(proxyUrl).get('/api/catalog')).body as Array<{ id: string; name: string }>).find((entry) => entry.name === 'tiny-linux')!;
    const registered = await buyer.post('/api/machines').send({
      name: 'tiny',
      processor: 'x',
      speed: 2000,
      os: 'x',
      memory: 128,
      disk: 64,
      askedStoragePerMonth: '100',
      askedRunningPerHour: '100',
      configurationId: tiny.id,
    });
    expect(registered.status, JSON.stringify(registered.body)).toBe(201);
    machineId = registered.body.id;
    const stored = await buyer.post(`/api/machines/${machineId}/store`).send({ hostId: host.id });
    expect(stored.status, JSON.stringify(stored.body)).toBe(200);
    const started = await buyer.post(`/api/machines/${machineId}/start`).set('If-Match', `"${stored.body.version}"`);
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    await agent.waitForSerial(machineId, MARKER, 120_000);
    await servesEverything();
  }, 240_000);

  it('sees the real client behind the proxy: sign-in limits and join addresses, whatever X-Forwarded-For the client wrote', async () => {
    // 127.0.0.2 and 127.0.0.3 are two clients (all of 127.0.0.0/8 is loopback); haproxy reaches the
    // replicas from 127.0.0.1, the address they trust, and SETS X-Forwarded-For to the client's.
    const spoofed = { 'x-forwarded-for': '198.51.100.9' };
    const joinToken = async () => (await provider.post('/api/agents/join-tokens').send({})).body.token as string;
    expect(await joinSeenFrom(proxyUrl, await joinToken(), '127.0.0.2', spoofed)).toBe('127.0.0.2');
    expect(await joinSeenFrom(proxyUrl, await joinToken(), '127.0.0.3')).toBe('127.0.0.3');
    // Sign-in failures per address (30 by default) are counted per client, on either replica.
    const fail = (from: string) => postFrom(proxyUrl, '/api/auth/signin', { handle: uniqueHandle('nobody'), password: 'wrong' }, { from, headers: spoofed });
    for (let n = 1; n <= 30; n++) expect((await fail('127.0.0.2')).status, `failure ${n}`).toBe(401);
    expect((await fail('127.0.0.2')).status).toBe(429);
    expect((await fail('127.0.0.3')).status).toBe(401);
  });

  it('survives the loss of replica A: the SPA, the API, the agent and the console go on through B', async () => {
    await replicas.a!.kill('SIGKILL');
    // At once, before haproxy's checks notice: a request sent to A is refused and redispatched to B.
    await servesSpa();
    await servesApi();
    await haproxy!.marked('a', 'DOWN', 1);
    await opensConsole();
    // The agent's heartbeats reach B through the proxy: the host stays online.
    const since = new Date().toISOString();
    await eventually(async () => {
      const hosts = (await buyer.get('/api/market/hosts')).body as Array<{ name: string; online: boolean; lastHeartbeatAt: string | null }>;
      const host = hosts.find((entry) => entry.name === 'behind-proxy');
      return host?.online && host.lastHeartbeatAt !== null && host.lastHeartbeatAt > since;
    }, 'a heartbeat after A died');
  }, 120_000);

  it('survives the loss of replica B once A is back', async () => {
    await startReplica('a');
    await haproxy!.marked('a', 'UP', 1);
    await replicas.b!.kill('SIGKILL');
    await servesSpa();
    await servesApi();
    await haproxy!.marked('b', 'DOWN', 1);
    await opensConsole();
    // The machine is still driven through the survivor: a reset goes to the agent and back.
    const machine = (await buyer.get(`/api/machines/${machineId}`)).body as { version: number };
    const reset = await buyer.post(`/api/machines/${machineId}/reset`).set('If-Match', `"${machine.version}"`);
    expect(reset.status, JSON.stringify(reset.body)).toBe(200);
    expect(reset.body).toMatchObject({ state: 'running' });
  }, 120_000);
});
