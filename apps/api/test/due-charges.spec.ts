import { type MachineMeter, billBuyer, chargedTo, dueCharges } from '@virtuoso/domain';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CHARGES_PER_METER } from '../src/billing/billing-pass.service';
import { BuyerBilling } from '../src/billing/buyer-billing.entity';
import { dueChargeRows, dueChargeSums } from '../src/billing/due-charges';
import { MachineMeterRow } from '../src/billing/machine-meter.entity';
import { postingOf } from '../src/billing/meter-postings.service';
import { rowOf } from '../src/billing/meter-rows';
import { Database } from '../src/common/database.service';
import { Sql, select } from '../src/common/sql';
import { TestApp, startApp } from './helpers';
import { DAY, lived, raw } from './meter-samples';

const LIMIT = MAX_CHARGES_PER_METER;
const PROVIDERS = ['dc-p1', 'dc-p2'];
const HOSTS = ['dc-h1', 'dc-h2', null];

/**
 * The billing pass's usual batch has its charges made by the database (billing/due-charges.ts):
 * sums read first, then one INSERT … SELECT of the rows. Money moved by sums the process never
 * checks row by row, so on both databases, for random buyers of one to three random meter rows
 * (libs/domain timelines and raw rows, several providers and hosts, some without a host, a few
 * paid to the buyer themself) and random marks and instants, some before the mark: the rows are
 * exactly the ledger postings of libs/domain's billBuyer, the sums are theirs, the buyer's next
 * due instant is billBuyer's, and a meter with the limit's worth of charges due or more (billBuyer
 * then pulls the mark back; the pass bills that batch in the process) is seen as one.
 */
