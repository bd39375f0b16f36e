import { type Charge, MARKET_ACCOUNT } from '@virtuoso/domain';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { D, S, S0, expectedCharges, seedBillingBacklog } from './billing-backlog';
import { LedgerService } from '../src/accounts/ledger.service';
import { ManualClock } from '../src/common/clock';
import { freePorts, REPO } from './agent-process';
import { TestApp, startApp } from './helpers';
import { type TestDatabase, testDatabase } from './test-database';

/**
 * Crash safety of the billing daemon (docs/ARCHITECTURE.md §4): the REAL API as a child process on a real
 * database (a SQLite file, or PostgreSQL on the api-postgres project), a 1 s billing interval, a fast clock (VIRTUOSO_CLOCK_*), 300 stored machines, half
 * of them running on 10-minute slices, a day behind. It is SIGKILLed in the middle of its first
 * pass (some batches committed, some not), started again, and left to catch up; then the ledger
 * must hold exactly the charges an oracle replaying the machines' events with libs/domain finds:
 * none lost, none doubled, every balance equal to its ledger sum.
 */
describe('billing survives SIGKILL in the middle of a pass', () => {
  const dir = mkdtempSync(join(tmpdir(), 'virtuoso-crash-'));
  let database: TestDatabase | null = null;
  let child: ChildProcess | null = null;
  let output = '';
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (child) await exited(child);
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  // Not api-process.ts's startApiProcess: that waits for /api/health, which answers only after the
  // boot's billing pass, and this test must kill the API in the middle of that pass.
  const startApi = async (db: TestDatabase, clock: { originMs: number; offsetMs: number; rate: number }) => {
    const [port] = await freePorts(1);
    output = '';
    const api = spawn(process.execPath, ['apps/api/dist/main.js'], {
      cwd: REPO,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        VIRTUOSO_PORT: String(port),
        VIRTUOSO_DATA_DIR: dir,
        ...db.env,
        VIRTUOSO_SEED_DEMO: 'false',
        VIRTUOSO_BILLING_INTERVAL_SECONDS: '1',
        VIRTUOSO_BILLING_BATCH_SIZE: '10',
        VIRTUOSO_MARKET_INTERVAL_SECONDS: '3600',
        VIRTUOSO_ALLOW_TEST_CLOCK: 'true',
        VIRTUOSO_CLOCK_ORIGIN_MS: String(clock.originMs),
        VIRTUOSO_CLOCK_OFFSET_MS: String(clock.offsetMs),
        VIRTUOSO_CLOCK_RATE: String(clock.rate),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    api.stdout!.on('data', (data: Buffer) => (output += data.toString()));
    api.stderr!.on('data', (data: Buffer) => (output += data.toString()));
    child = api;
    return api;
  };
  const exited = (api: ChildProcess) =>
    new Promise<void>((done) => (api.exitCode !== null || api.signalCode !== null ? done() : api.once('exit', () => done())));

  it('loses and doubles no charge across a SIGKILL and a restart', { timeout: 120_000 }, async () => {
    execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-b', 'apps/api'], { cwd: REPO, stdio: 'inherit' });

    // ——— 1. Set up in-process on the file: users, hosts and machines through the API, the
    // lifecycle moves through MachineStore (the billing hooks), each at a recorded instant.
    const db = await testDatabase(dir);
    database = db;
    const clock = new ManualClock(S0 - 10 * S);
    const t: TestApp = await startApp({ clock, database: db, config: { dataDir: dir } });
    const lines = await seedBillingBacklog(t, clock, 'crash');
    await t.app.close();

    const count = async () => Number((await db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM ledger_entries'))[0].n);
    const before = await count();

    // ——— 2. The API a day later (its clock starts at S0 + 1 day and runs 60 times as fast) with a
    // backlog of ~150 × 144 slices; SIGKILL once a few of its 10-meter batches have committed.
    const first = { originMs: Date.now(), offsetMs: S0 + D - Date.now(), rate: 60 };
    const api1 = await startApi(db, first);
    const deadline = Date.now() + 60_000;
    while ((await count()) < before + 2000) {
      if (api1.exitCode !== null || Date.now() > deadline) throw new Error(`the API never billed:\n${output}`);
      await new Promise((done) => setTimeout(done, 5));
    }
    api1.kill('SIGKILL');
    await exited(api1);
    const killedAt = first.originMs + first.offsetMs + (Date.now() - first.originMs) * first.rate;

    // Killed mid-pass: charges are in, yet some buyers still have something due before the newest charge.
    const [{ newest }] = await db.query<{ newest: number }>("SELECT MAX(at) AS newest FROM ledger_entries WHERE kind IN ('storage', 'running')");
    const [{ behind }] = await db.query<{ behind: number | string }>('SELECT COUNT(*) AS behind FROM buyer_billing WHERE "nextDueAt" <= ?', [newest]);
    const afterKill = await count();
    expect(afterKill).toBeGreaterThan(before);
    expect(Number(behind), 'the pass had finished before the kill').toBeGreaterThan(0);

    // ——— 3. Restart; it catches up to X (its clock held at X) and is stopped between passes.
    const X = killedAt + 3600 * S;
    const api2 = await startApi(db, { originMs: Date.now(), offsetMs: X - Date.now(), rate: 0.000001 });
    const caughtUp = Date.now() + 60_000;
    for (;;) {
      const [status] = await db.query<{ lastPassAt: number; passes: number }>('SELECT "lastPassAt", "passes" FROM billing_status');
      if (status && Number(status.lastPassAt) >= X && Number(status.passes) >= 1) break;
      if (api2.exitCode !== null || Date.now() > caughtUp) throw new Error(`the API did not catch up:\n${output}`);
      await new Promise((done) => setTimeout(done, 50));
    }
    api2.kill('SIGTERM');
    await exited(api2);

    // ——— 4. The oracle.
    const rows = await db.query<{
      key: string;
      kind: string;
      debitAccount: string;
      creditAccount: string;
      amount: string;
      at: number;
      machineId: string | null;
    }>('SELECT "key", "kind", "debitAccount", "creditAccount", "amount", "at", "machineId" FROM ledger_entries WHERE "machineId" IS NOT NULL');
    const expected = new Map<string, Charge>();
    for (const line of lines) for (const charge of expectedCharges(line, X)) expected.set(charge.key, charge);
    const byKey = new Map(rows.map((row) => [row.key, row]));
    const lost = [...expected.keys()].filter((key) => !byKey.has(key));
    const extra = rows.filter((row) => !expected.has(row.key)).map((row) => row.key);
    expect(lost, 'charges lost').toEqual([]);
    expect(extra, 'charges not in the oracle').toEqual([]);
    expect(rows.length).toBe(expected.size);
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
    console.log(
      `crash test: ${before} rows before, ${afterKill} at the SIGKILL (${behind} meters still due), ${rows.length} charges in the end, all as the oracle says`,
    );

    // ——— 5. Balances equal ledger sums; the ledger sums to zero.
    const again = await startApp({ database: db, config: { dataDir: dir } });
    try {
      expect(await again.app.get(LedgerService).verify()).toMatchObject({ total: '0', mismatches: [], malformed: [] });
    } finally {
      await again.app.close();
    }
  });
});
