import { Injectable } from '@nestjs/common';
import {
  MACHINE_EVENT_CURSOR,
  type EventDto,
  type EventListDto,
  type EventPageQueryDto,
  type MachineEventDto,
  type MachineEventListDto,
  type MachineEventPageQueryDto,
  type OperatorEventListDto,
  type OperatorEventQueryDto,
} from '@virtuoso/contracts';
import { Brackets, SelectQueryBuilder } from 'typeorm';
import { AuthUser } from '../common/auth.decorators';
import { Database } from '../common/database.service';
import { notFound } from '../common/errors';
import { Sql, select } from '../common/sql';
import { ChargeRow, chargeEntry } from './charge-summary';
import { Machine } from '../machines/machine.entity';
import { Host } from '../providers/host.entity';
import { EventRow } from './event.entity';

const DEFAULT_LIMIT = 100;

/**
 * Reads of the event log: a machine's history for its buyer, a host's for its provider (each one
 * indexed read, filtered on the owner stored on the row: nobody sees another user's events), and
 * the operator's global log with filters. Pages follow the global order (a cursor of the last id).
 */
@Injectable()
export class EventQueries {
  constructor(private readonly db: Database) {}

  /**
   * A machine's history: its events merged, by the time they were recorded, with what it was
   * charged, read from the ledger (one entry per write: chargeEntry). Two sources paged side by
   * side: the cursor says where each stopped (the last event id, the last charges' createdAt).
   */
  async machineHistory(user: AuthUser, machineId: string, page: MachineEventPageQueryDto): Promise<MachineEventListDto> {
    if (!(await this.db.manager.existsBy(Machine, { id: machineId, ownerId: user.id }))) throw notFound('machine');
    const ascending = page.order === 'asc';
    const limit = page.limit ?? DEFAULT_LIMIT;
    const [, eventCursor, chargeCursor] = MACHINE_EVENT_CURSOR.exec(page.cursor ?? '_') ?? [];
    const query = this.rows().where('event.machineId = :machineId', { machineId }).andWhere('event.buyerId = :userId', { userId: user.id });
    if (eventCursor !== undefined) query.andWhere(ascending ? 'event.id > :cursor' : 'event.id < :cursor', { cursor: Number(eventCursor) });
    const events = (
      await this.visible(query)
        .orderBy('event.id', ascending ? 'ASC' : 'DESC')
        .take(limit + 1)
        .getMany()
    ).map(toDto);
    const charges = await this.chargeEntries(user.id, machineId, ascending, chargeCursor);
    // Merged by recording time; on a tie an event goes first in time (a start, then its first charge).
    const items: MachineEventDto[] = [];
    let e = 0;
    let c = 0;
    let lastEvent = eventCursor;
    let lastCharge = chargeCursor;
    while (items.length < limit && (e < events.length || c < charges.length)) {
      const event = events[e];
      const charge = charges[c];
      const eventFirst = !charge || (event && (ascending ? event.at <= charge.at : event.at > charge.at));
      if (eventFirst) {
        items.push(event);
        lastEvent = String(event.id);
        e++;
      } else {
        items.push(charge);
        lastCharge = charge.at;
        c++;
      }
    }
    const more = e < events.length || c < charges.length;
    return { items, next: more ? `${lastEvent ?? ''}_${lastCharge ?? ''}` : null };
  }

  /**
   * The machine's charges to its buyer after the cursor, grouped by write (createdAt), in order.
   * Read by ranges of the primary key, (payer, key): the buyer's account, then keys that start
   * with the kind and the machine (storage:<id>:…, running:<id>:…, fee:<id>); no index of their
   * own: on SQLite a range of the table's b-tree; on PostgreSQL a LIKE prefix, which its planner
   * turns into a range of the primary key's index when the database's collation is C
   * (tools/postgres/cluster.mjs), and the buyer's whole stretch of it otherwise.
   */
  private async chargeEntries(buyerId: string, machineId: string, ascending: boolean, after: string | undefined): Promise<MachineEventDto[]> {
    const sql = new Sql(this.db.manager);
    const ranges = [`storage:${machineId}:`, `running:${machineId}:`].map((prefix) =>
      sql.sqlite ? `("key" >= ${sql.p(prefix)} AND "key" < ${sql.p(`${prefix.slice(0, -1)};`)})` : `"key" LIKE ${sql.p(`${prefix}%`)}`,
    );
    const rows = await select<ChargeRow>(
      this.db.manager,
      `SELECT "key", "kind", "amount", "hostId", "at", "createdAt" FROM "ledger_entries" ` +
        `WHERE (${ranges.join(' OR ')} OR "key" = ${sql.p(`fee:${machineId}`)}) AND "debitAccount" = ${sql.p(`user:${buyerId}`)}`,
      sql.params,
    );
    const byWrite = new Map<string, ChargeRow[]>();
    for (const row of rows) {
      if (after !== undefined && (ascending ? row.createdAt <= after : row.createdAt >= after)) continue;
      const group = byWrite.get(row.createdAt);
      if (group) group.push(row);
      else byWrite.set(row.createdAt, [row]);
    }
    const times = [...byWrite.keys()].sort();
    if (!ascending) times.reverse();
    return times.map((time) => chargeEntry(machineId, byWrite.get(time)!));
  }

