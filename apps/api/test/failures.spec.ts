import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent as AgentRow } from '../src/agents/agent.entity';
import { ORPHAN_GRACE_MS, Reconciler } from '../src/agents/reconciler.service';
import { Database } from '../src/common/database.service';
import { Machine } from '../src/machines/machine.entity';
import { HostsService } from '../src/providers/hosts.service';
import { HOST_AGENT_GATEWAY, HostAgentGateway } from '../src/machines/host-agent.gateway';
import { AgentProcess, eventually } from './agent-process';
import { Agent, TestApp, addAgentHost, startApp, win2000Pro } from './helpers';

type User = Agent & { handle: string; userId: string };

/**
 * Failure behaviour with a REAL agent process and blank machines (SeaBIOS only, 64 MB): an
 * unreachable agent fails fast and changes nothing, a refusal returns the machine where it was,
 * an unanswered command leaves it to the reconciler, and the reconciler settles stuck machines
 * from the agent's heartbeats. Commands time out after 2 s here.
 */
describe.sequential('when the host agent fails', () => {
  let t: TestApp;
  let provider: User;
  let buyer: User;
  let agent: AgentProcess;
  let host: { id: string; name: string };
  const machines = () => t.app.get(DataSource).getRepository(Machine);
  const reconciler = () => t.app.get(Reconciler);

  beforeAll(async () => {
    t = await startApp({ listen: true, config: { agentCommandTimeoutMs: 2000, agentOfflineMs: 2000 } });
    provider = await t.signUp('provider');
    buyer = await t.signUp('buyer');
    agent = await AgentProcess.join(t, provider, { heartbeatMs: 300 });
    host = await addAgentHost(provider, agent.agentId, { name: 'flaky' });
  });
  afterAll(async () => {
    await agent?.cleanup();
    await t?.close();
  });

  const blank = async (name: string) => {
    const machine = (await buyer.post('/api/machines').send(win2000Pro({ name, speed: 500, memory: 64, disk: 16 }))).body;
    const stored = await buyer.post(`/api/machines/${machine.id}/store`).send({ hostId: host.id });
    expect(stored.status, JSON.stringify(stored.body)).toBe(200);
    return stored.body as { id: string; name: string; version: number };
  };
  const get = async (id: string) => (await buyer.get(`/api/machines/${id}`)).body;
  /** The agent's last heartbeat about a machine. */
  const reported = async (id: string) => {
    const row = await t.app.get(DataSource).getRepository(AgentRow).findOneByOrFail({ id: agent.agentId });
    return (JSON.parse(row.vms) as Array<{ machineId: string; state: string; version: number }>).find((vm) => vm.machineId === id);
  };
  /** Waits for a heartbeat taken after now (the reconciler trusts only those). */
  const freshHeartbeat = async () => {
    const since = Date.now();
    await new Promise((done) => setTimeout(done, 2100));
    await eventually(async () => {
      const row = await t.app.get(DataSource).getRepository(AgentRow).findOneByOrFail({ id: agent.agentId });
      return Date.parse(row.lastHeartbeatAt!) > since + 2000;
    }, 'a fresh heartbeat');
  };
  /** Puts a machine back in time, into a transient state it has been in for 10 minutes. */
  const stuck = async (id: string, state: Machine['state'], previousState: Machine['state'], since = Date.now() - 600_000) => {
    const at = new Date(since).toISOString();
    await machines().update({ id }, { state, previousState, transientSince: at, updatedAt: at });
  };

  it('fails fast when the agent is down: 503 naming the host in < 2 s, the machine back where it was, then works once the agent is back', async () => {
    const machine = await blank('down');
    await agent.kill('SIGKILL');
    const t0 = Date.now();
    const start = await buyer.post(`/api/machines/${machine.id}/start`);
    const ms = Date.now() - t0;
    console.log(`start on a dead agent answered in ${ms} ms`);
    expect(ms).toBeLessThan(2000);
    expect(start.status).toBe(503);
    expect(start.body.message).toBe('could not start down: the agent of host flaky is not reachable');
    expect(await get(machine.id)).toMatchObject({ state: 'stored', version: 1, lastError: start.body.message });
    // Storing on it fails the same way and releases the reservation.
    const other = (await buyer.post('/api/machines').send(win2000Pro({ name: 'not-stored', speed: 500, memory: 64, disk: 16 }))).body;
    const free = (await provider.get(`/api/hosts/${host.id}`)).body.free;
    const store = await buyer.post(`/api/machines/${other.id}/store`).send({ hostId: host.id });
    expect(store.status).toBe(503);
    expect(await get(other.id)).toMatchObject({ state: 'registered', version: 0, host: null });
    expect((await provider.get(`/api/hosts/${host.id}`)).body.free).toEqual(free);
    expect((await buyer.delete(`/api/machines/${machine.id}`)).status).toBe(503);
    expect(await get(machine.id)).toMatchObject({ state: 'stored', version: 1 });

    await agent.restart();
    expect((await buyer.post(`/api/machines/${machine.id}/start`)).body).toMatchObject({ state: 'running', version: 1, lastError: null });
    expect((await buyer.post(`/api/machines/${machine.id}/stop`)).body).toMatchObject({ state: 'stopped', version: 2, lastError: null });
    expect((await buyer.delete(`/api/machines/${machine.id}`)).status).toBe(204);
  });

  it("returns a machine the agent refuses to start to its previous state with the agent's reason (502); the reconciler then aligns the version", async () => {
    const machine = await blank('diverged');
    // The front-end's version drifts from the agent's (as after a lost reply).
    await machines().update({ id: machine.id }, { version: 5 });
    const start = await buyer.post(`/api/machines/${machine.id}/start`);
    expect(start.status).toBe(502);
    expect(start.body.message).toBe(
      `could not start diverged: the agent of host flaky refused: cannot start machine ${machine.id}: the agent holds version 1, the command is for version 5`,
    );
    expect(await get(machine.id)).toMatchObject({ state: 'stored', version: 5, lastError: start.body.message });
    await freshHeartbeat();
    expect(await reconciler().runPass()).toEqual({ settled: 1 });
    expect(await get(machine.id)).toMatchObject({ state: 'stored', version: 1 });
    expect((await buyer.post(`/api/machines/${machine.id}/start`)).body).toMatchObject({ state: 'running', version: 1, lastError: null });
    expect((await buyer.post(`/api/machines/${machine.id}/stop`)).status).toBe(200);
  });

  it('settles machines stuck in a transient state from the last heartbeat', async () => {
    const idle = await blank('stuck-starting');
    const busy = await blank('stuck-stopping');
    expect((await buyer.post(`/api/machines/${busy.id}/start`)).status).toBe(200);
    // As if the API had died in the middle of each action.
    await stuck(idle.id, 'starting', 'stored');
    await stuck(busy.id, 'stopping', 'running');
    // A machine whose action has not yet outlived its timeout is left alone.
    const fresh = await blank('just-starting');
    await machines().update({ id: fresh.id }, { state: 'starting', previousState: 'stored', transientSince: new Date().toISOString() });
    await freshHeartbeat();
    expect(await reconciler().runPass()).toEqual({ settled: 2 });
    expect(await get(idle.id)).toMatchObject({
      state: 'stored',
      version: 1,
      lastError: expect.stringMatching(/settled from the agent's heartbeat: the agent reports it stored/),
    });
    expect(await get(busy.id)).toMatchObject({ state: 'running', version: 1 });
    expect(await get(fresh.id)).toMatchObject({ state: 'starting' });
    // An hour later (as far as the reconciler knows) it settles that one too: the agent never started it.
    expect(await reconciler().runPass(Date.now() + 3600_000)).toEqual({ settled: 1 });
    expect(await get(fresh.id)).toMatchObject({ state: 'stored', version: 1 });
    expect((await buyer.post(`/api/machines/${busy.id}/stop`)).body).toMatchObject({ state: 'stopped', version: 2 });
  });

  it('deletes a stopped VM its agent holds for a machine not stored on its host, after a grace period; a running one is left alone', async () => {
    const kept = await blank('kept');
    const undone = await blank('undone');
    const busy = await blank('busy');
    expect((await buyer.post(`/api/machines/${busy.id}/start`)).status).toBe(200);
    // As if the reconciler had undone both stores while the agent was still carrying them out.
    for (const id of [undone.id, busy.id]) {
      // In the app's own transactions: one SQLite connection, serialised by Database.
      await t.app.get(Database).transaction(async (em) => {
        await t.app.get(HostsService).release(em, host.id, { speed: 500, memory: 64, disk: 16 });
        await em.update(
          Machine,
          { id },
          { state: 'registered', version: 0, hostId: null, storagePrice: null, storageAmount: null, runningPrice: null, runningUnitAmount: null },
        );
      });
    }
    await freshHeartbeat();
    expect(await reported(undone.id)).toMatchObject({ state: 'stopped' });
    expect(await reconciler().reclaimOrphans()).toBe(0); // first reported as orphans: not yet
    expect(await reconciler().reclaimOrphans(Date.now() + ORPHAN_GRACE_MS + 1000)).toBe(1);
    const target = { hostId: host.id, hostName: 'flaky', agentId: agent.agentId };
    const held = await t.app.get<HostAgentGateway>(HOST_AGENT_GATEWAY).listVms(target);
    expect(held.find((vm) => vm.machineId === undone.id)).toBeUndefined();
    expect(held.find((vm) => vm.machineId === busy.id)).toMatchObject({ state: 'running' });
    expect(held.find((vm) => vm.machineId === kept.id)).toMatchObject({ state: 'stopped' });
    expect(await get(kept.id)).toMatchObject({ state: 'stored', version: 1 });
    // The running one goes once it is stopped (here by the provider's agent, as a provider would).
    await t.app.get<HostAgentGateway>(HOST_AGENT_GATEWAY).stopVm(target, { machineId: busy.id, version: 1, timeoutMs: 500 });
    await freshHeartbeat();
    expect(await reconciler().reclaimOrphans(Date.now() + ORPHAN_GRACE_MS + 1000)).toBe(1);
    expect((await t.app.get<HostAgentGateway>(HOST_AGENT_GATEWAY).listVms(target)).find((vm) => vm.machineId === busy.id)).toBeUndefined();
    expect((await buyer.delete(`/api/machines/${kept.id}`)).status).toBe(204);
  });

  it('leaves an unanswered command to the reconciler (504), which settles the machine from what the agent did', async () => {
    const machine = await blank('frozen');
    agent.signal('SIGSTOP');
    try {
      const start = await buyer.post(`/api/machines/${machine.id}/start`);
      expect(start.status).toBe(504);
      expect(start.body.message).toBe(
        "start of frozen: the agent of host flaky did not answer vm.start within 2 s; the machine will be settled from the agent's heartbeats",
      );
      expect(await get(machine.id)).toMatchObject({ state: 'starting', lastError: start.body.message });
    } finally {
      agent.signal('SIGCONT');
    }
    // The agent carries out the start it had received; its heartbeats say so.
    await eventually(async () => (await reported(machine.id))?.state === 'running', 'the agent running it');
    await freshHeartbeat();
    expect(await reconciler().runPass(Date.now() + 60_000)).toEqual({ settled: 1 });
    expect(await get(machine.id)).toMatchObject({ state: 'running', version: 1, lastError: null });
    expect((await buyer.post(`/api/machines/${machine.id}/stop`)).body).toMatchObject({ state: 'stopped', version: 2 });
  });

  it("notices a run that ended without an event (the VMM killed behind the agent's back counts as a crash) and settles a stuck machine of a silent agent back", async () => {
    const machine = await blank('crashy');
    expect((await buyer.post(`/api/machines/${machine.id}/start`)).status).toBe(200);
    const gateway = t.app.get<HostAgentGateway>(HOST_AGENT_GATEWAY);
    expect((await gateway.listVms({ hostId: host.id, hostName: 'flaky', agentId: agent.agentId })).find((vm) => vm.machineId === machine.id)).toMatchObject({
      state: 'running',
    });
    agent.killVmm(machine.id);
    const crashed = await eventually(async () => {
      const now = await get(machine.id);
      return now.state === 'stopped' && now;
    }, 'the crash noticed');
    expect(crashed).toMatchObject({ version: 2, lastError: expect.stringMatching(/^the virtual machine ended unexpectedly: /) });

    // A silent agent: after the action's timeout and the offline threshold, back where it started.
    await agent.kill('SIGKILL');
    await stuck(machine.id, 'starting', 'stopped', Date.now());
    expect(await reconciler().runPass()).toEqual({ settled: 0 });
    expect(await reconciler().runPass(Date.now() + 600_000)).toEqual({ settled: 1 });
    expect(await get(machine.id)).toMatchObject({
      state: 'stopped',
      version: 2,
      lastError: expect.stringMatching(/has sent no heartbeat since: back to stopped/),
    });
    await agent.restart();
  });
});
