import { MARKET_ACCOUNT as DOMAIN_MARKET_ACCOUNT, OUTSIDE_ACCOUNT as DOMAIN_OUTSIDE_ACCOUNT, type MovementKind } from '@virtuoso/domain';
import { Entity, Index, PrimaryColumn } from 'typeorm';
import { MoneyColumn, MsColumn, RefColumn, TextColumn, TimeColumn } from '../common/columns';

/** libs/domain's movement kinds: fee, storage, running, topUp, refund. */
export type LedgerKind = MovementKind;
export const LEDGER_KINDS: readonly LedgerKind[] = ['fee', 'storage', 'running', 'topUp', 'refund'];

/** The account of the marketplace operator, credited with registration fees. */
export const MARKET_ACCOUNT = DOMAIN_MARKET_ACCOUNT;
/** Where top-ups (and the sign-up credit) come from and refunds go to. */
export const OUTSIDE_ACCOUNT = DOMAIN_OUTSIDE_ACCOUNT;
export const userAccount = (userId: string) => `user:${userId}`;
/** userAccount in SQL, of a column holding a user id. */
export const userAccountSql = (column: string) => `'user:' || ${column}`;
export const userOfAccount = (account: string): string | null => (account.startsWith('user:') ? account.slice(5) : null);

/**
 * One movement of money from debitAccount to creditAccount (double entry in one row: the debit
 * side is −amount, the credit side +amount, so every movement and the whole ledger sum to zero).
 * Immutable: never updated or deleted. Keyed by the movement's key (libs/domain: e.g.
 * `storage:<machineId>:<storedAtMs>:<period>`, `running:<machineId>:<slice>`, `fee:<machineId>`,
 * `topup:<userId>:<id>`) under its payer: the primary key is (debitAccount, key). Every key names
 * its payer (a machine's charges are its buyer's, a top-up comes from outside), so a charge
 * retried after a crash comes with the same pair and can never be recorded twice; and a billing
 * batch, which bills buyers next to each other in id order, writes one stretch of the key's b-tree
 * (on SQLite, of the table itself) instead of a page in every part of it (docs/ARCHITECTURE.md §12).
 * The credit side is indexed the same way within each account, (creditAccount, debitAccount,
 * key), for the same reason: by time, each batch would write a page in every stretch of every
 * provider's entries. A user's entries by time (their statement) are then read in full and sorted
 * on the credit side. A user's balance always equals their credits minus their debits, and no key
 * has two payers (LedgerService.verify).
 */
@Entity('ledger_entries', { withoutRowid: true })
@Index(['debitAccount', 'at'])
@Index(['creditAccount', 'debitAccount', 'key'])
export class LedgerEntry {
  /** Who pays: `user:<id>`, or the outside world or the market (ledger-entry accounts above). */
  @PrimaryColumn({ type: 'varchar', length: 60 })
  debitAccount: string;

  @PrimaryColumn({ type: 'varchar', length: 120 })
  key: string;

  @TextColumn(10)
  kind: LedgerKind;

  @TextColumn(60)
  creditAccount: string;

  /** Exact money text, never negative. */
  @MoneyColumn()
  amount: string;

  @RefColumn({ nullable: true })
  machineId: string | null;

  /** The host whose provider a storage or running charge credits (provider income per host). */
  @RefColumn({ nullable: true })
  hostId: string | null;

  /** When the movement took effect, ms since the epoch: a charge's dueAt, a top-up's instant. */
  @MsColumn({ default: 0 })
  at: number;

  /** When the row was written (ISO). */
  @TimeColumn()
  createdAt: string;
}
