import { Entity, Index, PrimaryColumn } from 'typeorm';
import { IntColumn, MoneyColumn, MsColumn, RefColumn } from '../common/columns';

/**
 * libs/domain's MachineMeter of one machine, one row per machine ever stored (kept after billing
 * stops: removedAt). Times are integer ms. `nextDueAt` (libs/domain nextDueAt, indexed) is what the
 * billing pass selects on; `nextDebits` (nextDebitsAmount: the next storage debit, plus the next
 * running debit while running) what low-balance checks sum per buyer.
 * `revision` grows on every write: writes are compare-and-set on it.
 */
@Entity('machine_meters', { withoutRowid: true })
export class MachineMeterRow {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  machineId: string;

  /** Indexed alone, not with nextDueAt: the billing pass rewrites nextDueAt, and one index less to move is faster. */
  @Index()
  @RefColumn()
  buyerId: string;

  /** The provider (user id) credited: the owner of hostId. */
  @Index()
  @RefColumn()
  providerId: string;

  /** Not indexed: no query looks meters up by host, and on PostgreSQL every index costs each meter write of the billing pass. */
  @RefColumn({ nullable: true })
  hostId: string | null;

  @MoneyColumn()
  storagePrice: string;

  @IntColumn()
  storageAmountDays: number;

  @MoneyColumn()
  runningPrice: string;

  @IntColumn()
  runningUnitSeconds: number;

  @MsColumn()
  storedAt: number;

  @IntColumn()
  storagePeriodsCharged: number;

  @IntColumn()
  slicesCharged: number;

  @MsColumn()
  prepaidMsLeft: number;

  @MsColumn({ nullable: true })
  runningSince: number | null;

  @MsColumn()
  asOf: number;

  @MsColumn({ nullable: true })
  removedAt: number | null;

  @Index()
  @MsColumn({ nullable: true })
  nextDueAt: number | null;

  @MoneyColumn()
  nextDebits: string;

  @IntColumn()
  revision: number;
}
