import { Entity, Index } from 'typeorm';
import { IdColumn, MoneyColumn, RefColumn, TextColumn, TimeColumn } from '../common/columns';

export const LEDGER_KINDS = ['fee', 'charge', 'topup', 'refund'] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

/** The account of the marketplace operator, credited with registration fees. */
export const MARKET_ACCOUNT = 'market';
export const userAccount = (userId: string) => `user:${userId}`;

/**
 * One movement of money from debitAccount to creditAccount: every entry balances by
 * construction. `key` is unique, so a charge retried after a crash is recorded once.
 */
@Entity('ledger_entries')
export class LedgerEntry {
  @IdColumn()
  id: string;

  @Index({ unique: true })
  @TextColumn(120)
  key: string;

  @TextColumn(10)
  kind: LedgerKind;

  @Index()
  @TextColumn(60)
  debitAccount: string;

  @Index()
  @TextColumn(60)
  creditAccount: string;

  @MoneyColumn()
  amount: string;

  @Index()
  @RefColumn({ nullable: true })
  machineId: string | null;

  @TimeColumn()
  createdAt: string;
}
