import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { AgentJournalEntry } from '@virtuoso/contracts';
import { EntityManager, In, LessThan } from 'typeorm';
import { Agent } from '../agents/agent.entity';
import { onlineSince } from '../agents/online';
import { Clock, WALL_CLOCK } from '../common/clock';
import { Daemons } from '../common/daemons';
import { Database } from '../common/database.service';
import { Sql, exec, quoted, select } from '../common/sql';
import { nowIso } from '../common/time';
import { APP_CONFIG, AppConfig } from '../config';
import { Machine } from '../machines/machine.entity';
import { Migration } from '../migrations/migration.entity';
import { Host } from '../providers/host.entity';
import { EventRow, EventSource } from './event.entity';

/** What a caller records; the log adds the time of recording (and the order). */
export interface NewEvent {
  kind: string;
  message: string;
  source?: EventSource;
  /** The source's time; default the time of recording. */
  occurredAt?: string;
  machineId?: string | null;
  hostId?: string | null;
  agentId?: string | null;
  userId?: string | null;
  buyerId?: string | null;
  providerId?: string | null;
  version?: number | null;
  agentSeq?: number | null;
  data?: Record<string, unknown> | null;
}

/** Rows per INSERT (one JSON parameter each). */
const INSERT_CHUNK = 1000;
const COLUMNS = [
  'at',
  'occurredAt',
  'source',
  'kind',
  'machineId',
  'hostId',
  'agentId',
  'userId',
  'buyerId',
  'providerId',
  'version',
  'agentSeq',
  'message',
  'data',
] as const satisfies ReadonlyArray<keyof EventRow>;
/** Rows the retention daemon deletes per statement, so it never holds the database for long. */
const RETENTION_BATCH = 5000;
const DATA_MAX = 4000;
const CACHE_MAX = 10_000;
/** The events that say whether a host is online: the latest of them is its state. */
const PRESENCE_KINDS = ['host.online', 'host.offline', 'agent.joined'];

/**
 * The market's one ordered event log (report §6.1.10 and footnote 25; docs/ARCHITECTURE.md
 * "Event log"). `record` writes in the caller's transaction, so an event commits with the change it
 * reports; `note` is for what happens outside one (commands to agents and their replies, errors):
 * queued, written in the order noted, never failing its caller. Agents' journals arrive with their
 * heartbeats (`recordJournal`). A leader daemon deletes events older than the retention and notes
 * hosts whose agent went offline.
 */
