import { Entity, PrimaryColumn } from 'typeorm';
import { IntColumn, MoneyColumn, msTransformer } from '../common/columns';

/** A catalog configuration's market averages as one averages pass found them (price history). */
@Entity('price_points')
export class PricePoint {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  configurationId: string;

  /** ms since the epoch. */
  @PrimaryColumn({ type: 'bigint', transformer: msTransformer })
  at: number;

  @MoneyColumn()
  storagePerMonth: string;

  @MoneyColumn()
  runningPerHour: string;

  @IntColumn()
  hostCount: number;
}

/**
 * The market's mean resource prices at one averages pass, in normalised units (libs/domain
 * market-history.ts): $ per second for 1000 bogomips, $ per second per MB of memory, $ per day
 * for 100 MB of storage; exact plain decimals.
 */
@Entity('resource_price_points')
export class ResourcePricePoint {
  @PrimaryColumn({ type: 'bigint', transformer: msTransformer })
  at: number;

  @MoneyColumn({ length: 60 })
  speedPer1000BogomipsPerSecond: string;

  @MoneyColumn({ length: 60 })
  memoryPerMbPerSecond: string;

  @MoneyColumn({ length: 60 })
  storagePer100MbPerDay: string;

  @IntColumn()
  hostCount: number;
}
