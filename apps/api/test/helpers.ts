import type { NestExpressApplication } from '@nestjs/platform-express';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import type { MachineMeter } from '@virtuoso/domain';
import { DataSource } from 'typeorm';
import { CreateAppOptions, createApp } from '../src/app';
import { ENTITIES } from '../src/entities';
import { Agent as AgentRow } from '../src/agents/agent.entity';
import { randomUUID } from 'node:crypto';
import { TestDatabase, testDatabase } from './test-database';

export type Agent = TestAgent;

export interface TestApp {
  app: NestExpressApplication;
  dir: string;
  /** The app's database (a SQLite file in `dir`, or a database of its own on the run's PostgreSQL cluster). */
  database: TestDatabase;
  /** http://127.0.0.1:<port> when started with listen: true (agents reach the API there), else ''. */
  url: string;
  /** A client without cookies. */
  anonymous(): Agent;
  /** Signs up a new user and returns a client holding its session cookie. */
  signUp(role: 'buyer' | 'provider', handle?: string): Promise<Agent & { handle: string; userId: string }>;
  /** Every row of every table, to assert that a refused request changed nothing. */
  snapshot(): Promise<unknown>;
  close(): Promise<void>;
}

let counter = 0;
export const uniqueHandle = (prefix: string) => `${prefix}-${process.pid}-${++counter}`;

/**
 * The real app on a real database (test-database.ts: a SQLite file in a temp directory, or a fresh
 * database on the run's PostgreSQL cluster); no daemons, a cheap bcrypt cost. With `listen`, it
 * listens on a loopback port so that real provider agents can join and heartbeat. With `database`
 * (another app's `t.database`, reopened after a restart), it runs on that one and leaves dropping
 * it to its owner.
 */
