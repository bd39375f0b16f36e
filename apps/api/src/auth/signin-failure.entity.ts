import { Entity, Index } from 'typeorm';
import { IdColumn, MsColumn, TextColumn } from '../common/columns';

/**
 * A failed sign-in, kept for the limiter's window (then pruned). In the database rather than in
 * memory so that every API process counts the same failures and a restart forgets none.
 */
@Entity('signin_failures')
@Index(['handleKey', 'at'])
@Index(['address', 'at'])
export class SigninFailure {
  @IdColumn()
  id: string;

  /** The client's address as the API sees it. */
  @TextColumn(64)
  address: string;

  /** The lower-cased handle tried (it need not exist). */
  @TextColumn(200)
  handleKey: string;

  @Index()
  @MsColumn()
  at: number;
}
