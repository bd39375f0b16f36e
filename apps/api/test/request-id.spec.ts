import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentProcess, eventually } from './agent-process';
import { type TestApp, addAgentHost, retireHost, startApp, thenCleanUp, win2000Pro } from './helpers';

/**
 * One user action followed across processes (docs/ARCHITECTURE.md, Operating): the request's id
 * (X-Request-Id, honoured when well-formed) is answered in its header, signed into the agent
 * commands it sends, and carried by the agent's JSON log lines for that command's work.
 */
describe('request ids', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp({ listen: true });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers a well-formed X-Request-Id as given, and a new id for a missing or malformed one', async () => {
    expect((await t.anonymous().get('/api/health').set('X-Request-Id', 'abc-123.trace:1')).headers['x-request-id']).toBe('abc-123.trace:1');
    expect((await t.anonymous().get('/api/health')).headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const malformed = await t.anonymous().get('/api/health').set('X-Request-Id', 'has spaces and "quotes"');
    expect(malformed.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("carries the request's id into the agent command it sends and the agent's JSON log lines for it", async () => {
    const provider = await t.signUp('provider');
    const buyer = await t.signUp('buyer');
    const agent = await AgentProcess.join(t, provider);
    try {
      const host = await addAgentHost(provider, agent.agentId);
      await thenCleanUp(
        async () => {
          const machine = (await buyer.post('/api/machines').send(win2000Pro())).body as { id: string; version: number };
          const requestId = `abc-store-${process.pid}`;
          // Storing creates the machine's blank disk on the host (vm.create): no guest boots.
          const stored = await buyer
            .post(`/api/machines/${machine.id}/store`)
            .set('X-Request-Id', requestId)
            .set('If-Match', `"${machine.version}"`)
            .send({ hostId: host.id });
          expect(stored.status, JSON.stringify(stored.body)).toBeLessThan(300);
          expect(stored.headers['x-request-id']).toBe(requestId);
          const lines = await eventually(async () => {
            const json = agent.output
              .split('\n')
              .filter((line) => line.startsWith('{'))
              .map((line) => JSON.parse(line) as Record<string, unknown>)
              .filter((line) => line.requestId === requestId);
            return json.some((line) => line.msg === 'command done') ? json : undefined;
          }, `the agent's JSON log lines with requestId ${requestId}`);
          expect(lines.map((line) => [line.command, line.msg])).toEqual([
            ['vm.create', 'command received'],
            ['vm.create', 'machine created'],
            ['vm.create', 'command done'],
          ]);
        },
        () => retireHost(provider, buyer, host.id),
      );
    } finally {
      await agent.cleanup();
    }
  });
});
