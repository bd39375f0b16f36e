import { CONSOLE_CLOSE } from '@virtuoso/contracts';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Agent as AgentRow } from '../src/agents/agent.entity';
import { AgentProcess, eventually } from './agent-process';
import { Agent, TestApp, addAgentHost, startApp } from './helpers';

type User = Agent & { handle: string; userId: string };
const MARKER = /VIRTUOSO-GUEST-READY/;

/**
 * The whole lifecycle of a preconfigured machine through the API, a REAL provider agent process
 * and a REAL QEMU guest (the tiny Linux built by tools/guest-image, 128 MB, TCG), then its console
 * through the API's websocket relay, and a power-off from inside the guest. Two guest boots in all.
 */
describe.sequential('a preconfigured machine on a real agent', () => {
  let t: TestApp;
  let provider: User;
  let buyer: User;
  let agent: AgentProcess;
  let host: { id: string; name: string };
  let machineId = '';
  let cookie = '';

  beforeAll(async () => {
    // The tiny Linux answers the ACPI power button: stops are graceful well within 15 s.
    t = await startApp({ listen: true, config: { stopTimeoutMs: 15_000, consoleTokenTtlMs: 4000 } });
    provider = await t.signUp('provider');
    buyer = await t.signUp('buyer');
    agent = await AgentProcess.join(t, provider, { heartbeatMs: 300 });
    host = await addAgentHost(provider, agent.agentId, { name: 'tcg-host' });
    const signIn = await t.anonymous().post('/api/auth/signin').send({ handle: buyer.handle, password: 'correct horse' });
    cookie = (signIn.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]).join('; ');
  });
  afterAll(async () => {
    await agent?.cleanup();
    await t?.close();
  });

  /** The machine as the agent's last heartbeat reported it. */
  const reported = async () => {
    const row = await t.app.get(DataSource).getRepository(AgentRow).findOneByOrFail({ id: agent.agentId });
    return (JSON.parse(row.vms) as Array<{ machineId: string; state: string; version: number; media: string | null }>).find((vm) => vm.machineId === machineId);
  };
  const reportedAs = (state: string, version: number) =>
    eventually(async () => {
      const vm = await reported();
      return vm?.state === state && vm.version === version && vm;
    }, `a heartbeat reporting ${state} v${version}`);
  const machine = async () => (await buyer.get(`/api/machines/${machineId}`)).body;
  const act = async (action: string, state: string, version: number) => {
    const t0 = Date.now();
    const response = await buyer.post(`/api/machines/${machineId}/${action}`).set('If-Match', `"${(await machine()).version}"`);
    const ms = Date.now() - t0;
    expect(response.status, `${action}: ${JSON.stringify(response.body)}`).toBe(200);
    expect(response.body).toMatchObject({ state, version, lastError: null });
    return ms;
  };

  it('stores the preconfigured tiny-linux: the agent fetches the image (signed, sha256) and holds the machine at version 1', async () => {
    const tiny = ((await t.anonymous().get('/api/catalog')).body as Array<{ id: string; name: string }>).find((entry) => entry.name === 'tiny-linux')!;
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
    expect(registered.status).toBe(201);
    machineId = registered.body.id;
    const t0 = Date.now();
    const stored = await buyer.post(`/api/machines/${machineId}/store`).send({ hostId: host.id });
    console.log(`store (image download + copy on the agent): ${Date.now() - t0} ms`);
    expect(stored.status, JSON.stringify(stored.body)).toBe(200);
    expect(stored.body).toMatchObject({ state: 'stored', version: 1, host: { id: host.id, name: 'tcg-host', online: true }, media: null, lastError: null });
    expect(agent.output).toMatch(/fetched images tiny-linux\.qcow2/);
    expect(await reportedAs('stopped', 1)).toEqual({ machineId, state: 'stopped', version: 1, media: null });
  });

  it('starts it: the guest boots (serial marker), heartbeats report it running', async () => {
    const t0 = Date.now();
    const ms = await act('start', 'running', 1);
    await reportedAs('running', 1);
    await agent.waitForSerial(machineId, MARKER);
    console.log(`start action → running: ${ms} ms; start request → guest's serial marker: ${Date.now() - t0} ms`);
    expect((await buyer.post(`/api/machines/${machineId}/start`)).status).toBe(409);
  });

  it('gives a console: the websocket relays RFB; reused, expired, foreign and cookie-less tokens get no byte; a new viewer replaces the old', async () => {
    const ticket = async (user = buyer) => {
      const response = await user.post(`/api/machines/${machineId}/console`);
      expect(response.status).toBe(201);
      expect(response.body).toEqual({ token: expect.any(String), path: `/api/console/ws?token=${response.body.token}`, expiresAt: expect.any(String) });
      return response.body as { token: string; path: string };
    };
    const open = (path: string, headers: Record<string, string> = { cookie }) => {
      const ws = new WebSocket(`${t.url.replace(/^http/, 'ws')}${path}`, ['binary'], { headers });
      const received: Buffer[] = [];
      ws.on('message', (data: Buffer) => received.push(Buffer.from(data)));
      const closed = new Promise<{ code: number; reason: string }>((done) => ws.on('close', (code, reason) => done({ code, reason: reason.toString() })));
      ws.on('error', () => undefined);
      const bytes = async (n: number) =>
        eventually(
          async () => {
            const all = Buffer.concat(received);
            return all.length >= n && all.subarray(0, n).toString('latin1');
          },
          `${n} RFB bytes`,
          10_000,
        );
      return { ws, received, closed, bytes };
    };

    const first = await ticket();
    // The SPA's own page: Origin is the API's.
    const v1 = open(first.path, { cookie, origin: t.url });
    expect(await v1.bytes(12)).toBe('RFB 003.008\n');
    expect(v1.ws.protocol).toBe('binary');
    // noVNC's handshake goes through: version, then QEMU's security types (1 type: None).
    v1.ws.send(Buffer.from('RFB 003.008\n'));
    await v1.bytes(14);
    expect([...Buffer.concat(v1.received).subarray(12, 14)]).toEqual([1, 1]);

    const refused = async (path: string, code: number, headers?: Record<string, string>) => {
      const viewer = open(path, headers);
      const closed = await viewer.closed;
      expect(closed.code).toBe(code);
      expect(viewer.received).toEqual([]);
      return closed.reason;
    };
    expect(await refused(first.path, CONSOLE_CLOSE.reusedToken)).toBe('console token already used; ask for a new one');
    expect(await refused('/api/console/ws?token=nonsense', CONSOLE_CLOSE.unknownToken)).toBe('unknown console token');
    const stranger = await t.signUp('buyer');
    const strangerCookie = (await t.anonymous().post('/api/auth/signin').send({ handle: stranger.handle, password: 'correct horse' })).headers[
      'set-cookie'
    ] as unknown as string[];
    const contested = await ticket();
    expect(await refused(contested.path, CONSOLE_CLOSE.foreignToken, { cookie: strangerCookie[0].split(';')[0] })).toBe(
      'this console token belongs to another user',
    );
    // The stranger did not use it up: its owner still can (this viewer replaces v1).
    const owner = open(contested.path);
    expect(await owner.bytes(12)).toBe('RFB 003.008\n');
    owner.ws.close();
    await owner.closed;
    // Another site's page cannot open it with the buyer's cookie: refused before the websocket opens.
    const fromOtherSite = await new Promise<number>((done) => {
      const ws = new WebSocket(`${t.url.replace(/^http/, 'ws')}${contested.path}`, ['binary'], { headers: { cookie, origin: 'http://evil.example' } });
      ws.on('unexpected-response', (_request, response) => {
        done(response.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('open', () => done(101));
      ws.on('error', () => undefined);
    });
    expect(fromOtherSite).toBe(403);
    expect(await refused((await ticket()).path, CONSOLE_CLOSE.notSignedIn, {})).toMatch(/^sign in first/);
    const late = await ticket();
    await new Promise((done) => setTimeout(done, 4200));
    expect(await refused(late.path, CONSOLE_CLOSE.expiredToken)).toBe('console token expired; ask for a new one');
    // Another buyer cannot even ask for one.
    expect((await stranger.post(`/api/machines/${machineId}/console`)).status).toBe(404);

    // A bearer token works as well as the cookie; the new viewer replaces the old one.
    const bearer = (await buyer.post('/api/auth/tokens').send({ name: 'console' })).body.token as string;
    const v2 = open((await ticket()).path, { authorization: `Bearer ${bearer}` });
    expect(await v2.bytes(12)).toBe('RFB 003.008\n');
    const replaced = await v1.closed;
    expect(replaced).toEqual({ code: CONSOLE_CLOSE.replaced, reason: 'replaced by a new viewer' });
    v2.ws.close();
    await v2.closed;
  });

  it('suspends (version 2, as the agent counts), refuses a console while suspended, resumes, stops gracefully (version 3)', async () => {
    // A token taken while running is worth nothing once the machine is not.
    const early = (await buyer.post(`/api/machines/${machineId}/console`)).body as { path: string };
    let ms = await act('suspend', 'suspended', 2);
    const ws = new WebSocket(`${t.url.replace(/^http/, 'ws')}${early.path}`, ['binary'], { headers: { cookie } });
    const bytes: Buffer[] = [];
    ws.on('message', (data: Buffer) => bytes.push(data));
    const closed = await new Promise<{ code: number; reason: string }>((done) => ws.on('close', (code, reason) => done({ code, reason: reason.toString() })));
    expect(closed).toEqual({ code: CONSOLE_CLOSE.notRunning, reason: 'no console: Cannot console a machine that is suspended' });
    expect(bytes).toEqual([]);
    await reportedAs('suspended', 2);
    console.log(`suspend action: ${ms} ms`);
    const noConsole = await buyer.post(`/api/machines/${machineId}/console`);
    expect(noConsole.status).toBe(409);
    expect(noConsole.body).toMatchObject({ message: 'Cannot console a machine that is suspended', allowedActions: ['resume', 'migrate', 'delete'] });
    expect((await buyer.post(`/api/machines/${machineId}/keys`).send({ keys: ['ctrl', 'alt', 'delete'] })).status).toBe(409);

    ms = await act('resume', 'running', 2);
    await reportedAs('running', 2);
    console.log(`resume action: ${ms} ms`);
    const from = agent.serialLog(machineId).length;
    await eventually(async () => /tick \d+/.test(agent.serialLog(machineId).slice(from)), 'the guest ticking again after resume');

    ms = await act('stop', 'stopped', 3);
    await reportedAs('stopped', 3);
    expect(agent.serialLog(machineId)).toContain('VIRTUOSO-GUEST-POWERDOWN'); // ACPI, not forced
    console.log(`stop action (ACPI power-off): ${ms} ms`);
  });

  it('reboots (Ctrl-Alt-Del asked of the guest) and resets it: it boots again, still running at version 3; so does a Ctrl-Alt-Del from the console', async () => {
    const readyCount = () => (agent.serialLog(machineId).match(/VIRTUOSO-GUEST-READY/g) ?? []).length;
    const booted = (count: number) => eventually(async () => readyCount() >= count, `the guest's boot number ${count}`, 60_000);
    let boots = readyCount();
    await act('start', 'running', 3);
    await booted(boots + 1);
    const running = await machine();
    expect(running).toMatchObject({
      state: 'running',
      allowedActions: ['stop', 'reboot', 'reset', 'suspend', 'console'],
      hasOperatingSystem: true,
      stopTimeoutSeconds: 15,
    });

    // A stale If-Match is refused before anything reaches the agent.
    expect((await buyer.post(`/api/machines/${machineId}/reboot`).set('If-Match', '"2"')).status).toBe(412);

    boots = readyCount();
    const rebooted = await buyer.post(`/api/machines/${machineId}/reboot`).set('If-Match', '"3"');
    expect(rebooted.status, JSON.stringify(rebooted.body)).toBe(200);
    expect(rebooted.body).toMatchObject({ state: 'running', version: 3, lastError: null });
    await booted(boots + 1);
    expect(agent.serialLog(machineId)).toContain('VIRTUOSO-GUEST-REBOOT');
    expect(await machine()).toMatchObject({ state: 'running', version: 3 });
    expect(await reported()).toMatchObject({ state: 'running', version: 3 });

    boots = readyCount();
    const rebootMarks = (agent.serialLog(machineId).match(/VIRTUOSO-GUEST-REBOOT/g) ?? []).length;
    const reset = await buyer.post(`/api/machines/${machineId}/reset`).set('If-Match', '"3"');
    expect(reset.status, JSON.stringify(reset.body)).toBe(200);
    expect(reset.body).toMatchObject({ state: 'running', version: 3, lastError: null });
    await booted(boots + 1);
    expect((agent.serialLog(machineId).match(/VIRTUOSO-GUEST-REBOOT/g) ?? []).length).toBe(rebootMarks); // not asked of the guest

    // The console's Ctrl-Alt-Del is the same keys: the guest reboots, the machine stays running.
    boots = readyCount();
    expect((await buyer.post(`/api/machines/${machineId}/keys`).send({ keys: ['ctrl', 'alt', 'delete'] })).status).toBe(204);
    await booted(boots + 1);
    expect(await machine()).toMatchObject({ state: 'running', version: 3, lastError: null });
  }, 240_000);

  it('notices a power-off from inside the guest (poweroff typed on its keyboard): stopped with version + 1 from the heartbeat event', async () => {
    expect((await buyer.post(`/api/machines/${machineId}/keys`).send({ keys: ['ctrl', 'alt'] })).status).toBe(204);
    const bad = await buyer.post(`/api/machines/${machineId}/keys`).send({ keys: ['Ctrl+Alt'] });
    expect(bad.status).toBe(400);
    expect(bad.body.fields.keys).toBeDefined();

    const t0 = Date.now();
    // Typed on tty1 like a person would; typed again if the shell had not taken the keys yet.
    let typedAt = 0;
    const type = async () => {
      typedAt = Date.now();
      for (const key of ['ret', 'p', 'o', 'w', 'e', 'r', 'o', 'f', 'f', 'spc', 'minus', 'f', 'ret']) {
        if ((await buyer.post(`/api/machines/${machineId}/keys`).send({ keys: [key] })).status !== 204) return;
      }
    };
    const stopped = await eventually(
      async () => {
        const now = await machine();
        if (now.state === 'stopped') return now;
        if (Date.now() - typedAt > 10_000) await type();
        return false;
      },
      'the machine stopped by the guest',
      60_000,
    );
    console.log(`poweroff typed → machine stopped in the API: ${Date.now() - t0} ms`);
    expect(stopped).toMatchObject({ state: 'stopped', version: 4, lastError: null, allowedActions: ['start', 'migrate', 'delete'] });
    expect(await reported()).toMatchObject({ state: 'stopped', version: 4 });
  });

  it('force-stops it: powered off at once without the power button, a stop like any other (version 5)', async () => {
    await act('start', 'running', 4);
    const from = agent.serialLog(machineId).length;
    await eventually(async () => MARKER.test(agent.serialLog(machineId).slice(from)), 'the guest booted again', 60_000);
    const bad = await buyer.post(`/api/machines/${machineId}/stop`).send({ force: 'yes' });
    expect(bad.status).toBe(400);
    expect(bad.body.fields.force).toEqual(['force must be true or false']);
    expect((await machine()).state).toBe('running');

    const stopped = await buyer.post(`/api/machines/${machineId}/stop`).set('If-Match', '"4"').send({ force: true });
    expect(stopped.status, JSON.stringify(stopped.body)).toBe(200);
    expect(stopped.body).toMatchObject({ state: 'stopped', version: 5, lastError: null });
    expect(agent.serialLog(machineId).slice(from)).not.toContain('VIRTUOSO-GUEST-POWERDOWN'); // not asked
    expect(agent.output).toMatch(/stopped \(forced, as asked\), version 5/);
    await reportedAs('stopped', 5);
    // Neither reboot nor reset applies to a stopped machine.
    const refused = await buyer.post(`/api/machines/${machineId}/reboot`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ message: 'Cannot reboot a machine that is stopped', allowedActions: ['start', 'migrate', 'delete'] });
    expect((await buyer.post(`/api/machines/${machineId}/reset`)).status).toBe(409);
  }, 120_000);

  it('deletes it: gone from the agent, the host freed', async () => {
    const response = await buyer.delete(`/api/machines/${machineId}`).set('If-Match', '"5"');
    expect(response.status).toBe(204);
    await eventually(async () => (await reported()) === undefined, 'the machine gone from heartbeats');
    expect((await provider.get(`/api/hosts/${host.id}`)).body).toMatchObject({ machineCount: 0, free: { speed: 8000, memory: 512, storage: 20000 } });
  });
});
