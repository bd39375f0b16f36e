import { Inject, Injectable } from '@nestjs/common';
import {
  ACTIVE_MIGRATION_PHASES,
  type LedgerInvariantDto,
  type OperatorHostDto,
  type OperatorMigrationDto,
  type OperatorOverviewDto,
} from '@virtuoso/contracts';
import { moneyToUnits, unitsToMoney } from '@virtuoso/domain';
import type { EntityManager } from 'typeorm';
import { isOnline, onlineSince } from '../agents/online';
import { Clock, WALL_CLOCK } from '../common/clock';
import { Database } from '../common/database.service';
import { Sql, select } from '../common/sql';
import { APP_CONFIG, AppConfig } from '../config';

/** The overview lists at most this many hosts (and host-less agents); hostCount counts them all. */
export const OVERVIEW_HOST_LIMIT = 1000;

const UNITS_PER_DOLLAR = 10n ** 12n;

/**
 * Money text → two exact integer SQL expressions on SQLite, which has no decimal type: the signed
 * whole dollars and the signed 12-digit fraction (money has at most 12 decimals). Summed apart,
 * each stays an exact 64-bit integer (SQLite's SUM fails loudly rather than round on overflow);
 * JavaScript joins them as bigint.
 */
function sqliteMoneyParts(column: string): { whole: string; fraction: string } {
  const sign = `(CASE WHEN ${column} LIKE '-%' THEN -1 ELSE 1 END)`;
  const magnitude = `ltrim(${column}, '-')`;
  const dot = `instr(${magnitude}, '.')`;
  return {
    whole: `${sign} * CAST(CASE WHEN ${dot} > 0 THEN substr(${magnitude}, 1, ${dot} - 1) ELSE ${magnitude} END AS INTEGER)`,
    fraction: `${sign} * (CASE WHEN ${dot} > 0 THEN CAST(substr(substr(${magnitude}, ${dot} + 1) || '000000000000', 1, 12) AS INTEGER) ELSE 0 END)`,
  };
}

interface HostRow {
  hostId: string | null;
  name: string | null;
  provider: string | null;
  agentId: string | null;
  lastHeartbeatAt: string | null;
  agentVersion: string | null;
  speed: number | null;
  reservedSpeed: number | null;
  memory: number | null;
  reservedMemory: number | null;
  storage: number | null;
  reservedStorage: number | null;
  machines: number | string | null;
}

/**
 * What the operator page shows (docs/ARCHITECTURE.md, Operating): every host with its agent's
 * health, machines by state, migrations under way and the ledger's invariant, each read with a few
 * aggregate statements whatever the size of the market.
 */
@Injectable()
export class OperatorOverviewService {
  constructor(
    private readonly db: Database,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
  ) {}

  async overview(): Promise<OperatorOverviewDto> {
    const em = this.db.manager;
    const now = this.wallClock.now();
    const [hosts, counts, machinesByState, migrations, ledger] = await Promise.all([
      this.hosts(em, now),
      this.hostCounts(em, now),
      this.machinesByState(em),
      this.migrations(em),
      this.ledger(em),
    ]);
    return { at: new Date(now).toISOString(), hosts, ...counts, machinesByState, migrations, ledger };
  }