describe('the charges of a billing batch, made in SQL', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  const meterOf = fc.record({ meter: fc.oneof(lived, raw), provider: fc.nat(PROVIDERS.length - 1), host: fc.nat(HOSTS.length - 1), selfPaid: fc.nat(40) });
  const buyers = fc.record({
    meters: fc.array(meterOf, { minLength: 1, maxLength: 3 }),
    mark: fc.integer({ min: 0, max: 8 * DAY }),
    after: fc.integer({ min: -DAY, max: 3 * DAY }),
    onInstant: fc.boolean(),
  });

  it("are billBuyer's charges, sums and next due instant, for every buyer and instant", async () => {
    const cases = fc.sample(buyers, { numRuns: 300, seed: 20261207 }).map(({ meters, mark, after, onInstant }, i) => {
      const buyerId = `dc-${String(i).padStart(4, '0')}`;
      const own = meters.map(({ meter, provider, host, selfPaid }, j) => ({
        meter: { ...meter, machineId: `${buyerId}-${j}`, buyerId, providerId: selfPaid === 0 ? buyerId : PROVIDERS[provider] } as MachineMeter,
        hostId: HOSTS[host],
      }));
      const at = Math.max(0, own[0].meter.asOf - DAY + mark);
      // Now on a charge's very instant now and then (a charge due at now is due).
      const next = chargedTo(own[0].meter, at);
      const due = dueCharges(next, Number.MAX_SAFE_INTEGER, { limit: 1 }).charges[0]?.dueAt;
      const now = onInstant && due !== undefined && due >= at ? due : Math.max(0, at + after);
      return { buyerId, meters: own, mark: at, now };
    });
    const db = t.app.get(Database);
    await db.transaction(async (em) => {
      for (const { buyerId, meters, mark } of cases) {
        for (const { meter, hostId } of meters) await em.insert(MachineMeterRow, rowOf(meter, hostId, 0));
        await em.insert(BuyerBilling, { buyerId, billedTo: mark, nextDueAt: 0 });
      }
    });

    let billed = 0;
    let atLimit = 0;
    let selfPaid = 0;
    let charges = 0;
    const wrong: unknown[] = [];
    for (const { buyerId, meters, mark, now } of cases) {
      const { sums, rows } = await db.transaction(async (em) => {
        const sums = await dueChargeSums(em, now, buyerId, buyerId);
        if (sums.mostOfOneMeter >= LIMIT) return { sums, rows: null };
        const sql = new Sql(em);
        const text = dueChargeRows(sql, now, buyerId, buyerId);
        return { sums, rows: await select<{ key: string; at: number | string }>(em, text, sql.params) };
      });
      const live = meters.filter(({ meter }) => meter.removedAt === null);
      const counts = live.map(({ meter }) => dueCharges(chargedTo(meter, mark), now, { limit: LIMIT }).charges.length);
      const most = Math.max(0, ...counts);
      const expectedSelf = live.filter(({ meter }, j) => meter.providerId === buyerId && counts[j] > 0).length;
      const seen = { most: Math.min(sums.mostOfOneMeter, LIMIT), self: sums.selfPaid };
      if (seen.most !== most || seen.self !== expectedSelf) wrong.push({ buyerId, mark, now, meters, seen, expected: { most, self: expectedSelf } });
      if (most >= LIMIT) {
        atLimit += 1;
        continue;
      }
      if (expectedSelf > 0) selfPaid += 1;
      const bill = billBuyer(
        live.map(({ meter }) => meter),
        mark,
        now,
        LIMIT,
      );
      const hostOf = new Map(meters.map(({ meter, hostId }) => [meter.machineId, hostId]));
      const postings = bill.steps.flatMap((step) => step.charges.map((charge) => postingOf(charge, hostOf.get(charge.machineId) ?? null)));
      const expectedRows = postings
        .map((p) => ({
          key: p.key,
          kind: p.kind,
          debitAccount: p.from,
          creditAccount: p.to,
          amount: p.amount,
          machineId: p.machineId,
          hostId: p.hostId,
          at: p.at,
        }))
        .sort((a, b) => (a.key < b.key ? -1 : 1));
      const sqlRows = rows!.map((row) => ({ ...row, at: Number(row.at) })).sort((a, b) => (a.key < b.key ? -1 : 1));
      const tally = <K extends string>(entries: Array<[K, number]>) => {
        const map = new Map<K, number>();
        for (const [key, count] of entries) map.set(key, (map.get(key) ?? 0) + count);
        return Object.fromEntries([...map].sort());
      };
      const expectedSums = {
        debits: tally(postings.map((p) => [p.amount, 1])),
        credits: tally(postings.map((p) => [`${p.to} ${p.hostId} ${p.amount}`, 1])),
        nextDueAt: bill.nextDueAt,
        meters: bill.steps.length,
        charges: postings.length,
      };
      const sqlSums = {
        debits: tally(sums.debits.map((d) => [d.amount, d.count])),
        credits: tally(sums.credits.map((c) => [`user:${c.providerId} ${c.hostId} ${c.amount}`, c.count])),
        nextDueAt: sums.nextDueAt.get(buyerId) ?? null,
        meters: sums.meters,
        charges: sums.charges,
      };
      if (
        bill.billedTo !== Math.max(mark, now) ||
        JSON.stringify(sqlRows) !== JSON.stringify(expectedRows) ||
        JSON.stringify(sqlSums) !== JSON.stringify(expectedSums)
      ) {
        wrong.push({ buyerId, mark, now, meters, sqlRows, expectedRows, sqlSums, expectedSums, billedTo: bill.billedTo });
      }
      if (sums.debits.some((d) => d.buyerId !== buyerId)) wrong.push({ buyerId, debits: sums.debits });
      if (postings.length > 0) billed += 1;
      charges += postings.length;
    }
    expect(wrong.slice(0, 3)).toEqual([]);
    // Not a sample where nothing happens: buyers with charges (many of them), at the limit, paying themselves.
    expect(billed).toBeGreaterThan(100);
    expect(charges).toBeGreaterThan(1000);
    expect(atLimit).toBeGreaterThan(5);
    expect(selfPaid).toBeGreaterThan(0);
  });
});
