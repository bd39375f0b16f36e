import { Entity, Index, PrimaryColumn } from 'typeorm';
import { MoneyColumn, MsColumn } from '../common/columns';

/**
 * A buyer's low-balance state. lowSince: since when their balance has not covered the next
 * charges of their machines (they were warned then; null = it does). overdrawnSince: since when a
 * charge has taken it below zero; the grace period runs from there. heldAt: when the grace period
 * ran out with the balance still short; their running machines are then suspended and none may
 * start or resume until a top-up covers the next charges (which clears all three).
 */
@Entity('buyer_standings')
export class BuyerStanding {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  userId: string;

  @Index()
  @MsColumn({ nullable: true })
  lowSince: number | null;

  @Index()
  @MsColumn({ nullable: true })
  overdrawnSince: number | null;

  /** The next charges at the last check. */
  @MoneyColumn()
  required: string;

  @Index()
  @MsColumn({ nullable: true })
  heldAt: number | null;

  @MsColumn()
  updatedAt: number;
}
