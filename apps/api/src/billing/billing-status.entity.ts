import { Entity, PrimaryColumn } from 'typeorm';
import { IntColumn, MsColumn } from '../common/columns';

/** One row ('billing'): the last completed billing pass, for operators and tests. */
@Entity('billing_status')
export class BillingStatus {
  @PrimaryColumn({ type: 'varchar', length: 20 })
  id: string;

  /** The clock reading the last completed pass charged up to. */
  @MsColumn()
  lastPassAt: number;

  @IntColumn()
  lastPassMeters: number;

  @IntColumn()
  lastPassCharges: number;

  @IntColumn()
  lastPassMs: number;

  @IntColumn()
  passes: number;
}
