// One billing pass over 100,000 stored machines, a quarter of them running, every one due (goal
// < 2 s), on SQLite and on PostgreSQL (a private cluster, tools/postgres/cluster.mjs), each against
// its floor in the same run (goal ≤ 1.5× the floor; docs/ARCHITECTURE.md §12). Builds on the built
// API (apps/api/dist): the real BillingPassService on a fresh database; the meters (and the
// buyers' standings and billing marks the hooks would have left) are written straight into it
// with multi-row INSERTs. Each database is measured in BENCH_ROUNDS rounds (3; a fresh database,
// the pass, its floor), then the medians are printed. BENCH_MACHINES, BENCH_BUYERS, BENCH_BATCH
// (meters per transaction; default VIRTUOSO_BILLING_BATCH_SIZE's: 10000 on SQLite, 5000 on
// PostgreSQL), BENCH_CONCURRENCY (PostgreSQL: batches in flight, VIRTUOSO_BILLING_CONCURRENCY's 2)
// and BENCH_BILLING_DATABASES (sqlite,postgres) vary it; BENCH_PROFILE names a file for a CPU
// profile of the pass (the last round's), BENCH_HEAP_PROFILE one for a sampling heap profile of
// what the pass allocated (garbage included). On SQLite it also
// prints the bytes the pass and the floor handed to write() (the pages their commits wrote): a
// count that does not move with the machine's load.
//
// The floor, printed with it: the bare driver in one transaction writes the rows the pass wrote,
// with nothing else: the same ledger rows inserted into an empty copy of ledger_entries (same
// columns, same indexes) and the same buyers' marks moved from their values before the pass to
// those after it in a copy of buyer_billing (the pass leaves the meter rows as they are: each
// buyer's mark says how far they are charged; docs/ARCHITECTURE.md §12), each as ONE statement
// whose rows are bound as few parameters — the fastest parameterised way through each driver:
//  - SQLite: the app's own TypeORM DataSource over sqlite3 (the connection the pass used), the
//    rows as one JSON parameter read by json_each (see the app's common/sql);
//  - PostgreSQL: node-postgres (`pg`) on a connection of its own, one array parameter per column
//    read by unnest(). No COPY: the pass cannot use it either, so it would not be like for like.
// The pass ÷ floor ratio, in wall time (and on SQLite in CPU time too: this process's, SQLite's
// threads included, steadier on a busy machine; on PostgreSQL the work is in the server's
// processes), is what the billing logic, its batching and its other writes (balances, standings,
// host income) cost on top.
//
// The pass bills whole buyers per batch (docs/ARCHITECTURE.md §12): each balance and host income
// is rewritten by one batch of the pass (taken in due order, its 40 batches made 3834 balance and
// 3195 host income rewrites; by buyer 1974 and 997). On PostgreSQL, where
// each rewrite is a new row version with its index entries, it prints how many the pass made in
// those tables (pg_stat_user_tables, read after the floor so the counts are flushed): a count that
// does not move with the machine's load.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repo } from './api-server.mjs';

export const name = 'billing-pass';

const MACHINES = Number(process.env.BENCH_MACHINES ?? 100_000);
const BUYERS = Number(process.env.BENCH_BUYERS ?? 1_000);
const PROVIDERS = 100;
const HOSTS = 500;
const NOW = Date.UTC(2026, 10, 25, 12);
const MINUTE = 60_000;
const DAY = 86_400_000;

