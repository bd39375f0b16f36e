import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentProcess, REPO, eventually, freePorts } from './agent-process';
import { type ApiProcess, startApiProcess } from './api-process';
import type { TestApp } from './helpers';
import { addAgentHost, win2000Pro } from './helpers';
import { type TestDatabase, testDatabase } from './test-database';

/** A new user of the API at `url`, signed in (a cookie agent). */
async function signUpAt(url: string, role: 'buyer' | 'provider', tag: string) {
  const agent = request.agent(url);
  const handle = `${role}-${process.pid}-${tag}`;
  const response = await agent.post('/api/auth/signup').send({ handle, email: `${handle}@example.com`, password: 'correct horse', role });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return agent;
}

/**
 * The REAL API as a child process, SIGKILLed while a migration is under way (the destination
 * agent held stopped, so the front-end is waiting on it) and started again on the same database
 * and port: at boot the unfinished migration is settled from migration.status of both agents —
 * the destination only prepared, so rolled back — and the agents are told (cleanedUp). The
 * machine is where it was, at its version; the agents agree; nothing is left reserved.
 */
describe('a front-end SIGKILLed mid-migration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'virtuoso-mcrash-'));
  let database: TestDatabase | null = null;
  let api: ApiProcess | null = null;
  const agents: AgentProcess[] = [];
  afterAll(async () => {
    await api?.kill('SIGKILL');
    await Promise.all(agents.map((agent) => agent.cleanup()));
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('settles the migration at restart from what the agents say, once', { timeout: 180_000 }, async () => {
    execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-b', 'apps/api'], { cwd: REPO, stdio: 'inherit' });
    const db = await testDatabase(dir);
    database = db;
    const [port] = await freePorts(1);
    const url = `http://127.0.0.1:${port}`;
    api = await startApiProcess({ VIRTUOSO_DATA_DIR: dir, ...db.env }, { port });
    const t = { url } as TestApp;
    const provider = await signUpAt(url, 'provider', 'crash');
    const buyer = await signUpAt(url, 'buyer', 'crash');
    const [a, b] = await Promise.all([
      AgentProcess.join(t, provider, { transfer: true, heartbeatMs: 300 }),
      AgentProcess.join(t, provider, { transfer: true, heartbeatMs: 300 }),
    ]);
    agents.push(a, b);
    const hostA = await addAgentHost(provider, a.agentId, { name: 'crashA' });
    const hostB = await addAgentHost(provider, b.agentId, { name: 'crashB' });
    await eventually(
      async () => Number((await db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM agents WHERE "transferSshPort" IS NOT NULL'))[0].n) === 2,
      'both agents reporting their transfer sshd',
    );
    const machine = (await buyer.post('/api/machines').send(win2000Pro({ name: 'crash-traveller', speed: 500, memory: 64, disk: 16 }))).body;
    const stored = await buyer.post(`/api/machines/${machine.id}/store`).send({ hostId: hostA.id });
    expect(stored.status, JSON.stringify(stored.body)).toBe(200);

    const started = await buyer.post(`/api/machines/${machine.id}/migrate`).send({ hostId: hostB.id, method: 'RSYNC' });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    b.signal('SIGSTOP');
    await api!.kill('SIGKILL');
    b.signal('SIGCONT');
    const [left] = await db.query<{ phase: string }>('SELECT phase FROM migrations WHERE id = ?', [started.body.id]);
    expect(['preparing', 'transferring']).toContain(left.phase);

    api = await startApiProcess({ VIRTUOSO_DATA_DIR: dir, ...db.env }, { port });
    const settled = await eventually(
      async () => {
        const m = (await buyer.get(`/api/machines/${machine.id}/migration`)).body;
        return m.phase === 'rolled-back' && m.cleanedUp ? m : undefined;
      },
      'the migration settled and acknowledged after the restart',
      60_000,
    );
    console.log(`after the restart: ${settled.error}`);
    expect(settled.error).toMatch(/^the front-end restarted mid-migration; the destination was (prepared|holding no copy|failed|pulling); rolled back$/);
    expect((await buyer.get(`/api/machines/${machine.id}`)).body).toMatchObject({ state: 'stored', version: 1, host: { id: hostA.id } });
    const reserved = await db.query<{ name: string; reservedSpeed: number }>('SELECT name, "reservedSpeed" FROM hosts ORDER BY name');
    expect(reserved).toEqual([
      { name: 'crashA', reservedSpeed: 500 },
      { name: 'crashB', reservedSpeed: 0 },
    ]);
    // The agents agree: A lists the machine at version 1, B does not list it.
    const versionAt = async (agentId: string) => {
      const [row] = await db.query<{ vms: string }>('SELECT vms FROM agents WHERE id = ?', [agentId]);
      return (JSON.parse(row.vms) as Array<{ machineId: string; version: number; state: string }>).find(
        (vm) => vm.machineId === machine.id && vm.state !== 'absent',
      )?.version;
    };
    await eventually(async () => (await versionAt(a.agentId)) === 1 && (await versionAt(b.agentId)) === undefined, 'the agents to agree');
    // Nothing is left exported on A: the machine starts there.
    const start = await buyer.post(`/api/machines/${machine.id}/start`);
    expect(start.status, JSON.stringify(start.body)).toBe(200);
    expect((await buyer.post(`/api/machines/${machine.id}/stop`).send({ force: true })).status).toBe(200);
  });
});

/**
 * The other outcome of the same crash: the API SIGKILLed in the middle of the copy. The
 * destination carries on, verifies its copy at version + 1 and cannot deliver its RESP; the API
 * started again settles the migration from the agents' status at boot — committed, once — and the
 * machine is on B at version + 1, B's copy the machine, A's a cache.
 */
describe('a front-end SIGKILLed mid-copy', () => {
  const dir = mkdtempSync(join(tmpdir(), 'virtuoso-mcrash2-'));
  let database: TestDatabase | null = null;
  let api: ApiProcess | null = null;
  const agents: AgentProcess[] = [];
  afterAll(async () => {
    await api?.kill('SIGKILL');
    await Promise.all(agents.map((agent) => agent.cleanup()));
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('commits at restart when the destination verified its copy meanwhile, once', { timeout: 180_000 }, async () => {
    execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-b', 'apps/api'], { cwd: REPO, stdio: 'inherit' });
    const db = await testDatabase(dir);
    database = db;
    const [port] = await freePorts(1);
    const url = `http://127.0.0.1:${port}`;
    api = await startApiProcess({ VIRTUOSO_DATA_DIR: dir, ...db.env }, { port });
    const provider = await signUpAt(url, 'provider', 'copy');
    const buyer = await signUpAt(url, 'buyer', 'copy');
    // Each destination copies at most 4 MiB/s: the 16 MB written below take about 4 s.
    const options = { transfer: true, heartbeatMs: 300, extraArgs: ['--transfer-limit-kbps', '4096'] };
    const [a, b] = await Promise.all([AgentProcess.join({ url } as TestApp, provider, options), AgentProcess.join({ url } as TestApp, provider, options)]);
    agents.push(a, b);
    const hostA = await addAgentHost(provider, a.agentId, { name: 'copyA' });
    const hostB = await addAgentHost(provider, b.agentId, { name: 'copyB' });
    await eventually(
      async () => Number((await db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM agents WHERE "transferSshPort" IS NOT NULL'))[0].n) === 2,
      'both agents reporting their transfer sshd',
    );
    const machine = (await buyer.post('/api/machines').send(win2000Pro({ name: 'copy-traveller', speed: 500, memory: 64, disk: 64 }))).body;
    expect((await buyer.post(`/api/machines/${machine.id}/store`).send({ hostId: hostA.id })).status).toBe(200);
    const writes = Array.from({ length: 16 }, (_, i) => ['-c', `write -P ${i + 1} ${i}M 1M`]).flat();
    execFileSync('qemu-io', ['-f', 'qcow2', ...writes, join(a.dataDir, 'machines', machine.id, 'disk.qcow2')], { stdio: 'ignore' });

    const started = await buyer.post(`/api/machines/${machine.id}/migrate`).send({ hostId: hostB.id, method: 'SCP' });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    await eventually(async () => {
      const m = (await buyer.get(`/api/machines/${machine.id}/migration`)).body as { phase: string; bytesDone: number };
      return m.phase === 'transferring' && m.bytesDone > 0;
    }, 'the copy to be under way');
    await api!.kill('SIGKILL');
    const [left] = await db.query<{ phase: string }>('SELECT phase FROM migrations WHERE id = ?', [started.body.id]);
    expect(left.phase).toBe('transferring');
    // With no front-end, the destination finishes and verifies its copy; the machine is not B's yet.
    const job = join(b.dataDir, 'migrations', started.body.id, 'job.json');
    await eventually(
      async () => existsSync(job) && (JSON.parse(readFileSync(job, 'utf8')) as { phase: string }).phase === 'verified',
      'the copy verified at B',
      60_000,
    );
    expect(existsSync(join(b.dataDir, 'machines', machine.id))).toBe(false);

    api = await startApiProcess({ VIRTUOSO_DATA_DIR: dir, ...db.env }, { port });
    const settled = await eventually(
      async () => {
        const m = (await buyer.get(`/api/machines/${machine.id}/migration`)).body;
        return m.phase === 'committed' && m.cleanedUp ? m : undefined;
      },
      'the migration committed and acknowledged after the restart',
      60_000,
    );
    expect(settled.toVersion).toBe(2);
    expect((await buyer.get(`/api/machines/${machine.id}`)).body).toMatchObject({ state: 'stored', version: 2, host: { id: hostB.id } });
    const reserved = await db.query<{ name: string; reservedSpeed: number }>('SELECT name, "reservedSpeed" FROM hosts ORDER BY name');
    expect(reserved).toEqual([
      { name: 'copyA', reservedSpeed: 0 },
      { name: 'copyB', reservedSpeed: 500 },
    ]);
    // Committed once: one storage charge on arrival at B, besides the store's at A.
    const charges = await db.query<{ hostId: string }>(`SELECT "hostId" FROM ledger_entries WHERE kind = 'storage' AND "machineId" = ?`, [machine.id]);
    expect(charges.map((c) => c.hostId).sort()).toEqual([hostA.id, hostB.id].sort());
    // B holds the machine at version 2, A a cache; the agents' reports agree.
    expect((JSON.parse(readFileSync(join(b.dataDir, 'machines', machine.id, 'machine.json'), 'utf8')) as { version: number }).version).toBe(2);
    expect(existsSync(join(a.dataDir, 'caches', machine.id))).toBe(true);
    expect(existsSync(join(a.dataDir, 'machines', machine.id))).toBe(false);
  });
});
