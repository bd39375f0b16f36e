import { HEARTBEAT_INTERVAL_MS, HEARTBEAT_JITTER, sign } from '@virtuoso/contracts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent as AgentRow } from '../src/agents/agent.entity';
import { JoinToken } from '../src/agents/join-token.entity';
import { AgentProcess, eventually } from './agent-process';
import { Agent, TestApp, addAgentHost, startApp, virt8, win2000Pro } from './helpers';
import { testDatabase } from './test-database';

type User = Agent & { handle: string; userId: string };

/**
 * Joining and heartbeats with a REAL provider agent process (no VM is booted here). Offline after
 * 1.5 s without a heartbeat (the agent beats every 300 ms) so that the offline test is quick.
 */
describe('provider agents: join and heartbeats', () => {
  let t: TestApp;
  let provider: User;
  let agent: AgentProcess;

  beforeAll(async () => {
    t = await startApp({ listen: true, config: { agentOfflineMs: 1500 } });
    provider = await t.signUp('provider');
  });
  afterAll(async () => {
    await agent?.cleanup();
    await t.close();
  });

  const agentRow = (id: string) => t.app.get(DataSource).getRepository(AgentRow).findOneByOrFail({ id });
  const secretOf = (a: AgentProcess) => JSON.parse(readFileSync(join(a.dataDir, 'agent.json'), 'utf8')).secret as string;

  it('makes a one-time join token with the command line; the agent joins with it and its facts show', async () => {
    const made = await provider.post('/api/agents/join-tokens').send({});
    expect(made.status).toBe(201);
    expect(made.body).toEqual({
      id: expect.any(String),
      token: expect.stringMatching(/^vj_[A-Za-z0-9_-]{43}$/),
      expiresAt: expect.any(String),
      command: expect.any(String),
      installCommand: `curl -fsSL ${t.url}/install-agent.sh | sudo bash -s -- --join ${made.body.token} --port ${made.body.agentPort} --console-port ${made.body.consolePort}`,
      agentPort: expect.any(Number),
      consolePort: made.body.agentPort + 100,
    });
    // One hour, stored hashed.
    expect(Date.parse(made.body.expiresAt) - Date.now()).toBeGreaterThan(3590_000);
    expect(made.body.command).toBe(
      `npm run agent -- --frontend ${t.url} --join ${made.body.token} --data ~/.virtuoso/agent-${made.body.id.slice(0, 8)} --port ${made.body.agentPort} --console-port ${made.body.consolePort}`,
    );
    const stored = await t.app.get(DataSource).getRepository(JoinToken).findOneByOrFail({ id: made.body.id });
    expect(stored.tokenHash).not.toContain(made.body.token);
    expect(JSON.stringify(stored)).not.toContain(made.body.token);
    expect((await provider.get(`/api/agents/join-tokens/${made.body.id}`)).body).toEqual({
      id: made.body.id,
      expiresAt: made.body.expiresAt,
      joined: false,
      agent: null,
    });

    const t0 = Date.now();
    agent = await AgentProcess.join(t, provider, { heartbeatMs: 300 });
    const joined = Date.now() - t0;
    // The first heartbeat follows the join at once.
    // (null is a value to eventually(): undefined until the heartbeat is recorded.)
    await eventually(async () => (await agentRow(agent.agentId)).lastHeartbeatAt ?? undefined, 'the first heartbeat');
    console.log(`agent process start → joined: ${joined} ms; → first heartbeat recorded: ${Date.now() - t0} ms`);

    const agents = (await provider.get('/api/agents')).body;
    expect(agents).toEqual([
      {
        agentId: agent.agentId,
        agentHost: '127.0.0.1',
        agentPort: agent.port,
        consolePort: agent.consolePort,
        facts: expect.objectContaining({
          bogomips: expect.any(Number),
          cpus: expect.any(Number),
          memoryMb: expect.any(Number),
          freeDiskMb: expect.any(Number),
          accelerator: 'tcg',
        }),
        online: true,
        lastHeartbeatAt: expect.any(String),
        joinedAt: expect.any(String),
        hostId: null,
        hostName: null,
      },
    ]);
    // Agents are a provider's business.
    const buyer = await t.signUp('buyer');
    expect((await buyer.get('/api/agents')).status).toBe(403);
    expect((await (await t.signUp('provider')).get('/api/agents')).body).toEqual([]);
  });

  it('shows the joined agent on its token; adds a host with it, the totals capped by its facts (400 naming the field)', async () => {
    const made = await provider.post('/api/agents/join-tokens').send({});
    const second = await AgentProcess.join(t, provider, { heartbeatMs: 300 });
    try {
      // A fresh token shows nothing joined; the agent made with it does.
      expect((await provider.get(`/api/agents/join-tokens/${made.body.id}`)).body.joined).toBe(false);
      const tokens = await t.app.get(DataSource).getRepository(JoinToken).findBy({ agentId: second.agentId });
      const status = (await provider.get(`/api/agents/join-tokens/${tokens[0].id}`)).body;
      expect(status).toMatchObject({
        joined: true,
        agent: { agentId: second.agentId, agentHost: '127.0.0.1', agentPort: second.port, consolePort: second.consolePort },
      });
      const facts = status.agent.facts;
      expect(facts.bogomips).toBeGreaterThan(0);

      const over = await provider
        .post('/api/hosts')
        .send({ ...virt8({ name: 'too-big', speed: facts.bogomips + 1, memory: facts.memoryMb + 1, storage: 1000 }), agentId: second.agentId });
      expect(over.status).toBe(400);
      expect(over.body.message).toBe(`speed ${facts.bogomips + 1} exceeds the ${facts.bogomips} bogomips the agent measured`);
      expect(over.body.fields).toEqual({
        speed: [`speed ${facts.bogomips + 1} exceeds the ${facts.bogomips} bogomips the agent measured`],
        memory: [`memory ${facts.memoryMb + 1} exceeds the ${facts.memoryMb} MB of memory the agent measured`],
      });
      const stranger = await t.signUp('provider');
      const foreign = await stranger.post('/api/hosts').send({ ...virt8({ speed: 1000 }), agentId: second.agentId });
      expect(foreign.status).toBe(400);
      expect(foreign.body.fields.agentId).toEqual(['agentId must be the id of one of your joined agents']);

      // With agentId the agent's address is used, whatever the form said.
      const host = await provider.post('/api/hosts').send({
        ...virt8({ name: 'with-agent', speed: Math.min(8000, facts.bogomips), storage: 1000, agentHost: '10.9.9.9', agentPort: 1 }),
        agentId: second.agentId,
      });
      expect(host.status).toBe(201);
      expect(host.body).toMatchObject({
        agentId: second.agentId,
        agentHost: '127.0.0.1',
        agentPort: second.port,
        online: true,
        lastHeartbeatAt: expect.any(String),
        // Free disk is measured again at every heartbeat: it moves with whatever else writes to the disk meanwhile.
        facts: { ...facts, freeDiskMb: expect.any(Number) },
      });
      // One agent, one host.
      const twice = await provider.post('/api/hosts').send({ ...virt8({ name: 'again', speed: 1000, storage: 1000 }), agentId: second.agentId });
      expect(twice.status).toBe(400);
      expect(twice.body.fields.agentId).toEqual(['that agent already serves your host with-agent']);
      expect((await provider.get('/api/agents')).body.find((a: { agentId: string }) => a.agentId === second.agentId)).toMatchObject({
        hostId: host.body.id,
        hostName: 'with-agent',
      });
      // The marketplace shows it online.
      const row = ((await provider.get('/api/market/hosts')).body as Array<{ id: string; online: boolean }>).find((h) => h.id === host.body.id);
      expect(row).toMatchObject({ online: true, lastHeartbeatAt: expect.any(String) });
      // A host added by hand has no agent and is offline.
      const byHand = (await provider.post('/api/hosts').send(virt8({ name: 'by-hand' }))).body;
      expect(byHand).toMatchObject({ agentId: null, online: false, lastHeartbeatAt: null, facts: null, agentHost: '129.105.44.205', agentPort: 8000 });

      // A token is single-use: the agent that joined used it; another try is refused, as is garbage.
      const used = await t.anonymous().post('/api/agents/join').send({ joinToken: 'x', agentHost: '127.0.0.1', agentPort: 1, consolePort: 2, facts });
      expect(used.status).toBe(401);
      expect(used.body.message).toBe('this join token is unknown');
    } finally {
      await second.cleanup();
    }
  });

  it("suggests ports no known agent, waiting token or host holds and that are free on this machine (never the demo agents' 7101/7201, 7102/7202)", async () => {
    const facts = { bogomips: 1000, cpus: 1, memoryMb: 1024, freeDiskMb: 1000, accelerator: 'tcg', agentVersion: '0.1.0', hostname: 'h' };
    const suggestion = async () => {
      const made = await provider.post('/api/agents/join-tokens').send({});
      expect(made.status).toBe(201);
      expect(made.body.command).toContain(` --port ${made.body.agentPort} --console-port ${made.body.consolePort}`);
      return made.body as { token: string; agentPort: number; consolePort: number };
    };
    const canBind = (port: number) =>
      new Promise<boolean>((done) => {
        const server = net.createServer().once('error', () => done(false));
        server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
      });
    // Agents the market knows at the demo agents' ports (joined, whether or not they run).
    for (const [agentPort, consolePort] of [
      [7101, 7201],
      [7102, 7202],
    ]) {
      const token = await suggestion();
      expect(
        (await t.anonymous().post('/api/agents/join').send({ joinToken: token.token, agentHost: '127.0.0.1', agentPort, consolePort, facts })).status,
      ).toBe(201);
    }
    const known = new Set(
      ((await provider.get('/api/agents')).body as Array<{ agentPort: number; consolePort: number }>).flatMap((a) => [a.agentPort, a.consolePort]),
    );
    const seen = new Set<number>();
    const held: net.Server[] = [];
    try {
      for (let round = 0; round < 3; round++) {
        const next = await suggestion();
        for (const port of [next.agentPort, next.consolePort]) {
          expect([7101, 7102, 7201, 7202]).not.toContain(port);
          expect(known.has(port), `port ${port} is held by a known agent`).toBe(false);
          expect(seen.has(port), `port ${port} was suggested to a token still waiting`).toBe(false);
          seen.add(port);
        }
        expect(await canBind(next.consolePort)).toBe(true);
        // Something on this machine takes its command port: the next suggestion avoids it.
        const server = net.createServer();
        await new Promise<void>((done) => server.listen(next.agentPort, '127.0.0.1', done));
        held.push(server);
      }
      // A port held here (not by any agent) pushes the suggestion past it.
      const blocker = net.createServer();
      const after = await suggestion();
      await new Promise<void>((done) => blocker.listen(after.agentPort + 1, '127.0.0.1', done));
      held.push(blocker);
      const next = await suggestion();
      expect(next.agentPort).not.toBe(after.agentPort + 1);
      expect(next.consolePort).not.toBe(after.agentPort + 1);
    } finally {
      for (const server of held) await new Promise((done) => server.close(done));
    }
  });

  it('refuses a used, expired or unknown join token (401 with a message) and a malformed join (400)', async () => {
    const facts = { bogomips: 1000, cpus: 1, memoryMb: 1024, freeDiskMb: 1000, accelerator: 'tcg', agentVersion: '0.1.0', hostname: 'h' };
    const made = (await provider.post('/api/agents/join-tokens').send({})).body;
    const join = (token: string) =>
      t.anonymous().post('/api/agents/join').send({ joinToken: token, agentHost: '127.0.0.1', agentPort: 7000, consolePort: 7001, facts });
    const first = await join(made.token);
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ agentId: expect.any(String), secret: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const again = await join(made.token);
    expect(again.status).toBe(401);
    expect(again.body.message).toBe('this join token was already used; make a new one on the "add host" page');
    // The secret is never shown again.
    expect(JSON.stringify((await provider.get(`/api/agents/join-tokens/${made.id}`)).body)).not.toContain(first.body.secret);
    expect(JSON.stringify((await provider.get('/api/agents')).body)).not.toContain(first.body.secret);

    const old = (await provider.post('/api/agents/join-tokens').send({})).body;
    await t.app
      .get(DataSource)
      .getRepository(JoinToken)
      .update({ id: old.id }, { expiresAt: new Date(Date.now() - 1000).toISOString() });
    const expired = await join(old.token);
    expect(expired.status).toBe(401);
    expect(expired.body.message).toMatch(/^this join token expired at /);

    const bad = await t.anonymous().post('/api/agents/join').send({ joinToken: made.token, agentHost: 'not a host!', agentPort: 70000, consolePort: 1, facts });
    expect(bad.status).toBe(400);
    expect(Object.keys(bad.body.fields).sort()).toEqual(['agentHost', 'agentPort']);
  });

  it('binds a host added by hand to the agent that joins with a token made for it', async () => {
    const byHand = (await provider.post('/api/hosts').send(virt8({ name: 'later', speed: 1000 }))).body;
    const bound = await AgentProcess.join(t, provider, { hostId: byHand.id, heartbeatMs: 300 });
    try {
      const host = await eventually(async () => {
        const now = (await provider.get(`/api/hosts/${byHand.id}`)).body;
        return now.online && now;
      }, 'the host online');
      expect(host).toMatchObject({ agentId: bound.agentId, agentHost: '127.0.0.1', agentPort: bound.port, online: true });
      // A host that has an agent gets no second token.
      const refused = await provider.post('/api/agents/join-tokens').send({ hostId: byHand.id });
      expect(refused.status).toBe(400);
      expect(refused.body.message).toBe('host later already has an agent');
    } finally {
      await bound.cleanup();
    }
  });

  it("revokes a host's agent (its secret stops working at once) and gives the host a new agent with a join token made for it", async () => {
    const byHand = (await provider.post('/api/hosts').send(virt8({ name: 'rotated', speed: 1000, memory: 256, storage: 2000 }))).body;
    const first = await AgentProcess.join(t, provider, { hostId: byHand.id, heartbeatMs: 300 });
    let second: AgentProcess | undefined;
    try {
      await eventually(async () => (await provider.get(`/api/hosts/${byHand.id}`)).body.online, 'the host online');
      const oldSecret = secretOf(first);
      const facts = JSON.parse((await agentRow(first.agentId)).facts);
      const heartbeat = () => sign(oldSecret, first.agentId, '/api/agents/heartbeat', { agentId: first.agentId, facts, vms: [], events: [] });

      // Only the host's owner may revoke; a host without an agent has none to revoke.
      const stranger = await t.signUp('provider');
      expect((await stranger.delete(`/api/hosts/${byHand.id}/agent`)).status).toBe(404);
      expect((await provider.delete(`/api/hosts/${byHand.id}/agent`)).status).toBe(204);
      const again = await provider.delete(`/api/hosts/${byHand.id}/agent`);
      expect(again.status).toBe(409);
      expect(again.body.message).toBe('host rotated has no agent to revoke');

      // The old secret is refused at once, even while its agent process still runs.
      const refused = await t.anonymous().post('/api/agents/heartbeat').send(heartbeat());
      expect(refused.status).toBe(401);
      expect(refused.body.message).toBe('agent message refused: unknown agent');
      expect((await provider.get(`/api/hosts/${byHand.id}`)).body).toMatchObject({ agentId: null, online: false });
      expect((await provider.get('/api/agents')).body.map((a: { agentId: string }) => a.agentId)).not.toContain(first.agentId);
      await first.kill();

      // A join token made for the host binds the new agent: online, and commands reach it.
      second = await AgentProcess.join(t, provider, { hostId: byHand.id, heartbeatMs: 300 });
      expect(second.agentId).not.toBe(first.agentId);
      expect(secretOf(second)).not.toBe(oldSecret);
      const host = await eventually(async () => {
        const now = (await provider.get(`/api/hosts/${byHand.id}`)).body;
        return now.online && now;
      }, 'the host online with its new agent');
      expect(host).toMatchObject({ agentId: second.agentId, agentPort: second.port });
      const buyer = await t.signUp('buyer');
      const machine = (await buyer.post('/api/machines').send(win2000Pro({ name: 'after-rotation', speed: 1000, memory: 64, disk: 100 }))).body;
      const store = await buyer.post(`/api/machines/${machine.id}/store`).send({ hostId: byHand.id });
      expect(store.status, JSON.stringify(store.body)).toBe(200);
      expect(store.body.state).toBe('stored');
    } finally {
      await first.cleanup();
      await second?.cleanup();
    }
  });

  it('refuses unsigned, tampered, foreign-signed, stale and replayed heartbeats with 401, recording nothing', async () => {
    const secret = secretOf(agent);
    const channel = '/api/agents/heartbeat';
    const forged = {
      agentId: agent.agentId,
      facts: { bogomips: 1, cpus: 1, memoryMb: 1, freeDiskMb: 1, accelerator: 'tcg', agentVersion: 'x', hostname: 'forged' },
      vms: [],
      events: [],
    };
    const hostnames = async () => JSON.parse((await agentRow(agent.agentId)).facts).hostname as string;
    const cases: Array<[string, unknown]> = [
      ['unsigned', forged],
      ['tampered', { ...sign(secret, agent.agentId, channel, { ...forged, facts: { ...forged.facts, hostname: 'honest' } }), body: JSON.stringify(forged) }],
      ['signed with another secret', sign('0'.repeat(64), agent.agentId, channel, forged)],
      ['signed for another channel', sign(secret, agent.agentId, '/api/agents/join', forged)],
      ['stale', sign(secret, agent.agentId, channel, forged, Date.now() - 120_000)],
      ['unknown agent', sign(secret, '00000000-0000-4000-8000-000000000000', channel, { ...forged, agentId: '00000000-0000-4000-8000-000000000000' })],
    ];
    for (const [what, body] of cases) {
      const response = await t
        .anonymous()
        .post(channel)
        .send(body as object);
      expect(response.status, what).toBe(401);
      expect(response.body.message, what).toMatch(/^agent message refused: /);
    }
    // A correctly signed one is recorded (it carries the real facts, so nothing else changes) ...
    const real = { ...forged, facts: JSON.parse((await agentRow(agent.agentId)).facts) };
    const envelope = sign(secret, agent.agentId, channel, real);
    expect((await t.anonymous().post(channel).send(envelope)).status).toBe(204);
    // ... once: the same envelope again is a replay.
    const replay = await t.anonymous().post(channel).send(envelope);
    expect(replay.status).toBe(401);
    expect(replay.body.message).toBe('agent message refused: replayed');
    expect(await hostnames()).not.toBe('forged');
    // Downloads are verified the same way.
    expect((await t.anonymous().get('/api/agents/images/tiny-linux.qcow2')).status).toBe(401);
    const header = (path: string) => Buffer.from(JSON.stringify(sign(secret, agent.agentId, path, { path }))).toString('base64');
    expect((await t.anonymous().get('/api/agents/images/tiny-linux.qcow2').set('x-virtuoso-agent', header('/api/agents/images/other.qcow2'))).status).toBe(401);
    const image = await t
      .anonymous()
      .get('/api/agents/images/tiny-linux.qcow2')
      .set('x-virtuoso-agent', header('/api/agents/images/tiny-linux.qcow2'))
      .buffer(true);
    expect(image.status).toBe(200);
    expect(Number(image.headers['content-length'])).toBeGreaterThan(1_000_000);
    expect((await t.anonymous().get('/api/agents/images/passwd').set('x-virtuoso-agent', header('/api/agents/images/passwd'))).status).toBe(404);
  });

  it("keeps an agent's connection between heartbeats: the Keep-Alive hint its fetch follows outlasts the longest wait", async () => {
    const answer = await fetch(`${t.url}/api/health`);
    await answer.arrayBuffer();
    const hint = Number(/timeout=(\d+)/.exec(answer.headers.get('keep-alive') ?? '')?.[1]);
    // undici (the agent's fetch) keeps an idle connection for the server's hint less 1 s.
    expect(hint * 1000 - 1000).toBeGreaterThan(HEARTBEAT_INTERVAL_MS * (1 + HEARTBEAT_JITTER));
    // And the server does keep it: a second request on a kept connection is answered on it.
    const pool = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<boolean>((done, fail) => {
        const req = http.get(`${t.url}/api/health`, { agent: pool }, (res) => {
          res.resume();
          res.on('end', () => done(req.reusedSocket));
        });
        req.on('error', fail);
      });
    try {
      expect(await get()).toBe(false);
      await new Promise((done) => setTimeout(done, 200));
      expect(await get()).toBe(true);
    } finally {
      pool.destroy();
    }
  });

  it('shows a host online while its agent heartbeats and offline once the agent is stopped', async () => {
    const host = await addAgentHost(provider, agent.agentId, { name: 'watched', speed: 1000 });
    expect((await provider.get(`/api/hosts/${host.id}`)).body.online).toBe(true);
    await agent.kill('SIGTERM');
    const stoppedAt = Date.now();
    await eventually(async () => (await provider.get(`/api/hosts/${host.id}`)).body.online === false, 'the host offline', 5000);
    console.log(`host offline ${Date.now() - stoppedAt} ms after its agent stopped (threshold 1500 ms)`);
    expect((await provider.get('/api/agents')).body.find((a: { agentId: string }) => a.agentId === agent.agentId).online).toBe(false);
    // Back online when it comes back.
    await agent.restart();
    await eventually(async () => (await provider.get(`/api/hosts/${host.id}`)).body.online, 'the host online again', 5000);
  });

  it('fails fast on a host without an agent: storing answers 503 naming the host, before anything is reserved, charged or written', async () => {
    const byHand = (await provider.post('/api/hosts').send(virt8({ name: 'no-agent-yet' }))).body;
    const buyer = await t.signUp('buyer');
    const machine = (await buyer.post('/api/machines').send(win2000Pro())).body;
    const balance = (await buyer.get('/api/auth/me')).body.balance;
    const t0 = Date.now();
    const store = await buyer.post(`/api/machines/${machine.id}/store`).send({ hostId: byHand.id });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(store.status).toBe(503);
    expect(store.body.message).toBe('host no-agent-yet is offline (it has no agent); choose another host');
    expect((await buyer.get(`/api/machines/${machine.id}`)).body).toMatchObject({
      state: 'registered',
      version: 0,
      host: null,
      storagePrice: null,
      lastError: null,
    });
    expect((await provider.get(`/api/hosts/${byHand.id}`)).body).toMatchObject({ free: { speed: 10000, memory: 512, storage: 100000 }, machineCount: 0 });
    expect((await buyer.get('/api/auth/me')).body.balance).toBe(balance);
  });
});

