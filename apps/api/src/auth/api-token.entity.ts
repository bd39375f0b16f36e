import { Entity, Index } from 'typeorm';
import { IdColumn, RefColumn, TextColumn, TimeColumn } from '../common/columns';

/** A personal API token for third parties (`Authorization: Bearer vt_...`); only its sha256 is stored. */
@Entity('api_tokens')
export class ApiToken {
  @IdColumn()
  id: string;

  @Index()
  @RefColumn()
  userId: string;

  @TextColumn(80)
  name: string;

  /** The first characters of the token, shown so its owner can recognise it. */
  @TextColumn(16)
  prefix: string;

  @Index({ unique: true })
  @TextColumn(64)
  tokenHash: string;

  @TimeColumn()
  createdAt: string;

  @TimeColumn({ nullable: true })
  lastUsedAt: string | null;
}