  async hostHistory(user: AuthUser, hostId: string, page: EventPageQueryDto): Promise<EventListDto> {
    if (!(await this.db.manager.existsBy(Host, { id: hostId, ownerId: user.id }))) throw notFound('host');
    const query = this.rows().where('event.hostId = :hostId', { hostId }).andWhere('event.providerId = :userId', { userId: user.id });
    return this.page(query, page, toDto);
  }

  /** A user's own account events (sign-ins, failed sign-ins, top-ups): theirs only, by the row's userId. */
  async accountHistory(user: AuthUser, page: EventPageQueryDto): Promise<EventListDto> {
    const query = this.rows().where('event.userId = :userId', { userId: user.id }).andWhere("event.kind LIKE 'account.%'");
    return this.page(query, page, toDto);
  }

  async operatorLog(filters: OperatorEventQueryDto): Promise<OperatorEventListDto> {
    const query = this.rows().where('1 = 1');
    const kind = filters.kind;
    if (kind) {
      // A category (machine) takes its kinds (machine.*); the pattern escapes LIKE's wildcards.
      query.andWhere(
        new Brackets((q) => q.where('event.kind = :kind', { kind }).orWhere("event.kind LIKE :category ESCAPE '\\'", { category: `${escapeLike(kind)}.%` })),
      );
    }
    if (filters.source) query.andWhere('event.source = :source', { source: filters.source });
    if (filters.machineId) query.andWhere('event.machineId = :machineId', { machineId: filters.machineId });
    if (filters.hostId) query.andWhere('event.hostId = :hostId', { hostId: filters.hostId });
    if (filters.userId) {
      query.andWhere(new Brackets((q) => q.where('event.userId = :userId').orWhere('event.buyerId = :userId').orWhere('event.providerId = :userId')), {
        userId: filters.userId,
      });
    }
    // Times are compared as the ISO text they are stored as (same format: toISOString).
    if (filters.from) query.andWhere('event.at >= :from', { from: new Date(filters.from).toISOString() });
    if (filters.to) query.andWhere('event.at < :to', { to: new Date(filters.to).toISOString() });
    return this.page(query, filters, (row) => ({ ...toDto(row), userId: row.userId, buyerId: row.buyerId, providerId: row.providerId }));
  }

  /**
   * PostgreSQL hands out ids at insert, so transactions committing side by side may make them
   * visible out of order: only events of transactions older than the oldest still running are
   * shown, so none is shown before every smaller id is (docs/ARCHITECTURE.md "Event log"). SQLite
   * has one writer at a time: ids commit in order.
   */
  private visible(query: SelectQueryBuilder<EventRow>): SelectQueryBuilder<EventRow> {
    if (this.db.manager.connection.options.type === 'postgres') query.andWhere('"event"."txid" < pg_snapshot_xmin(pg_current_snapshot())');
    return query;
  }

  private rows(): SelectQueryBuilder<EventRow> {
    return this.db.manager.createQueryBuilder(EventRow, 'event');
  }

  private async page<T extends EventDto>(
    query: SelectQueryBuilder<EventRow>,
    page: EventPageQueryDto,
    map: (row: EventRow) => T,
  ): Promise<{ items: T[]; next: number | null }> {
    const ascending = page.order === 'asc';
    const limit = page.limit ?? DEFAULT_LIMIT;
    if (page.cursor !== undefined) query.andWhere(ascending ? 'event.id > :cursor' : 'event.id < :cursor', { cursor: page.cursor });
    const rows = await this.visible(query)
      .orderBy('event.id', ascending ? 'ASC' : 'DESC')
      .take(limit + 1)
      .getMany();
    const items = rows.slice(0, limit).map(map);
    return { items, next: rows.length > limit ? items[items.length - 1].id : null };
  }
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

function toDto(row: EventRow): EventDto {
  let data: Record<string, unknown> | null = null;
  try {
    data = row.data ? (JSON.parse(row.data) as Record<string, unknown>) : null;
  } catch {
    data = null;
  }
  return {
    id: Number(row.id),
    at: row.at,
    occurredAt: row.occurredAt,
    source: row.source,
    kind: row.kind,
    message: row.message,
    machineId: row.machineId,
    hostId: row.hostId,
    agentId: row.agentId,
    version: row.version,
    agentSeq: row.agentSeq,
    data,
  };
}
