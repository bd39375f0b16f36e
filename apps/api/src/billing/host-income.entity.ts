import { Entity, Index, PrimaryColumn } from 'typeorm';
import { MoneyColumn, RefColumn, TextColumn, TimeColumn } from '../common/columns';

/**
 * What each host has earned its provider: the sum of the storage and running charges credited
 * for machines on it (ledger entries with that hostId), kept up to date in the transaction that
 * posts them, so the provider account page need not sum the whole ledger. Kept after the host is
 * removed (hostName is filled in then).
 */
@Entity('host_incomes')
export class HostIncome {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  hostId: string;

  @Index()
  @RefColumn()
  providerId: string;

  @TextColumn(60, { nullable: true })
  hostName: string | null;

  @MoneyColumn()
  income: string;

  @TimeColumn()
  updatedAt: string;
}
