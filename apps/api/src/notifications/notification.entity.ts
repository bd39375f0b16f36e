import { Entity, Index } from 'typeorm';
import { IdColumn, RefColumn, TextColumn, TimeColumn } from '../common/columns';

export const NOTIFICATION_KINDS = ['lowBalance', 'suspended', 'balanceRestored', 'hostRemoved'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];
export type EmailStatus = 'none' | 'pending' | 'sent' | 'failed';

/**
 * An in-app notice to one user, and the email that goes with it. Written in the transaction of
 * what it reports; the email is sent after commit by the dispatcher (pending → sent), so a crash
 * never sends mail about something that did not happen (it may send one twice). `key` is unique:
 * the same event notifies once.
 */
@Entity('notifications')
@Index(['userId', 'createdAt'])
export class Notification {
  @IdColumn()
  id: string;

  @Index({ unique: true })
  @TextColumn(160)
  key: string;

  @RefColumn()
  userId: string;

  @TextColumn(20)
  kind: NotificationKind;

  @TextColumn(200)
  subject: string;

  @TextColumn(4000)
  body: string;

  @RefColumn({ nullable: true })
  machineId: string | null;

  @TimeColumn()
  createdAt: string;

  @TimeColumn({ nullable: true })
  readAt: string | null;

  @TextColumn(200, { nullable: true })
  emailTo: string | null;

  @Index()
  @TextColumn(10)
  emailStatus: EmailStatus;

  @TimeColumn({ nullable: true })
  emailedAt: string | null;

  @TextColumn(500, { nullable: true })
  emailError: string | null;
}
