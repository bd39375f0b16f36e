import { Entity, Index } from 'typeorm';
import { BoolColumn, IdColumn, IntColumn, MoneyColumn, TextColumn, TimeColumn } from '../common/columns';

/** A catalog entry (report tables config and preconfig): a standard configuration or a preconfigured machine. */
@Entity('configurations')
export class Configuration {
  @IdColumn()
  id: string;

  @Index({ unique: true })
  @TextColumn(60)
  name: string;

  /** Display order within its group. */
  @IntColumn()
  position: number;

  @TextColumn(60)
  processor: string;

  @IntColumn()
  speed: number;

  @TextColumn(60)
  os: string;

  @IntColumn()
  memory: number;

  @IntColumn()
  disk: number;

  @BoolColumn()
  preconfigured: boolean;

  @TextColumn(200, { nullable: true })
  image: string | null;

  @MoneyColumn({ nullable: true })
  averageStoragePerMonth: string | null;

  @MoneyColumn({ nullable: true })
  averageRunningPerHour: string | null;

  @TimeColumn({ nullable: true })
  averagesUpdatedAt: string | null;
}
