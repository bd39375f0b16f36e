import { moneyToUnits, unitsToMoney } from '@virtuoso/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userAccount } from '../src/accounts/ledger-entry.entity';
import { LedgerService, type Posting } from '../src/accounts/ledger.service';
import { Database } from '../src/common/database.service';
import { TestApp, startApp } from './helpers';

/**
 * The ledger's many-row posting (docs/ARCHITECTURE.md §12), on both databases: a batch whose keys
 * are partly in the ledger already (a batch redone after a crash) records only the new movements,
 * once, and moves each balance by them alone; and the meters carry no index that no query reads
 * (each one costs every meter write of the billing pass).
 */
describe('posting a batch to the ledger', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('records only the movements whose key is not in the ledger yet, and moves balances by those alone', async () => {
    const buyer = await t.signUp('buyer');
    const provider = await t.signUp('provider');
    const ledger = t.app.get(LedgerService);
    const db = t.app.get(Database);
    const posting = (i: number): Posting => ({
      key: `running:ledger-post-test:${i}`,
      kind: 'running',
      from: userAccount(buyer.userId),
      to: userAccount(provider.userId),
      amount: '0.000000001',
      at: 1_796_000_000_000 + i,
    });
    const balanceOf = async (id: string) => (await t.database.query<{ balance: string }>('SELECT "balance" FROM "users" WHERE "id" = ?', [id]))[0].balance;
    const buyerBefore = await balanceOf(buyer.userId);

    const first = await db.transaction((em) =>
      ledger.post(
        em,
        Array.from({ length: 300 }, (_, i) => posting(i)),
      ),
    );
    expect(first.applied).toHaveLength(300);
    // Half of these are in already: only the other half is recorded.
    const again = await db.transaction((em) =>
      ledger.post(
        em,
        Array.from({ length: 300 }, (_, i) => posting(i + 150)),
      ),
    );
    expect(again.applied.map((p) => p.key)).toEqual(Array.from({ length: 150 }, (_, i) => posting(i + 300).key).sort());

    const [{ n }] = await t.database.query<{ n: number | string }>('SELECT COUNT(*) AS "n" FROM "ledger_entries" WHERE "key" LIKE ?', [
      'running:ledger-post-test:%',
    ]);
    expect(Number(n)).toBe(450);
    // 450 movements of 0.000000001, exactly: the 150 posted again moved nothing.
    const expected = unitsToMoney(moneyToUnits(buyerBefore) - 450n * moneyToUnits('0.000000001'));
    expect(again.balances.get(buyer.userId)).toBe(expected);
    expect(await balanceOf(buyer.userId)).toBe(expected);
    expect(await ledger.verify()).toMatchObject({ total: '0', mismatches: [], malformed: [] });
  });

  it('keys each movement under its payer: the same key from the same payer is posted once, and one recorded under a second payer is reported', async () => {
    const buyer = await t.signUp('buyer');
    const other = await t.signUp('buyer');
    const provider = await t.signUp('provider');
    const ledger = t.app.get(LedgerService);
    const db = t.app.get(Database);
    const key = 'running:ledger-payer-test:0';
    const posting = (payer: string): Posting => ({
      key,
      kind: 'running',
      from: userAccount(payer),
      to: userAccount(provider.userId),
      amount: '0.5',
      at: 1_796_000_000_000,
    });
    expect((await db.transaction((em) => ledger.post(em, [posting(buyer.userId)]))).applied).toHaveLength(1);
    expect((await db.transaction((em) => ledger.post(em, [posting(buyer.userId)]))).applied).toHaveLength(0);
    expect(await ledger.verify()).toMatchObject({ total: '0', mismatches: [], malformed: [] });
    // No code path does this (every key names its payer); verify is what would tell.
    expect((await db.transaction((em) => ledger.post(em, [posting(other.userId)]))).applied).toHaveLength(1);
    expect((await ledger.verify()).malformed).toEqual([key]);
  });

  it('keeps no index on the meters that no query reads (machine_meters.hostId), and no next due instant on them', async () => {
    const indexed =
      t.database.kind === 'postgres'
        ? await t.database.query<{ definition: string }>("SELECT indexdef AS definition FROM pg_indexes WHERE tablename = 'machine_meters'")
        : await t.database.query<{ definition: string }>("SELECT sql AS definition FROM sqlite_master WHERE type = 'index' AND tbl_name = 'machine_meters'");
    const definitions = indexed.map((row) => row.definition ?? '');
    // The billing pass keeps each buyer's next due instant (buyer_billing), not each meter's.
    expect(definitions.filter((sql) => sql.includes('"nextDueAt"'))).toEqual([]);
    expect(definitions.some((sql) => sql.includes('"buyerId"'))).toBe(true);
    expect(definitions.filter((sql) => sql.includes('"hostId"'))).toEqual([]);
  });
});
