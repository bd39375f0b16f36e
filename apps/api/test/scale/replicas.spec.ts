import { type Charge, MARKET_ACCOUNT } from '@virtuoso/domain';
import { CONSOLE_CLOSE } from '@virtuoso/contracts';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { D, S, S0, type Timeline, expectedCharges, seedBillingBacklog } from '../billing-backlog';
import { WebSocket } from 'ws';
import { LedgerService } from '../../src/accounts/ledger.service';
import { ManualClock } from '../../src/common/clock';
import { AgentProcess, REPO, eventually } from '../agent-process';
import { type ApiProcess, startApiProcess } from '../api-process';
import { Agent, TestApp, addAgentHost, startApp, uniqueHandle } from '../helpers';
import { type TestDatabase, testDatabase } from '../test-database';

const MARKER = /VIRTUOSO-GUEST-READY/;

interface Health {
  status: 'ok';
  replica: string;
  leader: boolean;
}
const health = async (api: ApiProcess): Promise<Health> => (await request(api.url).get('/api/health')).body as Health;

/** Signs up on `url` and keeps the session cookie. */
async function signUp(url: string, role: 'buyer' | 'provider'): Promise<Agent & { handle: string; userId: string }> {
  const agent = request.agent(url);
  const handle = uniqueHandle(role);
  const response = await agent.post('/api/auth/signup').send({ handle, email: `${handle}@example.com`, password: 'correct horse', role });
  if (response.status !== 201) throw new Error(`sign-up failed: ${response.status} ${JSON.stringify(response.body)}`);
  return Object.assign(agent, { handle, userId: response.body.id as string });
}

