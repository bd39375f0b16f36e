import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from './agent-process';
import { type Agent, type TestApp, heardFrom, startApp, virt8, win2000Pro } from './helpers';
import { type TestDatabase, testDatabase } from './test-database';

/** Runs the built operator CLI (`npm run operator -- …`) against `database`; build it first (`npx tsc -b apps/api`). */
export function runOperatorCli(database: TestDatabase, args: string[], stdin = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['apps/api/dist/cli/operator.js', ...args], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', VIRTUOSO_BCRYPT_COST: '4', ...database.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

const printedPassword = (stdout: string): string => /password \(shown once\): (\S+)/.exec(stdout)![1];

describe('operator command and overview', () => {
  let dir: string;
  let database: TestDatabase;
  let t: TestApp;
  let operator: Agent;
  let password: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'virtuoso-operator-'));
    // A database no API has opened yet: the command migrates the schema itself.
    database = await testDatabase(dir);
    const created = await runOperatorCli(database, ['create', 'root-op', '--email', 'ops@example.com']);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    password = printedPassword(created.stdout);
    t = await startApp({ database, config: { agentOfflineMs: 3_600_000 } });
    operator = t.anonymous();
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates an operator whose printed password signs in; a taken handle is refused with a non-zero exit', async () => {
    expect(password.length).toBeGreaterThanOrEqual(24);
    const signedIn = await operator.post('/api/auth/signin').send({ handle: 'root-op', password });
    expect(signedIn.status).toBe(200);
    expect(signedIn.body).toMatchObject({ handle: 'root-op', role: 'operator', email: 'ops@example.com' });

    const again = await runOperatorCli(database, ['create', 'ROOT-op']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('the handle ROOT-op is taken');
    const bad = await runOperatorCli(database, ['create', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('the handle must be 3 to 40');
    const [{ n }] = await database.query<{ n: number | string }>(`SELECT COUNT(*) AS "n" FROM "users" WHERE "role" = 'operator'`);
    expect(Number(n)).toBe(1);
  });

  it('reset-password takes a new password from stdin and ends the old sessions', async () => {
    const other = await runOperatorCli(database, ['create', 'second-op']);
    expect(other.code).toBe(0);
    const session = t.anonymous();
    expect((await session.post('/api/auth/signin').send({ handle: 'second-op', password: printedPassword(other.stdout) })).status).toBe(200);
    const reset = await runOperatorCli(database, ['reset-password', 'second-op', '--password-stdin'], 'a much longer secret\n');
    expect(reset.code).toBe(0);
    expect((await session.get('/api/auth/me')).status).toBe(401);
    expect((await t.anonymous().post('/api/auth/signin').send({ handle: 'second-op', password: 'a much longer secret' })).status).toBe(200);
    const buyer = await t.signUp('buyer');
    const refused = await runOperatorCli(database, ['reset-password', buyer.handle, '--password-stdin'], 'a much longer secret\n');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`no operator with the handle ${buyer.handle}`);
  });

  it('shows hosts with their agents, machines by state, migrations and a balanced ledger; only to operators', async () => {
    const provider = await t.signUp('provider');
    const host = (await provider.post('/api/hosts').send(virt8({ name: 'op-host' }))).body as { id: string };
    await heardFrom(t, [host.id]);
    const lonely = (await provider.post('/api/hosts').send(virt8({ name: 'op-lonely' }))).body as { id: string };
    const buyer = await t.signUp('buyer');
    // A registered configuration: its 0.05 fee is a ledger movement from the buyer to the market.
    expect((await buyer.post('/api/machines').send(win2000Pro())).status).toBe(201);

    expect((await t.anonymous().get('/api/operator/overview')).status).toBe(401);
    expect((await buyer.get('/api/operator/overview')).status).toBe(403);
    expect((await provider.get('/api/operator/overview')).status).toBe(403);

    const response = await operator.get('/api/operator/overview');
    expect(response.status).toBe(200);
    const overview = response.body;
    const seen = overview.hosts.find((h: { hostId: string }) => h.hostId === host.id);
    expect(seen).toMatchObject({ name: 'op-host', provider: provider.handle, health: 'online', resources: { speed: 10000, memory: 512, storage: 100000 } });
    expect(seen.lastHeartbeatAt).toEqual(expect.any(String));
    expect(overview.hosts.find((h: { hostId: string }) => h.hostId === lonely.id)).toMatchObject({ health: 'none', agentId: null, machines: 0 });
    expect(overview.hostCount).toBe(2);
    expect(overview.agentsOnline).toBe(1);
    expect(seen.machines).toBe(0);
    expect(overview.machinesByState).toEqual({ registered: 1 });
    expect(overview.migrations).toEqual([]);
    // Two buyers' sign-up credits (1000 each), less the fee: 1999.95 with the users.
    expect(overview.ledger).toMatchObject({ balanced: true, difference: '0', mismatchedUsers: 0 });
    expect(overview.ledger).toMatchObject({ balances: '1999.95', ledger: '1999.95' });
  });

  it('reports a ledger written behind the ledger service’s back as NOT balanced, with the exact difference', async () => {
    const buyer = await t.signUp('buyer');
    // A credit of 0.000000000001 + 0.25 to the buyer that no balance followed.
    await database.query(
      `INSERT INTO "ledger_entries" ("key", "kind", "debitAccount", "creditAccount", "amount", "machineId", "hostId", "at", "createdAt") VALUES (?, 'topUp', 'outside', ?, ?, NULL, NULL, 0, ?)`,
      [`forged:${buyer.userId}`, `user:${buyer.userId}`, '0.250000000001', new Date().toISOString()],
    );
    const { ledger } = (await operator.get('/api/operator/overview')).body;
    expect(ledger).toMatchObject({ balanced: false, difference: '-0.250000000001', mismatchedUsers: 1 });
    // A balance moved by hand the same amount the other way makes the totals agree, but not that user's.
    await database.query(`UPDATE "users" SET "balance" = '1000.250000000001' WHERE "id" = ?`, [buyer.userId]);
    expect((await operator.get('/api/operator/overview')).body.ledger).toMatchObject({ balanced: true, difference: '0', mismatchedUsers: 0 });
  });
});