  private async hosts(em: EntityManager, now: number): Promise<OperatorHostDto[]> {
    const sql = new Sql(em);
    const version = sql.sqlite ? `a."facts" ->> '$.agentVersion'` : `CAST(a."facts" AS json) ->> 'agentVersion'`;
    const limit = sql.p(OVERVIEW_HOST_LIMIT);
    const rows = await select<HostRow>(
      em,
      `SELECT h."id" AS "hostId", h."name", u."handle" AS "provider", a."id" AS "agentId", a."lastHeartbeatAt", ${version} AS "agentVersion", ` +
        `h."speed", h."reservedSpeed", h."memory", h."reservedMemory", h."storage", h."reservedStorage", COALESCE(m."n", 0) AS "machines" ` +
        `FROM "hosts" h JOIN "users" u ON u."id" = h."ownerId" LEFT JOIN "agents" a ON a."id" = h."agentId" ` +
        `LEFT JOIN (SELECT "hostId", COUNT(*) AS "n" FROM "machines" WHERE "state" <> 'deleted' AND "hostId" IS NOT NULL GROUP BY "hostId") m ON m."hostId" = h."id" ` +
        `ORDER BY h."name", h."id" LIMIT ${limit}`,
      sql.params,
    );
    if (rows.length < OVERVIEW_HOST_LIMIT) {
      const orphans = new Sql(em);
      const orphanLimit = orphans.p(OVERVIEW_HOST_LIMIT - rows.length);
      rows.push(
        ...(await select<HostRow>(
          em,
          `SELECT NULL AS "hostId", NULL AS "name", u."handle" AS "provider", a."id" AS "agentId", a."lastHeartbeatAt", ${version} AS "agentVersion", ` +
            `NULL AS "speed", NULL AS "reservedSpeed", NULL AS "memory", NULL AS "reservedMemory", NULL AS "storage", NULL AS "reservedStorage", 0 AS "machines" ` +
            `FROM "agents" a JOIN "users" u ON u."id" = a."providerId" WHERE NOT EXISTS (SELECT 1 FROM "hosts" h WHERE h."agentId" = a."id") ` +
            `ORDER BY a."joinedAt", a."id" LIMIT ${orphanLimit}`,
          orphans.params,
        )),
      );
    }
    return rows.map((row) => ({
      hostId: row.hostId,
      name: row.name,
      provider: row.provider ?? '',
      agentId: row.agentId,
      health: !row.agentId ? 'none' : isOnline(row.lastHeartbeatAt, this.config.agentOfflineMs, now) ? 'online' : 'offline',
      lastHeartbeatAt: row.lastHeartbeatAt,
      agentVersion: row.agentVersion ?? null,
      resources:
        row.hostId === null
          ? null
          : {
              speed: Number(row.speed),
              freeSpeed: Number(row.speed) - Number(row.reservedSpeed),
              memory: Number(row.memory),
              freeMemory: Number(row.memory) - Number(row.reservedMemory),
              storage: Number(row.storage),
              freeStorage: Number(row.storage) - Number(row.reservedStorage),
            },
      machines: Number(row.machines),
    }));
  }

  private async hostCounts(em: EntityManager, now: number): Promise<{ hostCount: number; agentsOnline: number }> {
    const sql = new Sql(em);
    const since = sql.p(onlineSince(this.config.agentOfflineMs, now));
    const [row] = await select<{ hosts: number | string; orphans: number | string; online: number | string }>(
      em,
      `SELECT (SELECT COUNT(*) FROM "hosts") AS "hosts", ` +
        `(SELECT COUNT(*) FROM "agents" a WHERE NOT EXISTS (SELECT 1 FROM "hosts" h WHERE h."agentId" = a."id")) AS "orphans", ` +
        `(SELECT COUNT(*) FROM "agents" WHERE "lastHeartbeatAt" >= ${since}) AS "online"`,
      sql.params,
    );
    return { hostCount: Number(row.hosts) + Number(row.orphans), agentsOnline: Number(row.online) };
  }

  async machinesByState(em: EntityManager = this.db.manager): Promise<Record<string, number>> {
    const rows = await select<{ state: string; n: number | string }>(
      em,
      'SELECT "state", COUNT(*) AS "n" FROM "machines" GROUP BY "state" ORDER BY "state"',
      [],
    );
    return Object.fromEntries(rows.map((row) => [row.state, Number(row.n)]));
  }

  async agentsOnline(em: EntityManager = this.db.manager): Promise<number> {
    return (await this.hostCounts(em, this.wallClock.now())).agentsOnline;
  }

  private async migrations(em: EntityManager): Promise<OperatorMigrationDto[]> {
    const sql = new Sql(em);
    const rows = await select<OperatorMigrationDto>(
      em,
      `SELECT "id", "machineId", "fromHostName" AS "fromHost", "toHostName" AS "toHost", "method", "phase", "startedAt" FROM "migrations" ` +
        `WHERE "phase" IN ${sql.list(ACTIVE_MIGRATION_PHASES)} ORDER BY "startedAt", "id"`,
      sql.params,
    );
    return rows.map((row) => ({ ...row }));
  }

