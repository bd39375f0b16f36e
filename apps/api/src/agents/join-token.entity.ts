import { Entity, Index } from 'typeorm';
import { IdColumn, IntColumn, RefColumn, TextColumn, TimeColumn } from '../common/columns';

/** A one-time token that lets one provider agent join (stored as its SHA-256, never in clear). */
@Entity('join_tokens')
export class JoinToken {
  @IdColumn()
  id: string;

  @Index()
  @RefColumn()
  providerId: string;

  @Index({ unique: true })
  @TextColumn(64)
  tokenHash: string;

  /** A host added by hand that the joining agent is to serve, or null. */
  @RefColumn({ nullable: true })
  hostId: string | null;

  @TimeColumn()
  expiresAt: string;

  @TimeColumn({ nullable: true })
  usedAt: string | null;

  /** The agent that joined with it. */
  @RefColumn({ nullable: true })
  agentId: string | null;

  /** The ports its command suggests; kept from other suggestions until it is used or expires. */
  @IntColumn({ nullable: true })
  agentPort: number | null;

  @IntColumn({ nullable: true })
  consolePort: number | null;

  @TimeColumn()
  createdAt: string;
}
