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

  /** Recorded at most once a minute (GET /api/auth/sessions); null until then, i.e. createdAt. */
  @TimeColumn({ nullable: true })
  lastUsedAt: string | null;

  /** The User-Agent it signed in with, so its owner can tell sessions apart. */
  @TextColumn(200, { nullable: true })
  userAgent: string | null;
}
