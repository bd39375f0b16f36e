import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Clock, WALL_CLOCK } from '../common/clock';
import { InjectRepository } from '@nestjs/typeorm';
import type { NotificationDto, NotificationListDto } from '@virtuoso/contracts';
import { randomUUID } from 'node:crypto';
import { EntityManager, In, IsNull, Repository } from 'typeorm';
import { User } from '../accounts/user.entity';
import { AuthUser } from '../common/auth.decorators';
import { Database } from '../common/database.service';
import { notFound } from '../common/errors';
import { ADVISORY_LOCKS, Leadership } from '../common/leadership';
import { nowIso } from '../common/time';
import { EventLog } from '../events/event-log.service';
import { MailerService } from './mailer.service';
import { Notification, NotificationKind } from './notification.entity';

export interface Notice {
  userId: string;
  kind: NotificationKind;
  /** Unique per event: notifying the same key twice records (and mails) it once. */
  key: string;
  subject: string;
  body: string;
  machineId?: string | null;
  /** Also send it by email to the user's address. Default true. */
  email?: boolean;
}

const DISPATCH_BATCH = 50;

/** In-app notices and their emails (through MailerService, after the notice's transaction commits). */
@Injectable()
export class NotificationsService implements OnModuleDestroy {
  private readonly logger = new Logger('Notifications');
  private dispatching: Promise<number> | null = null;
  private again = false;
  private closed = false;

  constructor(
    private readonly db: Database,
    private readonly mailer: MailerService,
    @InjectRepository(Notification) private readonly notifications: Repository<Notification>,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
    private readonly leadership: Leadership,
    private readonly eventLog: EventLog,
  ) {}

  /** Records the notice in the caller's transaction; its email goes out once that commits. */
  async notify(em: EntityManager, notice: Notice): Promise<boolean> {
    if (await em.existsBy(Notification, { key: notice.key })) return false;
    const user = notice.email === false ? null : await em.findOne(User, { select: { id: true, email: true }, where: { id: notice.userId } });
    await em.insert(Notification, {
      id: randomUUID(),
      key: notice.key,
      userId: notice.userId,
      kind: notice.kind,
      subject: notice.subject.slice(0, 200),
      body: notice.body.slice(0, 4000),
      machineId: notice.machineId ?? null,
      createdAt: nowIso(this.wallClock),
      readAt: null,
      emailTo: user?.email ?? null,
      emailStatus: user?.email ? 'pending' : 'none',
      emailedAt: null,
      emailError: null,
    });
    await this.eventLog.record(em, {
      kind: 'notice.sent',
      message: `notice to user ${notice.userId} (${notice.kind}): ${notice.subject}`.slice(0, 1000),
      userId: notice.userId,
      machineId: notice.machineId ?? null,
      buyerId: notice.machineId ? notice.userId : null,
      data: { notice: notice.kind, key: notice.key, email: user?.email ? 'pending' : 'none' },
    });
    // Queued behind the caller's transaction (SQLite), so it reads the notice only once committed;
    // on PostgreSQL a dispatch that runs too early finds nothing and the next one sends it.
    if (user?.email) setImmediate(() => void this.dispatch());
    return true;
  }

  async list(user: AuthUser, options: { unreadOnly: boolean; limit: number }): Promise<NotificationListDto> {
    const [rows, unread] = await Promise.all([
      this.notifications.find({
        where: { userId: user.id, ...(options.unreadOnly ? { readAt: IsNull() } : {}) },
        order: { createdAt: 'DESC', id: 'DESC' },
        take: options.limit,
      }),
      this.notifications.countBy({ userId: user.id, readAt: IsNull() }),
    ]);
    return { unread, items: rows.map((row) => this.toDto(row)) };
  }

  async markRead(user: AuthUser, id: string): Promise<NotificationDto> {
    const row = await this.notifications.findOneBy({ id, userId: user.id });
    if (!row) throw notFound('notification');
    if (!row.readAt) {
      row.readAt = nowIso(this.wallClock);
      await this.db.transaction((em) => em.update(Notification, { id: row.id, readAt: IsNull() }, { readAt: row.readAt }));
    }
    return this.toDto(row);
  }

  async markAllRead(user: AuthUser): Promise<void> {
    await this.db.transaction((em) => em.update(Notification, { userId: user.id, readAt: IsNull() }, { readAt: nowIso(this.wallClock) }));
  }

  /**
   * Sends the emails of pending notices, each once per call (a failure stays pending with its
   * error and is retried by the next call: every billing pass, every new notice). Returns how many
   * were sent. Overlapping calls share the run in progress and run once more after it.
   */
  dispatch(): Promise<number> {
    if (this.closed) return Promise.resolve(0);
    if (this.dispatching) {
      this.again = true;
      return this.dispatching;
    }
    // One replica sends at a time (docs/ARCHITECTURE.md §12), or two would read the same pending
    // rows and send each email twice; the other leaves them to it (and to the next billing pass).
    this.dispatching = this.leadership
      .whenFree(ADVISORY_LOCKS.notifications, () => this.sendPending(), 0)
      .catch((error: unknown) => {
        this.logger.error(`sending notices failed: ${error instanceof Error ? error.message : String(error)}`);
        return 0;
      })
      .finally(() => {
        this.dispatching = null;
        if (this.again) {
          this.again = false;
          void this.dispatch();
        }
      });
    return this.dispatching;
  }

  /** Resolves once no dispatch is running (tests read the outbox after it). */
  async idle(): Promise<void> {
    while (this.dispatching) await this.dispatching;
  }

  /** No new dispatch; the one running finishes its email (before the database closes). */
  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    await this.idle();
  }

  private async sendPending(): Promise<number> {
    const tried = new Set<string>();
    let sent = 0;
    for (;;) {
      const rows = await this.db.transaction((em) =>
        em.find(Notification, { where: { emailStatus: 'pending' }, order: { createdAt: 'ASC', id: 'ASC' }, take: DISPATCH_BATCH + tried.size }),
      );
      const todo = rows.filter((row) => !tried.has(row.id)).slice(0, DISPATCH_BATCH);
      if (todo.length === 0 || this.closed) return sent;
      for (const row of todo) {
        tried.add(row.id);
        try {
          await this.mailer.send({ id: row.id, to: row.emailTo!, subject: row.subject, text: row.body });
          await this.db.transaction((em) =>
            em.update(Notification, { id: row.id, emailStatus: 'pending' }, { emailStatus: 'sent', emailedAt: nowIso(this.wallClock), emailError: null }),
          );
          sent += 1;
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          this.logger.warn(`email to ${row.emailTo} (${row.kind}) failed: ${message}; will retry`);
          if (this.closed) return sent;
          await this.db.transaction((em) => em.update(Notification, { id: row.id }, { emailError: message.slice(0, 500) }));
        }
      }
    }
  }

  /** Notices of several users at once (host removal): ids of those recorded. */
  async byIds(ids: string[]): Promise<Notification[]> {
    return ids.length ? this.notifications.findBy({ id: In(ids) }) : [];
  }

  toDto(row: Notification): NotificationDto {
    return {
      id: row.id,
      kind: row.kind,
      subject: row.subject,
      body: row.body,
      machineId: row.machineId,
      createdAt: row.createdAt,
      readAt: row.readAt,
      emailed: row.emailStatus === 'sent',
    };
  }
}
