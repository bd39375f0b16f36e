import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { IntColumn, TextColumn, TimeColumn } from './columns';

/**
 * One `Idempotency-Key` a user sent with a request that creates something or costs money, and the
 * answer it got (see IdempotencyInterceptor). `status` null = the first request is still being
 * handled. Kept IDEMPOTENCY_RETENTION_MS, then purged.
 */
@Entity('idempotency_keys')
export class IdempotencyKey {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  userId: string;

  @PrimaryColumn({ type: 'varchar', length: 200 })
  key: string;

  /** SHA-256 (hex) of method, path and body: the same key with another request is refused. */
  @TextColumn(64)
  requestHash: string;

  /** e.g. `POST /api/machines`, for the message when the key comes back with another request. */
  @TextColumn(300)
  request: string;

  @IntColumn({ nullable: true })
  status: number | null;

  /** The answer's JSON body (or the error's), replayed as is. */
  @Column({ type: 'text', nullable: true })
  body: string | null;

  @Index()
  @TimeColumn()
  createdAt: string;
}