export async function startApp(
  options: CreateAppOptions & { listen?: boolean; listenHost?: string; port?: number; database?: TestDatabase } = {},
): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'virtuoso-api-'));
  const ownDatabase = !options.database;
  const database = options.database ?? (await testDatabase(dir));
  const app = await createApp({
    env: {},
    seed: true,
    daemons: false,
    docs: true,
    logger: false,
    ...options,
    // Blank test machines run SeaBIOS only, which ignores the ACPI power button: stops are forced after 1 s.
    config: { ...database.config, dataDir: dir, webDir: null, seedDemo: false, bcryptCost: 4, stopTimeoutMs: 1000, ...options.config },
  });
  let url = '';
  if (options.listen) {
    // listenHost '0.0.0.0': also reachable from a network namespace the test made; url stays loopback.
    // port: the one a restarted front-end comes back on, where its agents look for it.
    await app.listen(options.port ?? 0, options.listenHost ?? '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  }
  const server = app.getHttpServer();
  const dataSource = app.get(DataSource);
  return {
    app,
    dir,
    database,
    url,
    anonymous: () => request.agent(server),
    async signUp(role, handle = uniqueHandle(role)) {
      const agent = request.agent(server);
      const response = await agent.post('/api/auth/signup').send({ handle, email: `${handle}@example.com`, password: 'correct horse', role });
      if (response.status !== 201) throw new Error(`sign-up failed: ${response.status} ${JSON.stringify(response.body)}`);
      return Object.assign(agent, { handle, userId: response.body.id as string });
    },
    async snapshot() {
      const tables: Record<string, unknown> = {};
      for (const entity of ENTITIES) {
        // Nonces of agents' signed messages (heartbeats, downloads) are recorded on the agents' own clock too.
        if (entity.name === 'AgentNonce') continue;
        // The event log records attempts too (a command an agent refused, an error): it is what
        // happened, not a change a refused request made.
        if (entity.name === 'EventRow') continue;
        const repository = dataSource.getRepository(entity);
        const order = Object.fromEntries(repository.metadata.primaryColumns.map((column) => [column.propertyName, 'ASC']));
        const rows = (await repository.find({ order: order as never })) as unknown as Array<Record<string, unknown>>;
        // Heartbeats arrive on their own clock: what an agent last reported is not a change a request made.
        tables[entity.name] = entity.name === 'Agent' ? rows.map(({ facts: _f, vms: _v, lastHeartbeatAt: _l, ...rest }) => rest) : rows;
      }
      return tables;
    },
    async close() {
      await app.close();
      if (ownDatabase) await database.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The report's host virt8 (fig. 27/28): 10000 bogomips in 1000-unit chunks at 0.00001/s, 4 MB at 0.00001/s, 100 MB at 0.01/day. */
export const virt8 = (overrides: Record<string, unknown> = {}) => ({
  name: 'virt8',
  processor: 'Pentium3',
  speed: 10000,
  speedUnit: 1000,
  speedUnitPrice: '.00001',
  memory: 512,
  memoryUnit: 4,
  memoryUnitPrice: '.00001',
  runningUnitAmount: 3600,
  storage: 100000,
  storageUnit: 100,
  storageUnitPrice: '.01',
  storageAmount: 30,
  connectionSpeed: '1GB',
  agentHost: '129.105.44.205',
  agentPort: 8000,
  ...overrides,
});

/** The report's fig. 31 machine: 4000 bogomips, 256 MB, 1000 MB, asking 60 per month and 10.11 per hour. */
export const win2000Pro = (overrides: Record<string, unknown> = {}) => ({
  name: 'win2000Pro',
  processor: 'Pentium3',
  speed: 4000,
  os: 'winPro',
  memory: 256,
  disk: 1000,
  askedStoragePerMonth: '60',
  askedRunningPerHour: '10.11',
  ...overrides,
});

/** A machine stored at `storedAt` and never started: its period 0 charged, 10-minute slices of 0.01. */
export const storedIdle = (machineId: string, buyerId: string, providerId: string, storedAt: number): MachineMeter => ({
  machineId,
  buyerId,
  providerId,
  storagePrice: '0.5',
  storageAmountDays: 30,
  runningPrice: '0.01',
  runningUnitSeconds: 600,
  storedAt,
  storagePeriodsCharged: 1,
  slicesCharged: 0,
  prepaidMsLeft: 0,
  runningSince: null,
  asOf: storedAt,
  removedAt: null,
});

/** A host of `provider` served by `agentId`: virt8 with totals well within what an agent measures here (8000 bogomips, 20000 MB of disk). */
export async function addAgentHost(
  provider: Agent,
  agentId: string,
  overrides: Record<string, unknown> = {},
): Promise<{ id: string; name: string; speed: number }> {
  const body = virt8({ speed: 8000, storage: 20000, ...overrides, agentId });
  delete (body as Record<string, unknown>).agentHost;
  delete (body as Record<string, unknown>).agentPort;
  const response = await provider.post('/api/hosts').send(body);
  if (response.status !== 201) throw new Error(`adding host ${String(body.name)}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

/**
 * Runs `test`, then `cleanup` whether it passed or not. The test's own failure is the one reported:
 * a cleanup failing after it (a host left busy by what failed) would hide it, as `finally` does.
 */
export async function thenCleanUp(test: () => Promise<void>, cleanup: () => Promise<void>): Promise<void> {
  const failure = await test().then(
    () => undefined,
    (error: unknown) => ({ error }),
  );
  await cleanup().catch((error: unknown) => {
    if (!failure) throw error;
  });
  if (failure) throw failure.error;
}

/** Deletes every machine of `buyer` stored on the host (stopping running ones), then the host, which retires its agent. */
export async function retireHost(provider: Agent, buyer: Agent, hostId: string): Promise<void> {
  for (const machine of (await buyer.get('/api/machines')).body as Array<{ id: string; state: string; host: { id: string } | null }>) {
    if (machine.host?.id !== hostId) continue;
    if (machine.state === 'running') await buyer.post(`/api/machines/${machine.id}/stop`);
    if (machine.state === 'suspended' || machine.state === 'running' || machine.state === 'stored' || machine.state === 'stopped') {
      const deleted = await buyer.delete(`/api/machines/${machine.id}`);
      if (deleted.status !== 204) throw new Error(`deleting ${machine.id}: ${deleted.status} ${JSON.stringify(deleted.body)}`);
    }
  }
  const gone = await provider.delete(`/api/hosts/${hostId}`);
  if (gone.status !== 204) throw new Error(`deleting host ${hostId}: ${gone.status} ${JSON.stringify(gone.body)}`);
}

/**
 * Store search lists only hosts whose agent is online. Hosts added by hand have none: this gives
 * each a stand-in agent row that has just sent a heartbeat (no process behind it: searches only).
 * The app's agentOfflineMs must outlast the test (startApp's config: { agentOfflineMs: 3_600_000 }).
 */
export async function heardFrom(t: TestApp, hostIds: string[]): Promise<void> {
  const dataSource = t.app.get(DataSource);
  const now = new Date().toISOString();
  for (const hostId of hostIds) {
    const [host] = await t.database.query<{ ownerId: string }>('SELECT "ownerId" FROM "hosts" WHERE "id" = ?', [hostId]);
    const agentId = randomUUID();
    await dataSource.getRepository(AgentRow).insert({
      id: agentId,
      providerId: host.ownerId,
      secret: 'stand-in',
      agentHost: '127.0.0.1',
      agentPort: 9,
      consolePort: 9,
      facts: '{}',
      vms: '[]',
      lastHeartbeatAt: now,
      joinedAt: now,
    } as AgentRow);
    await t.database.query('UPDATE "hosts" SET "agentId" = ? WHERE "id" = ?', [agentId, hostId]);
  }
}