const require = createRequire(join(repo, 'apps/api/dist/main.js'));
/** buyer_billing's columns: each buyer's mark and next due instant (what the pass writes besides the ledger). */
const MARK_COLUMNS = ['buyerId', 'billedTo', 'nextDueAt'];
/** Rounds per database (BENCH_ROUNDS): machines of this kind are noisy, and a pass and its floor run seconds apart. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

export async function run() {
  const databases = (process.env.BENCH_BILLING_DATABASES ?? 'sqlite,postgres').split(',').map((d) => d.trim());
  if (databases.includes('sqlite')) {
    console.log('-- SQLite');
    const rounds = [];
    for (let round = 1; round <= ROUNDS; round++) rounds.push(await runOn({ kind: 'sqlite' }));
    summarise('SQLite', rounds);
  }
  if (databases.includes('postgres')) {
    console.log('-- PostgreSQL');
    const { startCluster } = await import('../postgres/cluster.mjs');
    const cluster = await startCluster({ label: 'virtuoso-bench-billing' });
    try {
      const rounds = [];
      for (let round = 1; round <= ROUNDS; round++) {
        await cluster.createDatabase(`billing${round}`);
        rounds.push(await runOn({ kind: 'postgres', url: cluster.url(`billing${round}`), dataDir: join(cluster.dir, 'data') }));
        await cluster.dropDatabase(`billing${round}`);
      }
      summarise('PostgreSQL', rounds);
    } finally {
      await cluster.stop();
    }
  }
}

/** The median of each figure over the rounds (each round: a fresh database, the pass, then its floor). */
function summarise(label, rounds) {
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
  const ratios = rounds.map((r) => r.ms / r.floorMs);
  console.log(
    `${label}, median of ${rounds.length} round(s): pass ${median(rounds.map((r) => r.ms)).toFixed(0)} ms (goal < 2000 ms), floor ${median(rounds.map((r) => r.floorMs)).toFixed(0)} ms, ` +
      `ratio pass ÷ floor ${median(ratios).toFixed(2)} in wall time (each round's: ${ratios.map((r) => r.toFixed(2)).join(', ')}; goal ≤ 1.5), ` +
      `${median(rounds.map((r) => r.cpuRatio)).toFixed(2)} in CPU time`,
  );
}

/** `?` → `$1, $2, …` for PostgreSQL (the texts here quote nothing that holds a `?`). */
const placeholders = (kind, sql) => {
  let n = 0;
  return kind === 'postgres' ? sql.replace(/\?/g, () => `$${++n}`) : sql;
};