@Injectable()
export class EventLog implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('EventLog');
  private queued: EventRow[] = [];
  private writing: Promise<void> = Promise.resolve();
  /** A host's provider never changes: looked up once. */
  private readonly providerOfHost = new Map<string, string | null>();
  private readonly buyerOfMachine = new Map<string, string>();

  constructor(
    private readonly db: Database,
    private readonly daemons: Daemons,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
  ) {}

  onModuleInit(): void {
    this.daemons.every('event-log', this.config.reconcileIntervalSeconds, () => this.runPass());
  }

  async onModuleDestroy(): Promise<void> {
    await this.flush();
  }

  /** Records events in the caller's transaction (in the order given). */
  async record(em: EntityManager, ...events: NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    const at = nowIso(this.wallClock);
    await this.insert(
      em,
      events.map((event) => this.row(event, at)),
    );
  }

  /** Records an event outside any transaction, after the ones noted before it; never throws. */
  note(event: NewEvent): void {
    this.queued.push(this.row(event, nowIso(this.wallClock)));
    if (this.queued.length === 1) {
      this.writing = this.writing.then(() => this.writeQueued());
    }
  }

  /** Resolves once every noted event is written (tests; shutdown). */
  async flush(): Promise<void> {
    await this.writing;
  }

  /** The provider of a host, for the rows of its events (cached: a host never changes hands). */
  async providerOf(em: EntityManager, hostId: string | null): Promise<string | null> {
    if (!hostId) return null;
    if (this.providerOfHost.has(hostId)) return this.providerOfHost.get(hostId)!;
    const host = await em.findOne(Host, { select: { id: true, ownerId: true }, where: { id: hostId } });
    const owner = host?.ownerId ?? null;
    if (host) this.remember(this.providerOfHost, hostId, owner);
    return owner;
  }

  /** Bounded caches: forgotten all at once when full (a lookup is one indexed read). */
  private remember<V>(cache: Map<string, V>, key: string, value: V): void {
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(key, value);
  }

  /** The buyer of a machine (cached: machines do not change hands). */
  private async buyerOf(em: EntityManager, machineId: string | null): Promise<string | null> {
    if (!machineId) return null;
    if (this.buyerOfMachine.has(machineId)) return this.buyerOfMachine.get(machineId)!;
    const machine = await em.findOne(Machine, { select: { id: true, ownerId: true }, where: { id: machineId } });
    if (machine) this.remember(this.buyerOfMachine, machineId, machine.ownerId);
    return machine?.ownerId ?? null;
  }

  /**
   * An agent's journal entries from one heartbeat, in its transaction: stored in seq order, each
   * (agentId, seq) once — a resent entry (its acknowledgement was lost) is ignored by the unique key.
   * Entries about a machine carry its buyer and host, when the machine is on this agent's host.
   */
  async recordJournal(em: EntityManager, agent: Pick<Agent, 'id' | 'providerId'>, entries: AgentJournalEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const host = await em.findOne(Host, { select: { id: true, ownerId: true }, where: { agentId: agent.id } });
    const machineIds = [...new Set(entries.map((entry) => entry.machineId).filter((id): id is string => !!id))];
    // Only machines this agent's host holds, or one of its migrations moves, go into their buyer's
    // history: an agent cannot write into the history of a machine it has nothing to do with.
    const buyers = new Map<string, string>();
    if (machineIds.length && host) {
      const machines = await em.find(Machine, { select: { id: true, ownerId: true, hostId: true }, where: { id: In(machineIds) } });
      const moving = new Set(
        (
          await em.find(Migration, {
            select: { id: true, machineId: true },
            where: [
              { machineId: In(machineIds), toHostId: host.id },
              { machineId: In(machineIds), fromHostId: host.id },
            ],
          })
        ).map((migration) => migration.machineId),
      );
      for (const machine of machines) if (machine.hostId === host.id || moving.has(machine.id)) buyers.set(machine.id, machine.ownerId);
    }
    const at = nowIso(this.wallClock);
    await this.takeTransactionId(em);
    const rows = [...entries]
      .sort((a, b) => a.seq - b.seq)
      .map((entry) =>
        this.row(
          {
            source: 'agent',
            kind: entry.kind,
            message: entry.message,
            occurredAt: entry.at,
            agentId: agent.id,
            agentSeq: entry.seq,
            hostId: host?.id ?? null,
            providerId: agent.providerId,
            machineId: entry.machineId && buyers.has(entry.machineId) ? entry.machineId : null,
            buyerId: entry.machineId ? (buyers.get(entry.machineId) ?? null) : null,
            data: { ...(entry.data ?? {}), ...(entry.machineId && !buyers.has(entry.machineId) ? { machineId: entry.machineId } : {}) },
          },
          at,
        ),
      );
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      await em
        .createQueryBuilder()
        .insert()
        .into(EventRow)
        .values(rows.slice(i, i + INSERT_CHUNK))
        .orIgnore()
        .updateEntity(false)
        .execute();
    }
  }

  /** One pass of the daemon: hosts gone offline are noted, old events deleted. Tests call it. */
  async runPass(): Promise<{ offline: number; deleted: number }> {
    const offline = await this.noteOffline();
    const deleted = await this.deleteExpired();
    return { offline, deleted };
  }

  /**
   * Agents whose last heartbeat is older than the offline threshold, and whose latest host.online
   * / host.offline / agent.joined event is not host.offline, get a host.offline event (the
   * heartbeat that brings them back records host.online). One read finds them all and one
   * transaction records their events: a burst of load that makes many agents late must not be
   * answered with a round trip per late agent every pass (docs/ARCHITECTURE.md §12).
   */
  private async noteOffline(): Promise<number> {
    const q = new Sql(this.db.manager);
    const since = onlineSince(this.config.agentOfflineMs, this.wallClock.now());
    const agents = await select<{ id: string; providerId: string; lastHeartbeatAt: string; hostId: string | null; hostName: string | null }>(
      this.db.manager,
      `SELECT a."id", a."providerId", a."lastHeartbeatAt", h."id" AS "hostId", h."name" AS "hostName" ` +
        `FROM "agents" a LEFT JOIN "hosts" h ON h."agentId" = a."id" ` +
        `WHERE a."lastHeartbeatAt" < ${q.p(since)} AND COALESCE((SELECT e."kind" FROM "events" e ` +
        `WHERE e."agentId" = a."id" AND e."kind" IN ${q.inList(PRESENCE_KINDS)} ORDER BY e."id" DESC LIMIT 1), '') <> ${q.p('host.offline')}`,
      q.params,
    );
    if (agents.length === 0) return 0;
    await this.db.transaction((em) =>
      this.record(
        em,
        ...agents.map((agent) => ({
          kind: 'host.offline',
          message: `${agent.hostName !== null ? `host ${agent.hostName}` : `agent ${agent.id}`} went offline: no heartbeat since ${agent.lastHeartbeatAt}`,
          occurredAt: agent.lastHeartbeatAt,
          agentId: agent.id,
          hostId: agent.hostId,
          providerId: agent.providerId,
        })),
      ),
    );
    return agents.length;
  }

  /** Deletes events recorded before the retention (VIRTUOSO_EVENT_RETENTION_DAYS; 0 keeps them), in batches. */
  private async deleteExpired(): Promise<number> {
    const days = this.config.eventRetentionDays;
    if (days <= 0) return 0;
    const before = new Date(this.wallClock.now() - days * 86_400_000).toISOString();
    let deleted = 0;
    for (;;) {
      const batch = await this.db.manager.find(EventRow, {
        select: { id: true },
        where: { at: LessThan(before) },
        order: { id: 'ASC' },
        take: RETENTION_BATCH,
      });
      if (batch.length === 0) return deleted;
      const last = batch[batch.length - 1].id;
      const result = await this.db.transaction((em) =>
        em.createQueryBuilder().delete().from(EventRow).where('id <= :last', { last }).andWhere('at < :before', { before }).execute(),
      );
      deleted += result.affected ?? batch.length;
      if (batch.length < RETENTION_BATCH) return deleted;
    }
  }

  private async writeQueued(): Promise<void> {
    const rows = this.queued;
    this.queued = [];
    try {
      await this.db.transaction(async (em) => {
        // A noted event is about a machine or host: its owners go on the row for the histories.
        for (const row of rows) {
          row.providerId ??= await this.providerOf(em, row.hostId);
          row.buyerId ??= await this.buyerOf(em, row.machineId);
        }
        await this.insert(em, rows);
      });
    } catch (error) {
      this.logger.warn(`${rows.length} event(s) not recorded: ${(error as Error).message}`);
    }
  }

  /**
   * One INSERT per INSERT_CHUNK rows, bound as ONE JSON parameter (common/sql.ts: the billing
   * pass's batches go the same way, docs/ARCHITECTURE.md §12); the rows get their ids in array
   * order. `ignoreRepeats`: a row whose (agentId, agentSeq) is stored already is skipped.
   */
  private async insert(em: EntityManager, rows: EventRow[], ignoreRepeats = false): Promise<void> {
    await this.takeTransactionId(em);
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      const sql = new Sql(em);
      const values = sql.values(
        rows.slice(i, i + INSERT_CHUNK).map((row) => COLUMNS.map((column) => row[column] ?? null)),
        COLUMNS.length,
      );
      const select = COLUMNS.map((column, n) => (column === 'version' || column === 'agentSeq' ? `CAST(column${n + 1} AS bigint)` : `column${n + 1}`)).join(
        ', ',
      );
      // (WHERE true: SQLite's parser needs it between a SELECT and ON CONFLICT.)
      await exec(
        em,
        `INSERT INTO "events" (${COLUMNS.map(quoted).join(', ')}) SELECT ${select} FROM ${values} AS v WHERE true${ignoreRepeats ? ' ON CONFLICT DO NOTHING' : ''}`,
        sql.params,
      );
    }
  }

  /**
   * PostgreSQL: the transaction takes its id before its first event takes a number, so no reader
   * (who shows only events of transactions older than the oldest running: EventQueries) can see a
   * later number while this one's transaction had no id yet. The column's default records it.
   */
  private async takeTransactionId(em: EntityManager): Promise<void> {
    if (em.connection.options.type === 'postgres') await em.query('SELECT pg_current_xact_id()');
  }

  private row(event: NewEvent, at: string): EventRow {
    const data = event.data && Object.keys(event.data).length ? JSON.stringify(event.data) : null;
    return {
      at,
      occurredAt: event.occurredAt ?? at,
      source: event.source ?? 'market',
      kind: event.kind.slice(0, 60),
      machineId: event.machineId ?? null,
      hostId: event.hostId ?? null,
      agentId: event.agentId ?? null,
      userId: event.userId ?? null,
      buyerId: event.buyerId ?? null,
      providerId: event.providerId ?? null,
      version: event.version ?? null,
      agentSeq: event.agentSeq ?? null,
      message: event.message.slice(0, 1000),
      data: data && data.length > DATA_MAX ? '{"truncated":true}' : data,
    } as EventRow;
  }
}
