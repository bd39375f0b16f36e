import { ClientTCP } from '@nestjs/microservices';
import { AgentCommands, sign, type AgentReply } from '@virtuoso/contracts';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { firstValueFrom, timeout } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../src/common/database.service';
import { EventLog } from '../src/events/event-log.service';
import { AgentProcess, eventually } from './agent-process';
import { Agent, TestApp, startApp, virt8 } from './helpers';

interface Row {
  id: number;
  kind: string;
  message: string;
  agentSeq: number | null;
  hostId: string | null;
  source: string;
}

/**
 * The agent's journal reaches the front-end's log once each, in order (docs/ARCHITECTURE.md
 * "Event log"): across a front-end outage (the agent keeps its entries on disk and delivers them
 * once the front-end is back) and an agent restart with entries pending. A real agent; commands it
 * fails at once (vm.reboot of a machine it does not have) make its journal entries — no VM boots.
 */
describe('event log: delivery of agent events across an outage and a restart', () => {
  let first: TestApp;
  let second: TestApp | undefined;
  let provider: Agent;
  let agent: AgentProcess;
  let hostId: string;
  let secret: string;
  let port: number;

  /** A signed command straight to the agent, as the front-end sends them (the front-end may be down). */
  const command = async (machineId: string): Promise<AgentReply> => {
    const client = new ClientTCP({ host: '127.0.0.1', port: agent.port });
    await client.connect();
    try {
      const body = { machineId, version: 1 };
      return await firstValueFrom(client.send<AgentReply>(AgentCommands.reboot, sign(secret, agent.agentId, AgentCommands.reboot, body)).pipe(timeout(10_000)));
    } finally {
      client.close();
    }
  };
  const rows = (t: TestApp) =>
    t.database.query<Row>('SELECT "id", "kind", "message", "agentSeq", "hostId", "source" FROM "events" WHERE "agentId" = ? ORDER BY "id"', [agent.agentId]);
  const agentRows = async (t: TestApp) => (await rows(t)).filter((row) => row.source === 'agent').map((row) => ({ ...row, agentSeq: Number(row.agentSeq) }));

  beforeAll(async () => {
    first = await startApp({ listen: true, config: { agentOfflineMs: 1000 } });
    port = Number(new URL(first.url).port);
    provider = await first.signUp('provider');
    hostId = (await provider.post('/api/hosts').send(virt8())).body.id;
    agent = await AgentProcess.join(first, provider, { hostId, heartbeatMs: 300 });
    [{ secret }] = await first.database.query<{ secret: string }>('SELECT "secret" FROM "agents" WHERE "id" = ?', [agent.agentId]);
  });
  afterAll(async () => {
    await agent?.cleanup();
    await second?.close();
    await first.app.close().catch(() => undefined);
    await first.database.drop();
    rmSync(first.dir, { recursive: true, force: true });
  });

  it("records the agent's joining, its going offline and coming back in its host's history", async () => {
    const reply = await command(randomUUID());
    expect(reply).toMatchObject({ ok: false, code: 'not-found' });
    await eventually(async () => (await agentRows(first)).length >= 2, 'the journal of the first command');
    // A paused agent sends no heartbeat: the daemon pass notes the host offline, its next heartbeat online.
    agent.signal('SIGSTOP');
    await new Promise((done) => setTimeout(done, 1500));
    expect(await first.app.get(EventLog).runPass()).toMatchObject({ offline: 1 });
    expect(await first.app.get(EventLog).runPass()).toMatchObject({ offline: 0 });
    agent.signal('SIGCONT');
    await eventually(async () => (await rows(first)).some((row) => row.kind === 'host.online'), 'host.online');
    const history = await provider.get(`/api/hosts/${hostId}/events`).query({ order: 'asc' });
    expect(history.status).toBe(200);
    const kinds = (history.body.items as Row[]).map((row) => row.kind);
    expect(kinds.filter((kind) => kind.startsWith('agent.joined') || kind.startsWith('host.'))).toEqual([
      'host.created',
      'agent.joined',
      'host.offline',
      'host.online',
    ]);
    // The provider added the host and made its join token before the agent joined.
    expect(kinds.slice(0, 5)).toEqual(['host.created', 'agent.join-token', 'agent.joined', 'agent.command.received', 'agent.command.done']);
  });

  // Two front-ends started and stopped and an agent restarted: 3–7 s alone, but past the default
  // 60 s once in CI on PostgreSQL while guests booted beside it.
  it('delivers what the agent journalled while the front-end was down, and across its own restart, once each and in order', { timeout: 180_000 }, async () => {
    const before = await agentRows(first);
    // The front-end goes away (its database stays); the agent keeps working and journalling.
    await first.app.close();
    const outage = [randomUUID(), randomUUID()];
    for (const id of outage) expect(await command(id)).toMatchObject({ ok: false, code: 'not-found' });
    // Restarted with its entries pending (no front-end took them): they are on its disk, and numbering goes on.
    await agent.restart();
    expect(agent.output).toMatch(/4 journal entries queued for the front-end/);
    const afterRestart = randomUUID();
    expect(await command(afterRestart)).toMatchObject({ ok: false, code: 'not-found' });
    // The front-end comes back on the same database and port.
    second = await startApp({ listen: true, port, database: first.database });
    const expected = before.length + 6;
    const delivered = await eventually(async () => {
      const now = await agentRows(second!);
      return now.length >= expected && now;
    }, 'the queued journal');
    // A few more heartbeats: nothing arrives twice.
    await new Promise((done) => setTimeout(done, 1000));
    const all = await agentRows(second);
    expect(all).toHaveLength(expected);
    expect(all.map((row) => row.agentSeq)).toEqual(Array.from({ length: expected }, (_, i) => i + 1));
    expect(all.slice(0, delivered.length)).toEqual(delivered);
    const late = all.slice(before.length);
    expect(late.map((row) => row.message)).toEqual([
      'vm.reboot received',
      expect.stringMatching(new RegExp(`^vm.reboot failed: .*${outage[0]}`)),
      'vm.reboot received',
      expect.stringMatching(new RegExp(`^vm.reboot failed: .*${outage[1]}`)),
      'vm.reboot received',
      expect.stringMatching(new RegExp(`^vm.reboot failed: .*${afterRestart}`)),
    ]);
    expect(late.every((row) => row.hostId === hostId)).toBe(true);
    // A heartbeat whose acknowledgement was lost carries the same entries again: stored once.
    const [agentRow] = await second.database.query<{ id: string; providerId: string }>('SELECT "id", "providerId" FROM "agents" WHERE "id" = ?', [
      agent.agentId,
    ]);
    await second.app
      .get(Database)
      .transaction((em) =>
        second!.app.get(EventLog).recordJournal(em, agentRow, [{ seq: expected, at: new Date().toISOString(), kind: 'vm.reboot', message: 'resent' }]),
      );
    expect(await agentRows(second)).toEqual(all);
  });
});
