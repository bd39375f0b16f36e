import { Entity, PrimaryColumn } from 'typeorm';
import { MsColumn } from '../common/columns';

/**
 * How far the billing pass has charged a buyer's machines (libs/domain billBuyer;
 * docs/ARCHITECTURE.md §12): every charge due at or before `billedTo` has been made for each of
 * their meters, reckoned from its row (chargedTo). The pass writes this row, one per buyer, and
 * never the meter rows, which only events change. `nextDueAt` is when the pass next has
 * something to charge them: exact after a pass, possibly earlier after an event (an event only
 * ever brings it forward), never later. Not indexed: the pass reads every buyer's row, few next to
 * the meters, and an index would be one more to move on every write.
 */
@Entity('buyer_billing', { withoutRowid: true })
export class BuyerBilling {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  buyerId: string;

  @MsColumn()
  billedTo: number;

  @MsColumn({ nullable: true })
  nextDueAt: number | null;
}
