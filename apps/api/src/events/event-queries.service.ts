import { Injectable } from '@nestjs/common';
import type { EventDto, EventListDto, EventPageQueryDto, OperatorEventListDto, OperatorEventQueryDto } from '@virtuoso/contracts';
import { Brackets, SelectQueryBuilder } from 'typeorm';
import { AuthUser } from '../common/auth.decorators';
import { Database } from '../common/database.service';
import { notFound } from '../common/errors';
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

  async machineHistory(user: AuthUser, machineId: string, page: EventPageQueryDto): Promise<EventListDto> {
    if (!(await this.db.manager.existsBy(Machine, { id: machineId, ownerId: user.id }))) throw notFound('machine');
    const query = this.rows().where('event.machineId = :machineId', { machineId }).andWhere('event.buyerId = :userId', { userId: user.id });
    return this.page(query, page, toDto);
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
    // PostgreSQL hands out ids at insert, so transactions committing side by side may make them
    // visible out of order: only events of transactions older than the oldest still running are
    // shown, so none is shown before every smaller id is (docs/ARCHITECTURE.md "Event log"). SQLite
    // has one writer at a time: ids commit in order.
    if (this.db.manager.connection.options.type === 'postgres') query.andWhere('"event"."txid" < pg_snapshot_xmin(pg_current_snapshot())');
    const rows = await query
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
