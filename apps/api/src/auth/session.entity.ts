import { Entity, Index } from 'typeorm';
import { IdColumn, RefColumn, TextColumn, TimeColumn } from '../common/columns';

/** A browser sign-in. The cookie carries a random token; only its sha256 is stored. */
@Entity('sessions')
export class Session {
  @IdColumn()
  id: string;

  @Index({ unique: true })
  @TextColumn(64)
  tokenHash: string;

  @Index()
  @RefColumn()
  userId: string;

  @TimeColumn()
  createdAt: string;

  @TimeColumn()
  expiresAt: string;
}
