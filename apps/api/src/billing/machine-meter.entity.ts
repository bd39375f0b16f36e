import { Entity, Index, PrimaryColumn } from 'typeorm';
import { IntColumn, MoneyColumn, MsColumn, RefColumn } from '../common/columns';

/**
 * libs/domain's MachineMeter of one machine, one row per machine ever stored (kept after billing
 * stops: removedAt). Times are integer ms. Written only when an event changes the meter (store,
 * start, stop, arrival, removal): the billing pass charges up to its buyer's mark (BuyerBilling)
 * and leaves the row as it is; whoever reads it reckons it at the mark (libs/domain chargedTo).
 * `nextDebits` (nextDebitsAmount: the next storage debit, plus the next running debit while
 * running) is what low-balance checks sum per buyer. `revision` grows on every write: writes are
 * compare-and-set on it.
 */
@Entity('machine_meters', { withoutRowid: true })
export class MachineMeterRow {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  machineId: string;

  /** The billing pass reads a run of buyers' meters through it. */
  @Index()
  @RefColumn()
  buyerId: string;

  /** The provider (user id) credited: the owner of hostId. */
  @Index()
  @RefColumn()
  providerId: string;

  /** Not indexed: no query looks meters up by host. */
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

  @MoneyColumn()
  nextDebits: string;

  @IntColumn()
  revision: number;
}