async function runOn(database) {
  const { createApp } = require('./app.js');
  const { ManualClock } = require('./common/clock.js');
  const { Database } = require('./common/database.service.js');
  const { BillingPassService } = require('./billing/billing-pass.service.js');
  const { METER_COLUMNS, rowOf } = require('./billing/meter-rows.js');
  const { moneyToUnits, unitsToMoney, nextDueAt } = require('@virtuoso/domain');
  const { kind } = database;

  const dir = mkdtempSync(join(tmpdir(), 'virtuoso-bench-billing-'));
  const clock = new ManualClock(NOW);
  const app = await createApp({
    env: {},
    config: {
      dbPath: join(dir, 'bench.sqlite'),
      databaseUrl: kind === 'postgres' ? database.url : null,
      dataDir: dir,
      webDir: null,
      seedDemo: false,
      ...(process.env.BENCH_BATCH ? { billingBatchSize: Number(process.env.BENCH_BATCH) } : {}),
      ...(process.env.BENCH_CONCURRENCY ? { billingConcurrency: Number(process.env.BENCH_CONCURRENCY) } : {}),
    },
    seed: false,
    daemons: false,
    docs: false,
    logger: ['error'],
    clock,
  });
  try {
    const db = app.get(Database);
    const t0 = performance.now();
    const user = (id, role) => [id, id, id, `${id}@bench.invalid`, 'x', role, role === 'buyer' ? '1000000' : '0', new Date(NOW - 40 * DAY).toISOString()];
    const users = [
      ...Array.from({ length: BUYERS }, (_, i) => user(`buyer-${i}`, 'buyer')),
      ...Array.from({ length: PROVIDERS }, (_, i) => user(`provider-${i}`, 'provider')),
    ];
    await insert(db, kind, 'users', ['id', 'handle', 'handleKey', 'email', 'passwordHash', 'role', 'balance', 'createdAt'], users);

    // Every machine is 30 days and a few minutes into its storage: period 1 is due. A quarter run
    // since 30 minutes ago on a slice with 20 minutes left then: one slice is due too.
    const prices = ['3', '0.3', '0.000000001', '12.5'];
    const rows = [];
    const firstDue = new Map();
    for (let i = 0; i < MACHINES; i++) {
      const running = i % 4 === 0;
      const storedAt = NOW - 30 * DAY - (1 + (i % 600)) * MINUTE;
      const meter = {
        machineId: `m-${i}`,
        buyerId: `buyer-${i % BUYERS}`,
        providerId: `provider-${i % PROVIDERS}`,
        storagePrice: prices[i % prices.length],
        storageAmountDays: 30,
        runningPrice: '0.002016',
        runningUnitSeconds: 3600,
        storedAt,
        storagePeriodsCharged: 1,
        slicesCharged: running ? 1 : 0,
        prepaidMsLeft: running ? 20 * MINUTE : 0,
        runningSince: running ? NOW - 30 * MINUTE : null,
        asOf: running ? NOW - 30 * MINUTE : storedAt,
        removedAt: null,
      };
      const row = rowOf(meter, `host-${i % HOSTS}`, 0);
      rows.push(METER_COLUMNS.map((column) => row[column]));
      firstDue.set(meter.buyerId, Math.min(firstDue.get(meter.buyerId) ?? Infinity, nextDueAt(meter)));
    }
    await insert(db, kind, 'machine_meters', METER_COLUMNS, rows);
    // Each buyer's billing mark as the hooks leave it: nothing charged by a pass yet, and the earliest next due instant.
    const marks = [...firstDue].map(([buyerId, due]) => [buyerId, 0, due]);
    await insert(db, kind, 'buyer_billing', MARK_COLUMNS, marks);
    // What the hooks leave behind: each buyer's standing, with the sum of their next debits.
    const required = new Map();
    for (const row of rows) required.set(row[1], (required.get(row[1]) ?? 0n) + moneyToUnits(row[METER_COLUMNS.indexOf('nextDebits')]));
    const standings = [...required].map(([userId, units]) => [userId, null, null, null, unitsToMoney(units), NOW]);
    await insert(db, kind, 'buyer_standings', ['userId', 'lowSince', 'overdrawnSince', 'heldAt', 'required', 'updatedAt'], standings);
    if (kind === 'postgres') await db.manager.query('ANALYZE');
    console.log(`set up ${MACHINES} meters (${MACHINES / 4} running) for ${BUYERS} buyers in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const passes = app.get(BillingPassService);
    await settle(db.manager, kind);
    const started = performance.now();
    const cpu = process.cpuUsage();
    const written = bytesWritten();
    const serverCpu = kind === 'postgres' ? serverCpuMs(database.dataDir) : 0;
    const profiler = process.env.BENCH_PROFILE ? await startProfile() : null;
    const heapProfiler = process.env.BENCH_HEAP_PROFILE ? await startHeapProfile() : null;
    const pass = await passes.runPass();
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    const passWritten = bytesWritten() - written;
    const passServerMs = kind === 'postgres' ? serverCpuMs(database.dataDir) - serverCpu : 0;
    if (profiler) await profiler.stop(process.env.BENCH_PROFILE);
    if (heapProfiler) await heapProfiler.stop(process.env.BENCH_HEAP_PROFILE);
    const [{ n }] = await db.manager.query('SELECT COUNT(*) AS n FROM ledger_entries');
    const [{ due }] = await db.manager.query(placeholders(kind, 'SELECT COUNT(*) AS due FROM buyer_billing WHERE "nextDueAt" <= ?'), [NOW]);
    console.log(`one billing pass: ${pass.charges} charges over ${pass.meters} meters in ${pass.batches} batches: ${ms.toFixed(0)} ms (goal < 2000 ms)`);
    console.log(
      `  ledger rows ${n}; buyers still due ${due}; ${((pass.charges / ms) * 1000).toFixed(0)} charges/s; CPU of this process ${((used.user + used.system) / 1000).toFixed(0)} ms (user ${(used.user / 1000).toFixed(0)}, system ${(used.system / 1000).toFixed(0)})` +
        (kind === 'postgres' ? `; CPU of the server ${passServerMs.toFixed(0)} ms` : `; written ${(passWritten / 1e6).toFixed(0)} MB`),
    );
    await checkBalances(db, kind, users);
    const again = performance.now();
    const idle = await passes.runPass();
    console.log(`  a second pass with nothing due: ${idle.charges} charges, ${(performance.now() - again).toFixed(0)} ms`);

    const floor = kind === 'postgres' ? await floorOfPostgres(database.url, database.dataDir, marks, pass.batches) : await floorOf(db, marks);
    console.log(
      `floor: one bare transaction inserting the same ${floor.ledgerRows} ledger rows and updating the same ${floor.marks} buyers' marks: ${floor.ms.toFixed(0)} ms` +
        `${kind === 'sqlite' ? `, CPU ${floor.cpuMs.toFixed(0)} ms, written ${(floor.written / 1e6).toFixed(0)} MB` : `, CPU ${floor.cpuMs.toFixed(0)} ms (server ${floor.serverMs.toFixed(0)})`} (wall: insert ${floor.inserted.toFixed(0)}, update ${floor.updated.toFixed(0)}, commit ${(floor.ms - floor.inserted - floor.updated).toFixed(0)})`,
    );
    const passCpuMs = (used.user + used.system) / 1000 + passServerMs;
    // CPU time (every thread of this process, SQLite's included; on PostgreSQL the server's
    // processes too) moves less than wall time on a busy machine.
    console.log(`  ratio pass ÷ floor: ${(ms / floor.ms).toFixed(2)} in wall time, ${(passCpuMs / floor.cpuMs).toFixed(2)} in CPU time (goal ≤ 1.5)`);
    const result = { ms, floorMs: floor.ms, cpuRatio: passCpuMs / floor.cpuMs };
    if (kind === 'postgres') {
      // Set-up only inserted into these tables and the floor wrote copies: the updates are the passes'.
      const updated = await db.manager.query(
        "SELECT relname AS name, n_tup_upd AS n FROM pg_stat_user_tables WHERE relname IN ('users', 'host_incomes', 'buyer_standings') ORDER BY relname",
      );
      console.log(`  rows rewritten by the pass: ${updated.map((row) => `${row.name} ${row.n}`).join(', ')}`);
    }
    return result;
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Before the pass and before the floor: what earlier writes left to write back is written now, not
 * while one of them is timed (PostgreSQL: a CHECKPOINT; SQLite: the WAL copied into the database
 * and emptied). `connection`: anything with query(text), an EntityManager or a pg client.
 */
async function settle(connection, kind) {
  await connection.query(kind === 'postgres' ? 'CHECKPOINT' : 'PRAGMA wal_checkpoint(TRUNCATE)');
}

/**
 * The ledger after the pass: keyed (no key twice), and every user's balance equals their opening
 * balance (set up above, not in the ledger) plus their credits minus their debits, in exact units.
 */
async function checkBalances(db, kind, users) {
  const { moneyToUnits } = require('@virtuoso/domain');
  const ledger = await db.manager.query('SELECT "key", "debitAccount", "creditAccount", "amount" FROM "ledger_entries"');
  const keys = new Set(ledger.map((row) => row.key));
  const moved = new Map();
  const add = (account, units) => moved.set(account, (moved.get(account) ?? 0n) + units);
  for (const row of ledger) {
    const units = moneyToUnits(row.amount);
    add(row.debitAccount, -units);
    add(row.creditAccount, units);
  }
  const opening = new Map(users.map((row) => [row[0], moneyToUnits(row[6])]));
  const stored = await db.manager.query('SELECT "id", "balance" FROM "users"');
  const wrong = stored.filter((row) => moneyToUnits(row.balance) !== opening.get(row.id) + (moved.get(`user:${row.id}`) ?? 0n));
  const total = [...moved.values()].reduce((sum, units) => sum + units, 0n);
  console.log(
    `  ledger: ${ledger.length} rows, ${keys.size} distinct keys, sums to ${total}; balances = opening + ledger for ${stored.length - wrong.length} of ${stored.length} users` +
      (wrong.length || keys.size !== ledger.length || total !== 0n ? '  ← WRONG' : ''),
  );
}

/**
 * The floor on PostgreSQL (see the top of this file), with node-postgres on a connection of its
 * own. Copies of the two tables: CREATE TABLE … (LIKE … INCLUDING ALL), so the same columns,
 * defaults and indexes. Only the transaction is timed, including building its parameters. Tried
 * twice, each on fresh copies: every row in one statement per table, and in parts of the pass's
 * batch size (PostgreSQL's memory for one statement is bounded: a 100,000-row join may be slower
 * than 100 of 1,000); the floor is the faster.
 */
async function floorOfPostgres(url, dataDir, before, batches) {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const typesOf = async (table) =>
      new Map(
        (
          await client.query(
            'SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum',
            [table],
          )
        ).rows.map((row) => [row.name, row.type]),
      );
    const ledgerTypes = await typesOf('ledger_entries');
    const markTypes = await typesOf('buyer_billing');
    const markColumns = [...markTypes.keys()];
    const ledgerColumns = [...ledgerTypes.keys()];
    // In primary key order (payer, key): the order its index takes rows fastest.
    const ledger = (await client.query('SELECT * FROM "ledger_entries" ORDER BY "debitAccount", "key"')).rows;
    const after = (await client.query('SELECT * FROM "buyer_billing" ORDER BY "buyerId"')).rows;
    const [key, ...changed] = markColumns;
    const unnest = (columns, types) => `unnest(${columns.map((c, i) => `$${i + 1}::${types.get(c)}[]`).join(', ')})`;

    const attempt = async (label, parts) => {
      const ledgerCopy = `floor_ledger_entries_${label}`;
      const markCopy = `floor_buyer_billing_${label}`;
      await client.query(`CREATE TABLE "${ledgerCopy}" (LIKE "ledger_entries" INCLUDING ALL)`);
      await client.query(`CREATE TABLE "${markCopy}" (LIKE "buyer_billing" INCLUDING ALL)`);
      // The marks as they were before the pass (set-up, not timed).
      await client.query(
        `INSERT INTO "${markCopy}" (${MARK_COLUMNS.map((c) => `"${c}"`).join(', ')}) SELECT * FROM unnest(${MARK_COLUMNS.map((c, i) => `$${i + 1}::${markTypes.get(c)}[]`).join(', ')})`,
        MARK_COLUMNS.map((_, i) => before.map((row) => row[i])),
      );
      await client.query(`ANALYZE "${markCopy}"`);
      const slices = (rows) =>
        Array.from({ length: parts }, (_, i) => rows.slice(Math.floor((i * rows.length) / parts), Math.floor(((i + 1) * rows.length) / parts)));
      const ledgerParts = slices(ledger);
      const markParts = slices(after);
      let inserted = 0;
      let updated = 0;
      await settle(client, 'postgres');
      const started = performance.now();
      const cpu = process.cpuUsage();
      const serverCpu = serverCpuMs(dataDir);
      await client.query('BEGIN');
      // In parts, a lookup by primary key per row beats hashing the whole table for each part; the
      // planner does not see it, so hash and merge joins are off (the pass picks its marks by key too).
      if (parts > 1) await client.query("SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)");
      for (let i = 0; i < parts; i++) {
        const t0 = performance.now();
        await client.query(
          `INSERT INTO "${ledgerCopy}" (${ledgerColumns.map((c) => `"${c}"`).join(', ')}) SELECT * FROM ${unnest(ledgerColumns, ledgerTypes)}`,
          ledgerColumns.map((c) => ledgerParts[i].map((row) => row[c])),
        );
        const t1 = performance.now();
        await client.query(
          `UPDATE "${markCopy}" AS m SET ${changed.map((c) => `"${c}" = v."${c}"`).join(', ')} ` +
            `FROM ${unnest(markColumns, markTypes)} AS v(${markColumns.map((c) => `"${c}"`).join(', ')}) WHERE m."${key}" = v."${key}"`,
          markColumns.map((c) => markParts[i].map((row) => row[c])),
        );
        inserted += t1 - t0;
        updated += performance.now() - t1;
      }
      await client.query('COMMIT');
      const ms = performance.now() - started;
      const used = process.cpuUsage(cpu);
      const serverMs = serverCpuMs(dataDir) - serverCpu;
      const cpuMs = (used.user + used.system) / 1000 + serverMs;

      const { rows: counted } = await client.query(`SELECT COUNT(*)::int AS n FROM "${ledgerCopy}"`);
      if (counted[0].n !== ledger.length) throw new Error(`floor: ${counted[0].n} ledger rows written, expected ${ledger.length}`);
      const { rows: same } = await client.query(
        `SELECT COUNT(*)::int AS same FROM "${markCopy}" f JOIN "buyer_billing" m ON m."buyerId" = f."buyerId" WHERE f."billedTo" = m."billedTo" AND f."nextDueAt" IS NOT DISTINCT FROM m."nextDueAt"`,
      );
      if (same[0].same !== after.length) throw new Error(`floor: ${same[0].same} marks updated to the pass's values, expected ${after.length}`);
      console.log(`  floor attempt, ${parts === 1 ? 'one statement per table' : `${parts} parts per table`}: ${ms.toFixed(0)} ms, CPU ${cpuMs.toFixed(0)} ms`);
      return { ms, cpuMs, serverMs, inserted, updated, ledgerRows: ledger.length, marks: after.length };
    };
    const whole = await attempt('whole', 1);
    const parted = await attempt('parts', Math.max(1, batches));
    return whole.ms <= parted.ms ? whole : parted;
  } finally {
    await client.end();
  }
}

/**
 * The floor (see the top of this file). `before`: the buyers' marks as set up, in MARK_COLUMNS
 * order. Copies of the two tables are made from the database's own CREATE statements; only the
 * transaction is timed, including turning the rows into its JSON parameters.
 */
async function floorOf(db, before) {
  const em = db.manager;
  await copyShape(em, 'ledger_entries', 'floor_ledger_entries');
  await copyShape(em, 'buyer_billing', 'floor_buyer_billing');
  await insert(db, 'sqlite', 'floor_buyer_billing', MARK_COLUMNS, before);
  const ledger = await em.query('SELECT * FROM "ledger_entries"');
  const after = await em.query('SELECT * FROM "buyer_billing"');
  const ledgerColumns = Object.keys(ledger[0]);
  const [key, ...changed] = MARK_COLUMNS;
  const columnsOf = (columns) => columns.map((column, i) => `j.value ->> ${i} AS "${column}"`).join(', ');

  await settle(em, 'sqlite');
  const started = performance.now();
  const cpu = process.cpuUsage();
  const written = bytesWritten();
  let inserted = 0;
  let updated = 0;
  await db.transaction(async (tx) => {
    const t0 = performance.now();
    await tx.query(
      `INSERT INTO "floor_ledger_entries" (${ledgerColumns.map((c) => `"${c}"`).join(', ')}) SELECT ${columnsOf(ledgerColumns)} FROM json_each(?) AS j`,
      [JSON.stringify(ledger.map((row) => ledgerColumns.map((c) => row[c])))],
    );
    const t1 = performance.now();
    await tx.query(
      `UPDATE "floor_buyer_billing" SET ${changed.map((c) => `"${c}" = v."${c}"`).join(', ')} ` +
        `FROM (SELECT ${columnsOf(MARK_COLUMNS)} FROM json_each(?) AS j) AS v WHERE "floor_buyer_billing"."${key}" = v."${key}"`,
      [JSON.stringify(after.map((row) => MARK_COLUMNS.map((c) => row[c])))],
    );
    inserted = t1 - t0;
    updated = performance.now() - t1;
  });
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  const floorWritten = bytesWritten() - written;
  const [{ n }] = await em.query('SELECT COUNT(*) AS n FROM "floor_ledger_entries"');
  if (n !== ledger.length) throw new Error(`floor: ${n} ledger rows written, expected ${ledger.length}`);
  const [{ same }] = await em.query(
    'SELECT COUNT(*) AS same FROM "floor_buyer_billing" f JOIN "buyer_billing" m ON m."buyerId" = f."buyerId" WHERE f."billedTo" = m."billedTo" AND f."nextDueAt" IS m."nextDueAt"',
  );
  if (same !== after.length) throw new Error(`floor: ${same} marks updated to the pass's values, expected ${after.length}`);
  return { ms, cpuMs, written: floorWritten, inserted, updated, ledgerRows: ledger.length, marks: after.length };
}

/** An empty table shaped like `table`: its CREATE TABLE and CREATE INDEX statements, renamed. */
async function copyShape(em, table, copy) {
  const statements = await em.query(`SELECT "type", "name", "sql" FROM sqlite_master WHERE "tbl_name" = ? AND "sql" IS NOT NULL ORDER BY "type" DESC`, [table]);
  for (const { type, name, sql } of statements) {
    let renamed = sql.replace(`"${table}"`, `"${copy}"`);
    if (type === 'index') renamed = renamed.replace(`"${name}"`, `"${copy}_${name}"`);
    await em.query(renamed);
  }
}

/**
 * CPU time (user + system, ms) of a PostgreSQL cluster so far: the postmaster's and its children's
 * (the backends; those that exited, such as autovacuum workers, through the postmaster's children
 * times), from /proc: differences are the work done in between, steadier than wall time on a busy
 * machine. 0 where /proc is not there.
 */
function serverCpuMs(dataDir) {
  try {
    const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const tick = 1000 / 100; // USER_HZ
    let total = 0;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let stat;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      } catch {
        continue;
      }
      // After the command name (in parentheses, may hold spaces): state, ppid, …, utime (14th), stime (15th).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pid = Number(entry);
      if (pid !== postmaster && Number(fields[1]) !== postmaster) continue;
      total += (Number(fields[11]) + Number(fields[12])) * tick;
      // The postmaster's reaped children (autovacuum workers come and go): cutime, cstime.
      if (pid === postmaster) total += (Number(fields[13]) + Number(fields[14])) * tick;
    }
    return total;
  } catch {
    return 0;
  }
}

