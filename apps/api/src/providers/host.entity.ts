import { Entity, Index } from 'typeorm';
import { IdColumn, IntColumn, MoneyColumn, RefColumn, TextColumn, TimeColumn } from '../common/columns';

/** A provider's physical machine (report table pmseller, fig. 27). Totals are locked once added. */
@Entity('hosts')
@Index(['ownerId', 'name'], { unique: true })
export class Host {
  @IdColumn()
  id: string;

  @Index()
  @RefColumn()
  ownerId: string;

  @TextColumn(60)
  name: string;

  @TextColumn(60)
  processor: string;

  @IntColumn()
  speed: number;

  @IntColumn()
  speedUnit: number;

  /** $ per second per speed unit, exact decimal string. */
  @MoneyColumn()
  speedUnitPrice: string;

  @IntColumn()
  memory: number;

  @IntColumn()
  memoryUnit: number;

  /** $ per second per memory unit. */
  @MoneyColumn()
  memoryUnitPrice: string;

  @IntColumn()
  runningUnitAmount: number;

  @IntColumn()
  storage: number;

  @IntColumn()
  storageUnit: number;

  /** $ per day per storage unit. */
  @MoneyColumn()
  storageUnitPrice: string;

  @IntColumn()
  storageAmount: number;

  @TextColumn(40)
  connectionSpeed: string;

  @TextColumn(255)
  agentHost: string;

  @IntColumn()
  agentPort: number;

  /** The provider agent serving this host (agentHost/agentPort are then the agent's), or null. */
  @Index({ unique: true })
  @RefColumn({ nullable: true })
  agentId: string | null;

  /** Sums of the sizes of the machines stored here (storing reserves whether or not they run). */
  @IntColumn({ default: 0 })
  reservedSpeed: number;

  @IntColumn({ default: 0 })
  reservedMemory: number;

  @IntColumn({ default: 0 })
  reservedStorage: number;

  @TimeColumn()
  createdAt: string;

  @TimeColumn()
  updatedAt: string;
}
