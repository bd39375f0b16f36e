import { Inject, Injectable } from '@nestjs/common';
import { chargedTo, nextDueAt } from '@virtuoso/domain';
import type { EntityManager } from 'typeorm';
import { Sql, select } from '../common/sql';
import { utcText } from '../common/time';
import { APP_CONFIG, AppConfig } from '../config';
import { NotificationsService } from '../notifications/notifications.service';
import { liveMeters } from './account-reads';
import { BuyerStanding } from './buyer-standing.entity';

/**
 * What a buyer is told about their low balance, in the app and by email (LowBalanceService decides
 * when): warned, held, restored. Each notice is written in the transaction of what it reports.
 */
@Injectable()
export class LowBalanceNotices {
  constructor(
    private readonly notifications: NotificationsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The buyer became short: what they owe next, when it falls due, and what happens if they stay short. */
  async warn(em: EntityManager, userId: string, balance: string, required: string, now: number) {
    // The meter rows stand where their last event left them: each reckoned at now (chargedTo).
    let first: number | null = null;
    for (const { meter } of await liveMeters(em, 'buyerId', userId)) {
      const due = nextDueAt(chargedTo(meter, now));
      if (due !== null && (first === null || due < first)) first = due;
    }
    const when = first === null ? '' : ` The first of them falls due at ${utcText(first)}.`;
    return this.notifications.notify(em, {
      userId,
      kind: 'lowBalance',
      key: `lowBalance:${userId}:${now}`,
      subject: 'Your Virtuoso balance is running low',
      body:
        `Your balance, ${balance}, does not cover the next charges of your machines, ${required} in all.${when}\n\n` +
        `Please add value to your account. Charges are still made when they fall due, even if they take the balance below zero; ` +
        `if it is still short ${this.graceText()} after it went below zero, your running machines will be suspended ` +
        `(never deleted; storage goes on being charged) and none can start or resume until you top up.`,
    });
  }

  private graceText(): string {
    const seconds = this.config.lowBalanceGraceSeconds;
    if (seconds % 86_400 === 0) return `${seconds / 86_400} day${seconds === 86_400 ? '' : 's'}`;
    if (seconds % 3600 === 0) return `${seconds / 3600} hour${seconds === 3600 ? '' : 's'}`;
    return `${seconds} seconds`;
  }

  /** The buyer is held: their running machines are being suspended. */
  async held(em: EntityManager, standing: BuyerStanding, now: number) {
    const names = new Sql(em);
    const rows = await select<{ name: string }>(
      em,
      `SELECT mc."name" FROM "machine_meters" m JOIN "machines" mc ON mc."id" = m."machineId" ` +
        `WHERE m."buyerId" = ${names.p(standing.userId)} AND m."runningSince" IS NOT NULL AND m."removedAt" IS NULL ORDER BY mc."name"`,
      names.params,
    );
    const who = new Sql(em);
    const [user] = await select<{ balance: string }>(em, `SELECT "balance" FROM "users" WHERE "id" = ${who.p(standing.userId)}`, who.params);
    const machines = rows.length === 0 ? 'You had no running machines.' : `Suspending your running machines: ${rows.map((row) => row.name).join(', ')}.`;
    return this.notifications.notify(em, {
      userId: standing.userId,
      kind: 'suspended',
      key: `suspended:${standing.userId}:${now}`,
      subject: 'Your Virtuoso machines are suspended: top up to run them again',
      body:
        `Your balance, ${user?.balance ?? '?'}, has been below zero since ${utcText(standing.overdrawnSince!)} and does not cover the next charges of your machines, ${standing.required}. ` +
        `${machines} They are not deleted, and storage goes on being charged.\n\n` +
        `No machine can start or resume until you add value to your account so that the balance covers the next charges.`,
    });
  }

  /** A top-up covers the next charges again: machines may start and resume. */
  restored(em: EntityManager, userId: string, balance: string, required: string, now: number) {
    return this.notifications.notify(em, {
      userId,
      kind: 'balanceRestored',
      key: `balanceRestored:${userId}:${now}`,
      subject: 'Your Virtuoso machines may run again',
      body: `Your balance, ${balance}, covers the next charges of your machines (${required}) again. You can start and resume your machines.`,
    });
  }
}