  /**
   * The ledger's invariant, live: the users' stored balances sum to what the ledger says they hold
   * (credits minus debits of every user account), and so does each user's. The ledger itself always
   * sums to zero (one row holds both sides of a movement: accounts/ledger-entry.entity.ts), so this
   * is "all balances sum with the ledger to zero" once the market and outside accounts are counted.
   */
  async ledger(em: EntityManager = this.db.manager): Promise<LedgerInvariantDto> {
    const sqlite = em.connection.options.type !== 'postgres';
    let balancesUnits: bigint;
    let ledgerUnits: bigint;
    let mismatched: number;
    let entries: number;
    if (!sqlite) {
      const [row] = await select<{ balances: string; ledger: string; mismatched: string; entries: string }>(
        em,
        `WITH "moves" AS (` +
          `SELECT substr("creditAccount", 6) AS "userId", CAST("amount" AS numeric) AS "delta" FROM "ledger_entries" WHERE "creditAccount" LIKE 'user:%' ` +
          `UNION ALL SELECT substr("debitAccount", 6), -CAST("amount" AS numeric) FROM "ledger_entries" WHERE "debitAccount" LIKE 'user:%'), ` +
          `"per_user" AS (SELECT "userId", SUM("delta") AS "ledger" FROM "moves" GROUP BY "userId") ` +
          `SELECT CAST((SELECT COALESCE(SUM(CAST("balance" AS numeric)), 0) FROM "users") AS text) AS "balances", ` +
          `CAST((SELECT COALESCE(SUM("ledger"), 0) FROM "per_user") AS text) AS "ledger", ` +
          `(SELECT COUNT(*) FROM "users" u FULL JOIN "per_user" p ON p."userId" = u."id" ` +
          `WHERE COALESCE(CAST(u."balance" AS numeric), 0) <> COALESCE(p."ledger", 0)) AS "mismatched", ` +
          `(SELECT COUNT(*) FROM "ledger_entries") AS "entries"`,
        [],
      );
      balancesUnits = moneyToUnits(row.balances);
      ledgerUnits = moneyToUnits(row.ledger);
      mismatched = Number(row.mismatched);
      entries = Number(row.entries);
    } else {
      const amount = sqliteMoneyParts('"amount"');
      const balance = sqliteMoneyParts('u."balance"');
      const [row] = await select<{ bw: string; bf: string; lw: string; lf: string; mismatched: number; entries: number }>(
        em,
        `WITH "moves" AS (` +
          `SELECT substr("creditAccount", 6) AS "userId", ${amount.whole} AS "w", ${amount.fraction} AS "f" FROM "ledger_entries" WHERE "creditAccount" LIKE 'user:%' ` +
          `UNION ALL SELECT substr("debitAccount", 6), -(${amount.whole}), -(${amount.fraction}) FROM "ledger_entries" WHERE "debitAccount" LIKE 'user:%'), ` +
          `"per_user" AS (SELECT "userId", SUM("w") AS "w", SUM("f") AS "f" FROM "moves" GROUP BY "userId") ` +
          `SELECT (SELECT CAST(COALESCE(SUM(${balance.whole}), 0) AS TEXT) FROM "users" u) AS "bw", ` +
          `(SELECT CAST(COALESCE(SUM(${balance.fraction}), 0) AS TEXT) FROM "users" u) AS "bf", ` +
          `(SELECT CAST(COALESCE(SUM("w"), 0) AS TEXT) FROM "per_user") AS "lw", ` +
          `(SELECT CAST(COALESCE(SUM("f"), 0) AS TEXT) FROM "per_user") AS "lf", ` +
          // Per user the difference is compared, not the totals: small, so exact in 64 bits.
          `(SELECT COUNT(*) FROM "users" u LEFT JOIN "per_user" p ON p."userId" = u."id" ` +
          `WHERE (COALESCE(p."w", 0) - (${balance.whole})) * 1000000000000 + (COALESCE(p."f", 0) - (${balance.fraction})) <> 0) + ` +
          `(SELECT COUNT(*) FROM "per_user" p WHERE NOT EXISTS (SELECT 1 FROM "users" u WHERE u."id" = p."userId") AND (p."w" <> 0 OR p."f" <> 0)) AS "mismatched", ` +
          `(SELECT COUNT(*) FROM "ledger_entries") AS "entries"`,
        [],
      );
      balancesUnits = BigInt(row.bw) * UNITS_PER_DOLLAR + BigInt(row.bf);
      ledgerUnits = BigInt(row.lw) * UNITS_PER_DOLLAR + BigInt(row.lf);
      mismatched = Number(row.mismatched);
      entries = Number(row.entries);
    }
    const difference = balancesUnits - ledgerUnits;
    return {
      balances: unitsToMoney(balancesUnits),
      ledger: unitsToMoney(ledgerUnits),
      difference: unitsToMoney(difference),
      mismatchedUsers: mismatched,
      balanced: difference === 0n && mismatched === 0,
      entries,
    };
  }
}
