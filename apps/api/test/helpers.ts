import type { NestExpressApplication } from '@nestjs/platform-express';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { DataSource } from 'typeorm';
import { CreateAppOptions, createApp } from '../src/app';
import { ENTITIES } from '../src/entities';

export type Agent = TestAgent;

export interface TestApp {
  app: NestExpressApplication;
  dir: string;
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

/** The real app on a real SQLite file in a temp directory; no daemons, a cheap bcrypt cost. */
export async function startApp(options: CreateAppOptions = {}): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), 'virtuoso-api-'));
  const app = await createApp({
    env: {},
    seed: true,
    daemons: false,
    docs: true,
    logger: false,
    ...options,
    config: { dbPath: join(dir, 'test.sqlite'), dataDir: dir, webDir: null, seedDemo: false, bcryptCost: 4, ...options.config },
  });
  const server = app.getHttpServer();
  const dataSource = app.get(DataSource);
  return {
    app,
    dir,
    anonymous: () => request.agent(server),
    async signUp(role, handle = uniqueHandle(role)) {
      const agent = request.agent(server);
      const response = await agent.post('/api/auth/signup').send({ handle, email: `${handle}@example.com`, password: 'correct horse', role });
      if (response.status !== 201) throw new Error(`sign-up failed: ${response.status} ${JSON.stringify(response.body)}`);
      return Object.assign(agent, { handle, userId: response.body.id as string });
    },
    async snapshot() {
      const tables: Record<string, unknown> = {};
      for (const entity of ENTITIES) tables[entity.name] = await dataSource.getRepository(entity).find({ order: { id: 'ASC' } as never });
      return tables;
    },
    async close() {
      await app.close();
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