describe('agent replay protection', () => {
  it('refuses a heartbeat replayed after the API restarted on the same database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'virtuoso-replay-'));
    const database = await testDatabase(dir);
    const facts = { bogomips: 1000, cpus: 1, memoryMb: 1024, freeDiskMb: 1000, accelerator: 'tcg', agentVersion: '0.1.0', hostname: 'h' };
    let t = await startApp({ database });
    try {
      const provider = await t.signUp('provider');
      const token = (await provider.post('/api/agents/join-tokens').send({})).body.token;
      const joined = (
        await t.anonymous().post('/api/agents/join').send({ joinToken: token, agentHost: '127.0.0.1', agentPort: 7000, consolePort: 7001, facts })
      ).body;
      const envelope = sign(joined.secret, joined.agentId, '/api/agents/heartbeat', { agentId: joined.agentId, facts, vms: [], events: [] });
      expect((await t.anonymous().post('/api/agents/heartbeat').send(envelope)).status).toBe(204);
      expect((await t.anonymous().post('/api/agents/heartbeat').send(envelope)).status).toBe(401);

      await t.close();
      t = await startApp({ database });
      const replay = await t.anonymous().post('/api/agents/heartbeat').send(envelope);
      expect(replay.status).toBe(401);
      expect(replay.body.message).toBe('agent message refused: replayed');
      // A fresh message of the same agent still passes.
      const fresh = sign(joined.secret, joined.agentId, '/api/agents/heartbeat', { agentId: joined.agentId, facts, vms: [], events: [] });
      expect((await t.anonymous().post('/api/agents/heartbeat').send(fresh)).status).toBe(204);
    } finally {
      await t.close();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('heartbeat bodies', () => {
  it('answers a signed heartbeat of the wrong shape with a 400 naming the field, and records nothing', async () => {
    const facts = { bogomips: 1000, cpus: 1, memoryMb: 1024, freeDiskMb: 1000, accelerator: 'tcg', agentVersion: '0.1.0', hostname: 'h' };
    const t = await startApp();
    try {
      const provider = await t.signUp('provider');
      const join = async () => {
        const token = (await provider.post('/api/agents/join-tokens').send({})).body.token;
        return (await t.anonymous().post('/api/agents/join').send({ joinToken: token, agentHost: '127.0.0.1', agentPort: 7000, consolePort: 7001, facts }))
          .body as { agentId: string; secret: string };
      };
      const joined = await join();
      const other = await join();
      const vm = { machineId: '7c9e6679-7425-40de-944b-e07fc1f90ae7', state: 'running', version: 2, media: null };
      const event = { machineId: vm.machineId, kind: 'poweredOff', at: '2026-11-25T10:00:00.000Z', version: 3 };
      const beat = (body: unknown) =>
        t
          .anonymous()
          .post('/api/agents/heartbeat')
          .send(sign(joined.secret, joined.agentId, '/api/agents/heartbeat', body));
      const before = await t.snapshot();
      const cases: Array<[unknown, string, string]> = [
        [{ agentId: joined.agentId, facts: { ...facts, cpus: 0 }, vms: [], events: [] }, 'facts.cpus', 'facts.cpus must be at least 1'],
        [
          { agentId: joined.agentId, facts, vms: [{ ...vm, state: 'exploded' }], events: [] },
          'vms.0.state',
          'state must be stopped, running, paused, suspended or absent',
        ],
        [{ agentId: joined.agentId, facts, vms: [], events: [{ ...event, version: 'x' }] }, 'events.0.version', 'version must be a whole number'],
        [{ agentId: joined.agentId, facts, vms: 'all', events: [] }, 'vms', 'vms must be a list'],
        [{ agentId: other.agentId, facts, vms: [], events: [] }, 'agentId', 'a heartbeat carries the agentId of its signer'],
      ];
      for (const [body, field, message] of cases) {
        const response = await beat(body);
        expect(response.status, field).toBe(400);
        expect(response.body.message, field).toBe(message);
        expect(response.body.fields?.[field], field).toContain(message);
      }
      const notAnObject = await beat([]);
      expect(notAnObject.status).toBe(400);
      expect(notAnObject.body.message).toBe('a heartbeat must be a JSON object');
      expect(await t.snapshot()).toEqual(before);
      // The same heartbeat, well formed, is recorded.
      expect((await beat({ agentId: joined.agentId, facts, vms: [vm], events: [] })).status).toBe(204);
      const row = await t.app.get(DataSource).getRepository(AgentRow).findOneByOrFail({ id: joined.agentId });
      expect(JSON.parse(row.vms)).toEqual([vm]);
    } finally {
      await t.close();
    }
  });
});

describe('agent addresses the API may dial', () => {
  const facts = { bogomips: 20000, cpus: 4, memoryMb: 4096, freeDiskMb: 50000, accelerator: 'tcg', agentVersion: '0.1.0', hostname: 'h' };
  const joinWith = async (t: TestApp, provider: Agent, agentHost: string, agentPort: number) => {
    const token = (await provider.post('/api/agents/join-tokens').send({})).body.token;
    return t
      .anonymous()
      .post('/api/agents/join')
      .send({ joinToken: token, agentHost, agentPort, consolePort: agentPort + 1, facts });
  };

  it('by default only the address the agent joins from: another agentHost is refused (400 naming it), nothing joins', async () => {
    const t = await startApp();
    try {
      const provider = await t.signUp('provider');
      await provider.post('/api/agents/join-tokens').send({});
      const before = await t.snapshot();
      for (const elsewhere of ['10.1.2.3', '169.254.169.254', 'internal.example', '192.168.0.1']) {
        const refused = await joinWith(t, provider, elsewhere, 7000);
        expect(refused.status, elsewhere).toBe(400);
        expect(Object.keys(refused.body.fields), elsewhere).toEqual(['agentHost']);
        expect(refused.body.message, elsewhere).toMatch(/^agentHost must be the address it joins from \(127\.0\.0\.1\): /);
      }
      // (Each refusal left its token unused; the snapshot differs only by the tokens made.)
      const after = (await t.snapshot()) as Record<string, unknown[]>;
      expect(after.Agent).toEqual((before as Record<string, unknown[]>).Agent);
      expect((await joinWith(t, provider, '127.0.0.1', 7000)).status).toBe(201);
      // Joined over loopback, the agent is on this machine: any loopback name of it is the same address.
      expect((await joinWith(t, provider, 'localhost', 7000)).status).toBe(201);
    } finally {
      await t.close();
    }
  });

  it('an operator may allow CIDR blocks instead (VIRTUOSO_AGENT_ADDRESSES), and a bad policy is a boot error', async () => {
    const t = await startApp({ env: { VIRTUOSO_AGENT_ADDRESSES: '10.0.0.0/8, fd00::/8' } });
    try {
      const provider = await t.signUp('provider');
      expect((await joinWith(t, provider, '10.1.2.3', 7000)).status).toBe(201);
      expect((await joinWith(t, provider, 'fd00::7', 7000)).status).toBe(201);
      const local = await joinWith(t, provider, '127.0.0.1', 7000);
      expect(local.status).toBe(400);
      expect(local.body.message).toMatch(/^agentHost must be an address this market allows/);
    } finally {
      await t.close();
    }
    await expect(startApp({ env: { VIRTUOSO_AGENT_ADDRESSES: 'joined-from,10.0.0.0/33' } })).rejects.toThrow(
      /VIRTUOSO_AGENT_ADDRESSES: "10\.0\.0\.0\/33" is not joined-from, any/,
    );
  });

  it('gives buyers one error without the address, whatever the connection failure', async () => {
    const t = await startApp();
    try {
      const provider = await t.signUp('provider');
      // A port held by this test until just before the store: no other test running meanwhile (two
      // files run at once) can have taken it, so the store meets a closed port, not a stranger.
      const holder = net.createServer();
      await new Promise<void>((listening) => holder.listen(0, '127.0.0.1', listening));
      const closedPort = (holder.address() as net.AddressInfo).port;
      const joined = (await joinWith(t, provider, '127.0.0.1', closedPort)).body;
      const host = await addAgentHost(provider, joined.agentId, { name: 'unreachable' });
      // Storing needs an online host: as if this agent had just sent a heartbeat, then stopped listening.
      await t.app.get(DataSource).getRepository(AgentRow).update({ id: joined.agentId }, { lastHeartbeatAt: new Date().toISOString() });
      const buyer = await t.signUp('buyer');
      const store = async (name: string) => {
        const machine = (await buyer.post('/api/machines').send(win2000Pro({ name, speed: 1000, memory: 64, disk: 100 }))).body;
        const response = await buyer.post(`/api/machines/${machine.id}/store`).send({ hostId: host.id });
        return { response, machine: (await buyer.get(`/api/machines/${machine.id}`)).body };
      };
      // A closed port.
      await new Promise((closed) => holder.close(closed));
      const refused = await store('closed-port');
      expect(refused.response.status).toBe(503);
      expect(refused.response.body.message).toBe('could not store closed-port: the agent of host unreachable is not reachable');
      expect(refused.machine.lastError).toBe(refused.response.body.message);
      // An address the policy does not allow (e.g. an agent row from before the policy): not even dialled, same answer.
      await t.app.get(DataSource).getRepository(AgentRow).update({ id: joined.agentId }, { agentHost: '10.9.9.9' });
      const disallowed = await store('not-allowed');
      expect(disallowed.response.status).toBe(503);
      expect(disallowed.response.body.message).toBe('could not store not-allowed: the agent of host unreachable is not reachable');
      for (const { response, machine } of [refused, disallowed]) {
        const text = JSON.stringify([response.body, machine]);
        expect(text).not.toMatch(/127\.0\.0\.1|10\.9\.9\.9|refused at|ECONN/);
        expect(text).not.toContain(String(closedPort));
      }
    } finally {
      await t.close();
    }
  });
});
