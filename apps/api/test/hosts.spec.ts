import { ClientTCP } from '@nestjs/microservices';
import { AgentCommands, type AgentReply, sign } from '@virtuoso/contracts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstValueFrom } from 'rxjs';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent as AgentRow } from '../src/agents/agent.entity';
import { AgentProcess, eventually } from './agent-process';
import { Agent, TestApp, addAgentHost, startApp, virt8, win2000Pro } from './helpers';

/** Sends one command signed with the agent's own secret straight to its command port. */
async function command(agent: AgentProcess, identity: { agentId: string; secret: string }, pattern: string, body: unknown = {}): Promise<AgentReply> {
  const client = new ClientTCP({ host: '127.0.0.1', port: agent.port });
  try {
    await client.connect();
    return await firstValueFrom(client.send<AgentReply>(pattern, sign(identity.secret, identity.agentId, pattern, body)));
  } finally {
    client.close();
  }
}

describe('provider hosts', () => {
  let t: TestApp;
  let provider: Agent & { handle: string };
  beforeAll(async () => {
    t = await startApp({ listen: true });
    provider = await t.signUp('provider');
  });
  afterAll(() => t.close());

  it('adds a host with every field of fig. 27, prices made canonical, everything free', async () => {
    const response = await provider.post('/api/hosts').send(virt8({ name: 'add-me', speedUnitPrice: '1e-05' }));
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({
      ...virt8({ name: 'add-me', speedUnitPrice: '0.00001', memoryUnitPrice: '0.00001', storageUnitPrice: '0.01' }),
      owner: provider.handle,
      free: { speed: 10000, memory: 512, storage: 100000 },
      machineCount: 0,
      // Added by hand: no agent yet, so offline.
      agentId: null,
      online: false,
      lastHeartbeatAt: null,
      facts: null,
    });
    expect((await provider.get(`/api/hosts/${response.body.id}`)).body).toEqual(response.body);
    expect((await provider.get('/api/hosts')).body.map((h: { name: string }) => h.name)).toContain('add-me');
  });

  it('refuses bad fields with 400 naming the field, creating nothing', async () => {
    const before = await t.snapshot();
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [virt8({ speed: 0 }), 'speed', /speed must be at least 1/],
      [virt8({ speed: 10.5 }), 'speed', /speed must be a whole number/],
      [virt8({ speedUnitPrice: 0.00001 }), 'speedUnitPrice', /written as a string/],
      [virt8({ memoryUnitPrice: '-1' }), 'memoryUnitPrice', /non-negative decimal/],
      [virt8({ storageUnitPrice: '0.0000000000001' }), 'storageUnitPrice', /at most 12 digits/],
      [virt8({ agentPort: 70000 }), 'agentPort', /at most 65535/],
      [virt8({ agentHost: 'not a host!' }), 'agentHost', /host name or IP/],
      [virt8({ name: undefined }), 'name', /name must be 1 to 60/],
      [virt8({ owner: 'someone' }), 'owner', /property owner should not exist/],
      [virt8({ agentHost: undefined }), 'agentHost', /host name or IP/],
      [virt8({ agentId: 'not-an-agent' }), 'agentId', /agentId must be the id of one of your joined agents/],
      [virt8({ agentId: '00000000-0000-4000-8000-000000000000' }), 'agentId', /agentId must be the id of one of your joined agents/],
    ];
    for (const [body, field, message] of cases) {
      const response = await provider.post('/api/hosts').send(body);
      expect(response.status, field).toBe(400);
      expect(response.body.message, field).toMatch(message);
      expect(response.body.fields[field], field).toBeDefined();
    }
    expect(await t.snapshot()).toEqual(before);
  });

  it('refuses a second host of the same name with 409', async () => {
    await provider.post('/api/hosts').send(virt8({ name: 'twin' }));
    const response = await provider.post('/api/hosts').send(virt8({ name: 'twin' }));
    expect(response.status).toBe(409);
    expect(response.body.fields.name[0]).toMatch(/already have a host named twin/);
  });

  it('edits units, prices and periods but not totals or other fields (400 naming the field, nothing changed)', async () => {
    const host = (await provider.post('/api/hosts').send(virt8({ name: 'editable' }))).body;
    const edited = await provider.patch(`/api/hosts/${host.id}`).send({ speedUnitPrice: '0.00002', memoryUnit: 8, storageAmount: 10 });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({ speedUnitPrice: '0.00002', memoryUnit: 8, storageAmount: 10, speed: 10000 });

    const before = await t.snapshot();
    for (const field of ['speed', 'memory', 'storage', 'agentId']) {
      const response = await provider.patch(`/api/hosts/${host.id}`).send({ [field]: 1, speedUnitPrice: '1' });
      expect(response.status).toBe(400);
      expect(response.body.message).toBe(`${field} cannot be changed after the host is added`);
      expect(response.body.fields[field]).toEqual([`${field} cannot be changed after the host is added`]);
    }
    const renamed = await provider.patch(`/api/hosts/${host.id}`).send({ name: 'other' });
    expect(renamed.body.message).toBe('name cannot be changed after the host is added');
    const nulled = await provider.patch(`/api/hosts/${host.id}`).send({ speedUnit: null });
    expect(nulled.status).toBe(400);
    expect(nulled.body.fields.speedUnit).toBeDefined();
    const bad = await provider.patch(`/api/hosts/${host.id}`).send({ storageUnit: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.fields.storageUnit).toBeDefined();
    expect(await t.snapshot()).toEqual(before);
  });

  it('deletes a host with nothing stored; refuses while machines are stored, naming the host and count', async () => {
    const empty = (await provider.post('/api/hosts').send(virt8({ name: 'empty' }))).body;
    expect((await provider.delete(`/api/hosts/${empty.id}`)).status).toBe(204);
    expect((await provider.get(`/api/hosts/${empty.id}`)).status).toBe(404);

    // Storing needs the host's agent: a real one, whose machines are real (blank) QEMU disks.
    const agent = await AgentProcess.join(t, provider);
    try {
      const busy = await addAgentHost(provider, agent.agentId, { name: 'busy' });
      const buyer = await t.signUp('buyer');
      for (const name of ['one', 'two']) {
        const machine = (await buyer.post('/api/machines').send(win2000Pro({ name }))).body;
        expect((await buyer.post(`/api/machines/${machine.id}/store`).send({ hostId: busy.id })).status).toBe(200);
      }
      const before = await t.snapshot();
      const refused = await provider.delete(`/api/hosts/${busy.id}`);
      expect(refused.status).toBe(409);
      expect(refused.body.message).toBe('host busy still stores 2 machines; they must leave first');
      expect(await t.snapshot()).toEqual(before);
      expect((await provider.get(`/api/hosts/${busy.id}`)).body.machineCount).toBe(2);

      // Once they are gone, it can go.
      for (const machine of (await buyer.get('/api/machines')).body) {
        expect((await buyer.delete(`/api/machines/${machine.id}`)).status).toBe(204);
      }
      expect((await provider.get(`/api/hosts/${busy.id}`)).body).toMatchObject({ machineCount: 0, free: { speed: 8000, memory: 512, storage: 20000 } });
      expect((await provider.delete(`/api/hosts/${busy.id}`)).status).toBe(204);
    } finally {
      await agent.cleanup();
    }
  });

  it("tells a deleted host's agent to stop serving: it refuses every command, stops heartbeating, says why, stays retired after a restart, and serves again only after a new join", async () => {
    const agent = await AgentProcess.join(t, provider, { heartbeatMs: 200 });
    const agents = t.app.get(DataSource).getRepository(AgentRow);
    try {
      const host = await addAgentHost(provider, agent.agentId, { name: 'to-retire' });
      const identity = JSON.parse(readFileSync(join(agent.dataDir, 'agent.json'), 'utf8')) as { agentId: string; secret: string };
      expect(await command(agent, identity, AgentCommands.facts)).toMatchObject({ ok: true });

      expect((await provider.delete(`/api/hosts/${host.id}`)).status).toBe(204);
      await agent.waitFor(/retired by the front-end: its host to-retire was deleted from the market; refusing every command and sending no more heartbeats/);
      expect(JSON.parse(readFileSync(join(agent.dataDir, 'agent.json'), 'utf8'))).toMatchObject({
        agentId: identity.agentId,
        retiredAt: expect.any(String),
        retiredReason: 'its host to-retire was deleted from the market',
      });
      // The market forgets it: its secret no longer works here and no host can take it.
      await eventually(async () => (await agents.findOneBy({ id: identity.agentId })) === null, 'the agent forgotten');
      const taken = await provider.post('/api/hosts').send(virt8({ name: 'to-retire-again', agentId: identity.agentId }));
      expect(taken.status).toBe(400);
      expect(taken.body.fields.agentId).toBeDefined();
      // A correctly signed command is refused, and says why.
      expect(await command(agent, identity, AgentCommands.facts)).toEqual({
        ok: false,
        code: 'refused',
        error: 'this agent no longer serves: its host to-retire was deleted from the market',
      });
      // No heartbeat leaves it any more (a refused one would be logged as failed).
      const heartbeatsBefore = agent.output.match(/heartbeat/g)?.length ?? 0;
      await new Promise((done) => setTimeout(done, 1_000));
      expect(agent.output.match(/heartbeat/g)?.length ?? 0).toBe(heartbeatsBefore);

      // A restart does not serve again: it stops, saying why and what to do.
      await agent.restartWith();
      await agent.waitFor(
        /cannot start: agent \S+ was retired by .* \(its host to-retire was deleted from the market\); it serves no more: to serve a host again, start it with a new join token \(--join\)/,
      );
      await agent.ended();

      // With a new join token it joins again under a new identity and can serve a host.
      const token = await provider.post('/api/agents/join-tokens').send({});
      await agent.restartWith(['--join', token.body.token]);
      const ready = await agent.waitFor(/ready: agent (\S+),/);
      expect(ready[1]).not.toBe(identity.agentId);
      expect((await addAgentHost(provider, ready[1], { name: 'served-again' })).name).toBe('served-again');
    } finally {
      await agent.cleanup();
    }
  });
});