/** A console websocket on `url`'s replica: the bytes received, and how it closed. */
function viewer(url: string, path: string, cookie: string) {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${path}`, ['binary'], { headers: { cookie } });
  const received: Buffer[] = [];
  ws.on('message', (data: Buffer) => received.push(Buffer.from(data)));
  ws.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((done) => ws.on('close', (code, reason) => done({ code, reason: reason.toString() })));
  const bytes = (n: number) =>
    eventually(async () => {
      const all = Buffer.concat(received);
      return all.length >= n && all.subarray(0, n).toString('latin1');
    }, `${n} RFB bytes`);
  return { ws, closed, bytes };
}

/**
 * Several replicas on one PostgreSQL (docs/ARCHITECTURE.md §12): two REAL API processes on one
 * database, one leader running the daemons. The billing backlog of billing-crash.spec.ts (300
 * machines a day behind, small batches) is being worked through by the leader when it is
 * SIGKILLed (one of its batches waiting in its transaction for a buyer's mark the test holds: a
 * pass takes about a second, too short to hit by timing alone); the other replica takes the lead
 * (GET /api/health) and finishes it, and the ledger
 * then holds exactly the charges an oracle replaying the machines' events finds — none lost,
 * none doubled — with balances equal to the ledger. Then a real agent joins through the survivor,
 * a machine stored and started through it runs (serial marker), and a console ticket issued by
 * the survivor opens the console through a third replica (and a newer viewer through the
 * survivor replaces it, code 4000).
 */
describe('two replicas on one PostgreSQL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'virtuoso-replicas-'));
  let db: TestDatabase | null = null;
  const apis: ApiProcess[] = [];
  let agent: AgentProcess | null = null;
  /** The test's own connection holding a buyer's mark (step 3). */
  let held: Client | null = null;
  afterAll(async () => {
    await agent?.cleanup();
    for (const api of apis) await api.kill('SIGKILL');
    await held?.end().catch(() => undefined);
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'a SIGKILLed leader is replaced within seconds; no charge lost or doubled; machines start and consoles open across replicas',
    { timeout: 300_000 },
    async () => {
      execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-b', 'apps/api', 'apps/provider-agent'], { cwd: REPO, stdio: 'inherit' });
      db = await testDatabase(dir);
      expect(db.kind, 'test/scale runs on PostgreSQL only').toBe('postgres');

      // ——— 1. In-process on the database: hand-added hosts, 300 machines stored (half running) at recorded instants.
      const clock = new ManualClock(S0 - 10 * S);
      const lines: Timeline[] = [];
      {
        const t: TestApp = await startApp({ clock, config: { ...db.config, dataDir: join(dir, 'setup') } });
        try {
          lines.push(...(await seedBillingBacklog(t, clock, 'replica')));
        } finally {
          await t.app.close();
        }
      }
      const count = async () => Number((await db!.query<{ n: string }>('SELECT COUNT(*) AS n FROM ledger_entries'))[0].n);
      const before = await count();

      // The test holds the mark of a buyer half-way in id order, from before the replicas start
      // (their first pass begins as one of them leads): a batch is whole buyers (here one each), so
      // the leader's batch that bills them waits in its transaction while the others commit.
      held = new Client({ connectionString: db.env.VIRTUOSO_DATABASE_URL });
      await held.connect();
      const buyers = await db.query<{ buyerId: string }>('SELECT "buyerId" FROM buyer_billing ORDER BY "buyerId"');
      await held.query('BEGIN');
      await held.query('SELECT 1 FROM buyer_billing WHERE "buyerId" = $1 FOR UPDATE', [buyers[Math.floor(buyers.length / 2)].buyerId]);

      // ——— 2. Two replicas a day later, their clocks (the same test clock) all but stopped there; small batches.
      const originMs = Date.now();
      const env = (name: string) => ({
        ...db!.env,
        VIRTUOSO_DATA_DIR: join(dir, name),
        VIRTUOSO_BILLING_INTERVAL_SECONDS: '1',
        VIRTUOSO_BILLING_BATCH_SIZE: '3',
        VIRTUOSO_LEADER_POLL_SECONDS: '1',
        VIRTUOSO_LOW_BALANCE_GRACE_SECONDS: '31536000',
        VIRTUOSO_ALLOW_TEST_CLOCK: 'true',
        VIRTUOSO_CLOCK_ORIGIN_MS: String(originMs),
        VIRTUOSO_CLOCK_OFFSET_MS: String(S0 + D - originMs),
        VIRTUOSO_CLOCK_RATE: '0.000001',
      });
      const [a, b] = await Promise.all([startApiProcess(env('a')), startApiProcess(env('b'))]);
      apis.push(a, b);
      const [leader, follower] = await eventually(async () => {
        const [ha, hb] = [await health(a), await health(b)];
        if (ha.leader === hb.leader) return false;
        return ha.leader ? [a, b] : [b, a];
      }, 'exactly one leader');
      expect((await health(leader)).replica).not.toBe((await health(follower)).replica);

      // ——— 3. SIGKILL the leader in the middle of its pass: in the batch waiting for the held mark.
      await eventually(async () => (await count()) >= before + 3000, 'the leader to bill', 60_000);
      await eventually(
        async () =>
          Number(
            (await db!.query<{ n: string }>(`SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`))[0].n,
          ) > 0,
        "the leader's batch to wait for the held mark",
        60_000,
      );
      expect((await health(follower)).leader, 'one leader at a time').toBe(false);
      await leader.kill('SIGKILL');
      // Let go: the killed leader's waiting statement then gets the row, finds its client gone and rolls back.
      await held.query('ROLLBACK');
      await held.end();
      held = null;
      const killed = Date.now();
      // At once: the survivor tries to lead only at its next poll (up to a second away), then bills.
      const afterKill = await count();

      await eventually(async () => (await health(follower)).leader, 'the survivor to take the lead', 20_000);
      const takeoverMs = Date.now() - killed;
      const survivor = follower;

      // ——— 4. The survivor catches up: nothing due by its last pass's instant.
      const until = await eventually(
        async () => {
          const [status] = await db!.query<{ lastPassAt: string; passes: number }>('SELECT "lastPassAt", "passes" FROM billing_status');
          if (!status || Number(status.lastPassAt) < S0 + D) return false;
          const at = Number(status.lastPassAt);
          const [{ due }] = await db!.query<{ due: string }>('SELECT COUNT(*) AS due FROM buyer_billing WHERE "nextDueAt" <= ?', [at]);
          return Number(due) === 0 && at;
        },
        'the survivor to finish the backlog',
        120_000,
      );

      // The clocks stand all but still, so what the survivor charged is what the killed pass had left.
      const afterCatchUp = await count();
      expect(afterCatchUp, 'the leader had finished its pass before the kill').toBeGreaterThan(afterKill);

      // ——— 5. The oracle: every expected charge exactly once.
      const ids = new Set(lines.map((line) => line.machineId));
      const rows = (
        await db.query<{ key: string; kind: string; debitAccount: string; creditAccount: string; amount: string; at: string; machineId: string | null }>(
          'SELECT "key", "kind", "debitAccount", "creditAccount", "amount", "at", "machineId" FROM ledger_entries WHERE "machineId" IS NOT NULL',
        )
      ).filter((row) => ids.has(row.machineId!));
      const expected = new Map<string, Charge>();
      for (const line of lines) for (const charge of expectedCharges(line, until)) expected.set(charge.key, charge);
      const byKey = new Map(rows.map((row) => [row.key, row]));
      expect(
        [...expected.keys()].filter((key) => !byKey.has(key)),
        'charges lost',
      ).toEqual([]);
      expect(
        rows.filter((row) => !expected.has(row.key)).map((row) => row.key),
        'charges not in the oracle',
      ).toEqual([]);
      expect(rows.length, 'charges doubled').toBe(expected.size);
      for (const [key, charge] of expected) {
        const row = byKey.get(key)!;
        expect({ kind: row.kind, amount: row.amount, at: Number(row.at), from: row.debitAccount, to: row.creditAccount }, key).toEqual({
          kind: charge.kind,
          amount: charge.amount,
          at: charge.dueAt,
          from: `user:${charge.payer}`,
          to: charge.payee === MARKET_ACCOUNT ? MARKET_ACCOUNT : `user:${charge.payee}`,
        });
      }
      // Balances equal ledger sums; the ledger sums to zero.
      const check = await startApp({ config: { ...db.config, dataDir: join(dir, 'check') } });
      try {
        expect(await check.app.get(LedgerService).verify()).toMatchObject({ total: '0', mismatches: [], malformed: [] });
      } finally {
        await check.app.close();
      }

      // ——— 6. A real agent joins through the survivor; a machine stored and started through it runs.
      const provider = await signUp(survivor.url, 'provider');
      const buyer = await signUp(survivor.url, 'buyer');
      agent = await AgentProcess.join({ url: survivor.url } as TestApp, provider, { heartbeatMs: 300 });
      const host = await addAgentHost(provider, agent.agentId, { name: 'survivor-host' });
      const tiny = ((await buyer.get('/api/catalog')).body as Array<{ id: string; name: string }>).find((entry) => entry.name === 'tiny-linux')!;
      const registered = await buyer.post('/api/machines').send({
        name: 'after-takeover',
        processor: 'x',
        speed: 2000,
        os: 'x',
        memory: 128,
        disk: 64,
        askedStoragePerMonth: '100',
        askedRunningPerHour: '100',
        configurationId: tiny.id,
      });
      expect(registered.status, JSON.stringify(registered.body)).toBe(201);
      const machineId = registered.body.id as string;
      const stored = await buyer.post(`/api/machines/${machineId}/store`).send({ hostId: host.id });
      expect(stored.status, JSON.stringify(stored.body)).toBe(200);
      const started = await buyer.post(`/api/machines/${machineId}/start`).set('If-Match', `"${stored.body.version}"`);
      expect(started.status, JSON.stringify(started.body)).toBe(200);
      expect(started.body).toMatchObject({ state: 'running', lastError: null });
      await agent.waitForSerial(machineId, MARKER);

      // ——— 7. A third replica (a follower); a ticket issued by the survivor opens the console through it.
      const c = await startApiProcess(env('c'));
      apis.push(c);
      expect((await health(c)).leader).toBe(false);
      const signIn = await request(c.url).post('/api/auth/signin').send({ handle: buyer.handle, password: 'correct horse' });
      expect(signIn.status).toBe(200);
      const cookie = (signIn.headers['set-cookie'] as unknown as string[]).map((line) => line.split(';')[0]).join('; ');
      const ticket = await request(survivor.url).post(`/api/machines/${machineId}/console`).set('Cookie', cookie);
      expect(ticket.status, JSON.stringify(ticket.body)).toBe(201);
      const first = viewer(c.url, ticket.body.path as string, cookie);
      expect(await first.bytes(12)).toBe('RFB 003.008\n');
      // The same ticket is used up, on any replica.
      const again = viewer(survivor.url, ticket.body.path as string, cookie);
      expect(await again.closed).toEqual({ code: CONSOLE_CLOSE.reusedToken, reason: 'console token already used; ask for a new one' });
      // A newer viewer through the survivor replaces the one relayed by the third replica.
      const next = await request(c.url).post(`/api/machines/${machineId}/console`).set('Cookie', cookie);
      const second = viewer(survivor.url, next.body.path as string, cookie);
      expect(await second.bytes(12)).toBe('RFB 003.008\n');
      expect(await first.closed).toEqual({ code: CONSOLE_CLOSE.replaced, reason: 'replaced by a new viewer' });
      second.ws.close();

      console.log(
        `replicas: ${before} ledger rows before, ${afterKill} at the SIGKILL, ${afterCatchUp} once the survivor (leading ${takeoverMs} ms after the kill) caught up; ${rows.length} machine charges, all as the oracle says`,
      );
    },
  );
});
