import { Inject, Injectable } from '@nestjs/common';
import type { PriceHistoryDto, PriceHistoryQueryDto, PricePointDto, ResourcePriceHistoryDto, ResourcePricePointDto } from '@virtuoso/contracts';
import { type MarketAverage, type ResourcePrices, historyBucketMs } from '@virtuoso/domain';
import type { EntityManager } from 'typeorm';
import { CatalogService } from '../catalog/catalog.service';
import { CLOCK, Clock, isoOf } from '../common/clock';
import { Database } from '../common/database.service';
import { badRequest, notFound } from '../common/errors';
import { Sql, select } from '../common/sql';
import { PricePoint, ResourcePricePoint } from './price-point.entity';

/** Charts show at most this many points: the last point of each of as many equal buckets. */
export const HISTORY_POINTS = 200;
const DEFAULT_RANGE_MS = 30 * 86_400_000;

/**
 * Price history (report fig. 33, docs/ARCHITECTURE.md §4): the averages pass records each configuration's market averages
 * and the market's mean resource prices; charts read them back over a range, downsampled in SQL.
 */
@Injectable()
export class PriceHistoryService {
  constructor(
    private readonly db: Database,
    private readonly catalog: CatalogService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Records one averages pass: a point per configuration that had fitting hosts, and the resource means. */
  async record(
    at: number,
    averages: Array<{ configurationId: string; average: MarketAverage }>,
    resources: (ResourcePrices & { hostCount: number }) | null,
  ): Promise<void> {
    await this.db.transaction(async (em) => {
      if (averages.length > 0) {
        await em.upsert(
          PricePoint,
          averages.map(({ configurationId, average }) => ({
            configurationId,
            at,
            storagePerMonth: average.storagePerMonth,
            runningPerHour: average.runningPerHour,
            hostCount: average.hostCount,
          })),
          ['configurationId', 'at'],
        );
      }
      if (resources) await em.upsert(ResourcePricePoint, { at, ...resources }, ['at']);
    });
  }

  async configurationHistory(configurationId: string, query: PriceHistoryQueryDto): Promise<PriceHistoryDto> {
    const entry = await this.catalog.findById(configurationId);
    if (!entry) throw notFound('configuration');
    const { from, to, bucketMs } = this.range(query);
    const em = this.db.manager;
    const points = await this.downsampled<PricePoint>(em, 'price_points', { configurationId }, from, to, bucketMs);
    const [current] = await this.latest<PricePoint>(em, 'price_points', { configurationId });
    return {
      configurationId,
      name: entry.name,
      from: isoOf(from),
      to: isoOf(to),
      bucketMs,
      current: current ? pricePoint(current) : null,
      points: points.map(pricePoint),
    };
  }

  async resourceHistory(query: PriceHistoryQueryDto): Promise<ResourcePriceHistoryDto> {
    const { from, to, bucketMs } = this.range(query);
    const em = this.db.manager;
    const points = await this.downsampled<ResourcePricePoint>(em, 'resource_price_points', {}, from, to, bucketMs);
    const [current] = await this.latest<ResourcePricePoint>(em, 'resource_price_points', {});
    return { from: isoOf(from), to: isoOf(to), bucketMs, current: current ? resourcePoint(current) : null, points: points.map(resourcePoint) };
  }

  private range(query: PriceHistoryQueryDto): { from: number; to: number; bucketMs: number } {
    const to = query.to === undefined ? this.clock.now() : Date.parse(query.to);
    const from = query.from === undefined ? to - DEFAULT_RANGE_MS : Date.parse(query.from);
    if (to < from) throw badRequest('to', 'to must not be before from');
    return { from, to, bucketMs: historyBucketMs(from, to, HISTORY_POINTS) };
  }

  /**
   * The last point of each bucket of [from, to], oldest first: two queries, grouped in SQL (integer
   * division: the sqlite3 driver binds numbers beyond 32 bits as REAL, hence the CASTs).
   */
  private async downsampled<T>(em: EntityManager, table: string, where: Record<string, string>, from: number, to: number, bucketMs: number): Promise<T[]> {
    const pick = new Sql(em);
    const filter = Object.entries(where)
      .map(([column, value]) => `"${column}" = ${pick.p(value)} AND `)
      .join('');
    const fromAt = pick.p(from);
    const toAt = pick.p(to);
    const buckets = await select<{ at: number | string }>(
      em,
      `SELECT MAX("at") AS "at" FROM "${table}" WHERE ${filter}"at" >= ${fromAt} AND "at" <= ${toAt} GROUP BY ("at" - CAST(${pick.p(from)} AS BIGINT)) / CAST(${pick.p(bucketMs)} AS BIGINT)`,
      pick.params,
    );
    if (buckets.length === 0) return [];
    const read = new Sql(em);
    const again = Object.entries(where)
      .map(([column, value]) => `"${column}" = ${read.p(value)} AND `)
      .join('');
    return select<T>(em, `SELECT * FROM "${table}" WHERE ${again}"at" IN ${read.list(buckets.map((bucket) => Number(bucket.at)))} ORDER BY "at"`, read.params);
  }

  private latest<T>(em: EntityManager, table: string, where: Record<string, string>): Promise<T[]> {
    const sql = new Sql(em);
    const filter = Object.entries(where)
      .map(([column, value]) => `WHERE "${column}" = ${sql.p(value)} `)
      .join('');
    return select<T>(em, `SELECT * FROM "${table}" ${filter}ORDER BY "at" DESC LIMIT 1`, sql.params);
  }
}

const pricePoint = (row: PricePoint): PricePointDto => ({
  at: isoOf(Number(row.at)),
  storagePerMonth: row.storagePerMonth,
  runningPerHour: row.runningPerHour,
  hostCount: Number(row.hostCount),
});

const resourcePoint = (row: ResourcePricePoint): ResourcePricePointDto => ({
  at: isoOf(Number(row.at)),
  speedPer1000BogomipsPerSecond: row.speedPer1000BogomipsPerSecond,
  memoryPerMbPerSecond: row.memoryPerMbPerSecond,
  storagePer100MbPerDay: row.storagePer100MbPerDay,
  hostCount: Number(row.hostCount),
});
