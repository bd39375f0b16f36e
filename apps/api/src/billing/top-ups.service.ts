import { Inject, Injectable } from '@nestjs/common';
import type { TopUpDto, TopUpResultDto } from '@virtuoso/contracts';
import { moneyToUnits, unitsToMoney } from '@virtuoso/domain';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { LedgerEntry, OUTSIDE_ACCOUNT, userAccount } from '../accounts/ledger-entry.entity';
import { LedgerService } from '../accounts/ledger.service';
import { User } from '../accounts/user.entity';
import { AuthUser } from '../common/auth.decorators';
import { CLOCK, Clock } from '../common/clock';
import { Database } from '../common/database.service';
import { ApiError, badRequest } from '../common/errors';
import { exactAmount } from '../common/money';
import { Sql, select } from '../common/sql';
import { APP_CONFIG, AppConfig } from '../config';
import { EventLog } from '../events/event-log.service';
import { LowBalanceService } from './low-balance.service';
import { PAYMENT_GATEWAY, PaymentGateway } from './payment-gateway';
import { StatementService } from './statement.service';

/** "Add value" and its limits: per top-up and per UTC day, from the validated config. */
@Injectable()
export class TopUpsService {
  constructor(
    private readonly db: Database,
    private readonly ledger: LedgerService,
    private readonly lowBalance: LowBalanceService,
    private readonly statement: StatementService,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(PAYMENT_GATEWAY) private readonly payments: PaymentGateway,
    private readonly eventLog: EventLog,
  ) {}

  /**
   * "Add value": within the operator's limits (per request: 400; per UTC day: 429), collected by
   * the PaymentGateway, then credited in one transaction with the low-balance re-check. With a
   * requestId already used, answers that top-up again (same amount) and collects nothing.
   */
  async topUp(user: AuthUser, dto: TopUpDto): Promise<TopUpResultDto> {
    const amount = exactAmount('amount', dto.amount);
    if (moneyToUnits(amount) <= 0n) throw badRequest('amount', 'amount must be more than 0');
    const reference = dto.requestId ?? randomUUID();
    const key = `topup:${user.id}:${reference}`;
    // A top-up comes from outside: its row is found under that payer (the ledger's primary key).
    const entryKey = { debitAccount: OUTSIDE_ACCOUNT, key };
    const repeated = await this.db.manager.findOneBy(LedgerEntry, entryKey);
    if (!repeated) {
      if (moneyToUnits(amount) > moneyToUnits(this.config.topUpMaxAmount)) {
        throw badRequest('amount', `amount must be at most ${this.config.topUpMaxAmount}: the top-up limit per request`);
      }
      await this.checkDailyLimit(this.db.manager, user.id, amount);
      const payment = await this.payments.collect({ userId: user.id, amount, reference });
      if (payment.status !== 'paid') throw new ApiError(402, `payment declined: ${payment.reason}`.slice(0, 500));
    }
    const entry = await this.db.transaction(async (em) => {
      const done = await em.findOneBy(LedgerEntry, entryKey);
      if (done) {
        if (done.amount !== amount)
          throw new ApiError(409, `requestId ${dto.requestId} already added ${done.amount}, not ${amount}`, {
            fields: { requestId: ['requestId was already used'] },
          });
        return done;
      }
      // Again inside the transaction: two top-ups at once must not both fit under the day's limit.
      // PostgreSQL runs transactions side by side (SQLite one at a time, Database): the buyer's row
      // is locked first, so that a concurrent top-up waits and then counts this one.
      if (em.connection.options.type === 'postgres') await em.findOne(User, { where: { id: user.id }, lock: { mode: 'pessimistic_write' } });
      await this.checkDailyLimit(em, user.id, amount);
      const now = this.clock.now();
      await this.ledger.post(em, [{ key, kind: 'topUp', from: OUTSIDE_ACCOUNT, to: userAccount(user.id), amount, at: now }]);
      await this.lowBalance.evaluate(em, [user.id], now);
      await this.eventLog.record(em, {
        kind: 'account.topped-up',
        message: `${user.handle} added ${amount}`,
        userId: user.id,
        data: { amount, reference },
      });
      return em.findOneByOrFail(LedgerEntry, entryKey);
    });
    const balance = (await this.db.manager.findOneByOrFail(User, { id: user.id })).balance;
    return { balance, entry: (await this.statement.toStatement(this.db.manager, user.id, [entry]))[0] };
  }

  private async checkDailyLimit(em: EntityManager, userId: string, amount: string): Promise<void> {
    const remaining = await this.topUpDailyRemaining(em, userId, this.clock.now());
    if (moneyToUnits(amount) > moneyToUnits(remaining)) {
      throw new ApiError(429, `amount ${amount} is over the daily top-up limit of ${this.config.topUpDailyLimit}: ${remaining} left today (UTC)`, {
        fields: { amount: [`at most ${remaining} more may be added today (daily top-up limit ${this.config.topUpDailyLimit})`] },
      });
    }
  }

  /** What the buyer may still top up in the current UTC day: the daily limit less today's top-ups (not the sign-up credit). */
  async topUpDailyRemaining(em: EntityManager, userId: string, now: number): Promise<string> {
    const dayStart = now - (((now % 86_400_000) + 86_400_000) % 86_400_000);
    const sql = new Sql(em);
    const rows = await select<{ amount: string }>(
      em,
      `SELECT "amount" FROM "ledger_entries" WHERE "creditAccount" = ${sql.p(userAccount(userId))} AND "debitAccount" = ${sql.p(OUTSIDE_ACCOUNT)} ` +
        `AND "key" LIKE ${sql.p('topup:%')} AND "kind" IN (${sql.p('topUp')}, ${sql.p('topup')}) AND "at" >= ${sql.p(dayStart)}`,
      sql.params,
    );
    const used = rows.reduce((total, row) => total + moneyToUnits(row.amount), 0n);
    const left = moneyToUnits(this.config.topUpDailyLimit) - used;
    return unitsToMoney(left > 0n ? left : 0n);
  }
}
