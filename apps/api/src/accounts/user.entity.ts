import type { Role } from '@virtuoso/contracts';
import { Entity, Index } from 'typeorm';
import { IdColumn, MoneyColumn, TextColumn, TimeColumn } from '../common/columns';

@Entity('users')
export class User {
  @IdColumn()
  id: string;

  /** As the user typed it. */
  @TextColumn(40)
  handle: string;

  /** Lower-cased handle: unique, so "Buyer" and "buyer" cannot both exist. */
  @Index({ unique: true })
  @TextColumn(40)
  handleKey: string;

  @TextColumn(200)
  email: string;

  /**
   * Lower-cased email: unique, so one address holds one account. Nullable only so that a database
   * made before it gains the column (schema by synchronize); every account made since has it.
   */
  @Index({ unique: true })
  @TextColumn(200, { nullable: true })
  emailKey: string | null;

  /** bcrypt hash. */
  @TextColumn(100)
  passwordHash: string;

  @TextColumn(10)
  role: Role;

  /** Exact decimal string (money of libs/domain). */
  @MoneyColumn()
  balance: string;

  @TimeColumn()
  createdAt: string;
}