/**
 * Bytes this process has handed to write() so far (/proc/self/io wchar; 0 without /proc): on
 * SQLite the pages each commit writes to the WAL and the checkpoints copy back — a count, not a
 * time, so it does not move with the machine's load.
 */
function bytesWritten() {
  try {
    return Number(/^wchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** BENCH_PROFILE=<file.cpuprofile>: a V8 CPU profile of the pass alone (open it in Chrome's DevTools). */
const startProfile = () => startInspector('Profiler', 'start', {}, 'stop', 'CPU profile');

/**
 * BENCH_HEAP_PROFILE: samples what is allocated (one sample per 32 KiB on average), counting the
 * objects the collector has freed since: where the garbage of the pass comes from. Open the file
 * in Chrome's DevTools (Memory).
 */
const startHeapProfile = () =>
  startInspector(
    'HeapProfiler',
    'startSampling',
    { samplingInterval: 32 * 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true },
    'stopSampling',
    'heap profile',
  );

/** An inspector session of this process running `domain`.`start` until stop(file) writes what `domain`.`stop` returns. */
async function startInspector(domain, start, params, stop, what) {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post(`${domain}.enable`);
  await session.post(`${domain}.${start}`, params);
  return {
    async stop(file) {
      const { profile } = await session.post(`${domain}.${stop}`);
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
      console.log(`  ${what} of the pass: ${file}`);
    },
  };
}

/** Multi-row INSERTs, 5000 rows a transaction (the bench's set-up, not what it measures). */
async function insert(db, kind, table, columns, rows) {
  const perStatement = Math.floor(30_000 / columns.length);
  for (let start = 0; start < rows.length; start += 5000) {
    await db.transaction(async (em) => {
      const slice = rows.slice(start, start + 5000);
      for (let at = 0; at < slice.length; at += perStatement) {
        const part = slice.slice(at, at + perStatement);
        const sql = `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES ${part.map(() => `(${columns.map(() => '?').join(', ')})`).join(', ')}`;
        await em.query(placeholders(kind, sql), part.flat());
      }
    });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
