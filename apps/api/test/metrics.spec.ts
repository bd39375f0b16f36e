import { sign } from '@virtuoso/contracts';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingPassService } from '../src/billing/billing-pass.service';
import { HealthController } from '../src/health/health.controller';
import { type Agent, type TestApp, startApp, win2000Pro } from './helpers';

/** A provider made operator in the database (the operator command's own test is operator.spec.ts). */
async function operatorOf(t: TestApp): Promise<Agent> {
  const user = await t.signUp('provider');
  await t.database.query(`UPDATE "users" SET "role" = 'operator' WHERE "id" = ?`, [user.userId]);
  return user;
}

/** The value of one sample line of the exposition text, e.g. `virtuoso_heartbeats_received_total`; 0 when absent. */
function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

const METRIC_TYPES = {
  virtuoso_http_request_duration_seconds: 'histogram',
  virtuoso_heartbeats_received_total: 'counter',
  virtuoso_heartbeats_shed_total: 'counter',
  virtuoso_agent_commands_total: 'counter',
  virtuoso_billing_charges_total: 'counter',
  virtuoso_billing_pass_duration_seconds: 'histogram',
  virtuoso_migrations_total: 'counter',
  virtuoso_agents_online: 'gauge',
  virtuoso_machines: 'gauge',
};

describe('metrics and readiness', () => {
  let t: TestApp;
  let operator: Agent;

  beforeAll(async () => {
    t = await startApp();
    operator = await operatorOf(t);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('exposes every metric with its TYPE line, to operators only (a session or a bearer API token)', async () => {
    expect((await t.anonymous().get('/api/metrics')).status).toBe(401);
    expect((await (await t.signUp('buyer')).get('/api/metrics')).status).toBe(403);
    const response = await operator.get('/api/metrics');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain;.*version=0\.0\.4/);
    for (const [name, type] of Object.entries(METRIC_TYPES)) expect(response.text).toContain(`# TYPE ${name} ${type}\n`);

    const token = await operator.post('/api/auth/tokens').send({ name: 'prometheus' });
    expect(token.status).toBe(201);
    const scraped = await t.anonymous().get('/api/metrics').set('Authorization', `Bearer ${token.body.token}`);
    expect(scraped.status).toBe(200);
    expect(scraped.text).toContain('# TYPE virtuoso_agents_online gauge');
  });

  it('counts requests by route pattern, heartbeats received, and reads machines by state and agents online at the scrape', async () => {
    const healthCount = 'virtuoso_http_request_duration_seconds_count{method="GET",route="/api/health",status="200"}';
    const before = (await operator.get('/api/metrics')).text;
    for (let i = 0; i < 3; i++) expect((await t.anonymous().get('/api/health')).status).toBe(200);

    const provider = await t.signUp('provider');
    const made = (await provider.post('/api/agents/join-tokens').send({})).body;
    const facts = { bogomips: 1000, cpus: 1, memoryMb: 1024, freeDiskMb: 1000, accelerator: 'tcg', agentVersion: '0.1.0', hostname: 'h' };
    const joined = (
      await t.anonymous().post('/api/agents/join').send({ joinToken: made.token, agentHost: '127.0.0.1', agentPort: 7000, consolePort: 7001, facts })
    ).body as { agentId: string; secret: string };
    for (let i = 0; i < 2; i++) {
      const beat = sign(joined.secret, joined.agentId, '/api/agents/heartbeat', { agentId: joined.agentId, facts, vms: [], events: [] });
      expect((await t.anonymous().post('/api/agents/heartbeat').send(beat)).status).toBeLessThan(300);
    }
    const buyer = await t.signUp('buyer');
    expect((await buyer.get('/api/machines/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await buyer.post('/api/machines').send(win2000Pro())).status).toBe(201);

    const after = (await operator.get('/api/metrics')).text;
    expect(sample(after, healthCount)).toBe(sample(before, healthCount) + 3);
    expect(sample(after, 'virtuoso_heartbeats_received_total')).toBe(sample(before, 'virtuoso_heartbeats_received_total') + 2);
    // The pattern, never the raw URL (a machine id would make a series per machine).
    expect(after).toContain('route="/api/machines/:id",status="404"');
    expect(after).not.toContain('00000000-0000-4000-8000-000000000000');
    expect(sample(after, 'virtuoso_agents_online')).toBe(1);
    expect(sample(after, 'virtuoso_machines{state="registered"}')).toBe(1);

    // A billing pass (the leader's daemon runs them; here by hand) is timed.
    await t.app.get(BillingPassService).runPass();
    const billed = (await operator.get('/api/metrics')).text;
    expect(sample(billed, 'virtuoso_billing_pass_duration_seconds_count')).toBe(sample(after, 'virtuoso_billing_pass_duration_seconds_count') + 1);
  });

  it('is ready while the database answers with every schema migration applied; 503 with a reason otherwise', async () => {
    expect((await t.anonymous().get('/api/health/ready')).body).toMatchObject({ status: 'ready' });
    const [last] = await t.database.query<{ id: number; timestamp: number | string; name: string }>(
      'SELECT "id", "timestamp", "name" FROM "schema_migrations" ORDER BY "id" DESC LIMIT 1',
    );
    await t.database.query('DELETE FROM "schema_migrations" WHERE "id" = ?', [last.id]);
    const pending = await t.anonymous().get('/api/health/ready');
    expect(pending.status).toBe(503);
    expect(pending.body).toMatchObject({ status: 'not-ready', reason: 'schema migrations are pending' });
    await t.database.query('INSERT INTO "schema_migrations" ("id", "timestamp", "name") VALUES (?, ?, ?)', [last.id, last.timestamp, last.name]);
    expect((await t.anonymous().get('/api/health/ready')).status).toBe(200);
    // Liveness stays as it is.
    expect((await t.anonymous().get('/api/health')).body).toMatchObject({ status: 'ok' });
  });

  it('is not ready once the app starts shutting down, nor when its database is gone', async () => {
    const other = await startApp();
    try {
      // What app.close() (SIGTERM) runs first.
      other.app.get(HealthController).onModuleDestroy();
      expect((await other.anonymous().get('/api/health/ready')).body).toEqual({ status: 'not-ready', reason: 'shutting down', replica: expect.any(String) });
    } finally {
      await other.close();
    }
    const third = await startApp();
    try {
      await third.app.get(DataSource).destroy();
      const gone = await third.anonymous().get('/api/health/ready');
      expect(gone.status).toBe(503);
      expect(gone.body.reason).toMatch(/^the database does not answer: /);
    } finally {
      await third.close().catch(() => undefined);
    }
  });
});
