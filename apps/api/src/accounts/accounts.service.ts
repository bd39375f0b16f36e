import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Role, UserDto } from '@virtuoso/contracts';
import { compareMoney } from '@virtuoso/domain';
import { randomUUID } from 'node:crypto';
import { EntityManager, In, Repository } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config';
import { ApiError } from '../common/errors';
import { nowIso } from '../common/time';
import { CLOCK, Clock, WALL_CLOCK } from '../common/clock';
import { LedgerKind, MARKET_ACCOUNT, OUTSIDE_ACCOUNT, userAccount } from './ledger-entry.entity';
import { LedgerService } from './ledger.service';
import { User } from './user.entity';

export const handleKey = (handle: string) => handle.toLowerCase();
/** Lower-cased email address: unique, one account per address whatever its case. */
export const emailKey = (email: string) => email.toLowerCase();

export interface NewUser {
  handle: string;
  email: string;
  passwordHash: string;
  role: Role;
}

/** Users and their balances; every balance change is a ledger entry written in the same transaction. */
@Injectable()
export class AccountsService {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly ledger: LedgerService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
  ) {}

  findById(id: string): Promise<User | null> {
    return this.users.findOneBy({ id });
  }

  findByHandle(handle: string): Promise<User | null> {
    return this.users.findOneBy({ handleKey: handleKey(handle) });
  }

  async handlesOf(ids: readonly string[]): Promise<Map<string, string>> {
    const unique = [...new Set(ids)];
    const handles = new Map<string, string>();
    // In chunks: databases cap the number of bound parameters in one statement.
    for (let start = 0; start < unique.length; start += 500) {
      const rows = await this.users.find({ select: { id: true, handle: true }, where: { id: In(unique.slice(start, start + 500)) } });
      for (const row of rows) handles.set(row.id, row.handle);
    }
    return handles;
  }

  count(): Promise<number> {
    return this.users.count();
  }

  /** Creates the user; a buyer starts with the configured sign-up credit, a ledger top-up from outside. */
  async create(em: EntityManager, input: NewUser, credit = input.role === 'buyer' ? this.config.signupCredit : '0'): Promise<User> {
    const user = em.create(User, {
      id: randomUUID(),
      handle: input.handle,
      handleKey: handleKey(input.handle),
      email: input.email,
      emailKey: emailKey(input.email),
      passwordHash: input.passwordHash,
      role: input.role,
      balance: '0',
      createdAt: nowIso(this.wallClock),
    });
    await em.insert(User, user);
    if (compareMoney(credit, '0') > 0) {
      user.balance = await this.credit(em, user, credit, { key: `signup:${user.id}`, kind: 'topUp', from: OUTSIDE_ACCOUNT });
    }
    return user;
  }

  /**
   * Moves `amount` from the user to the market operator (or `to`) in the caller's transaction, or
   * refuses with 402 when the balance does not cover it. Returns the new balance.
   */
  async debit(
    em: EntityManager,
    userId: string,
    amount: string,
    entry: { key: string; kind: LedgerKind; machineId?: string | null; to?: string; what: string; at?: number },
  ): Promise<string> {
    // Locked on PostgreSQL, where transactions run side by side: a concurrent debit of the same
    // user waits and checks the balance this one leaves.
    const lock = em.connection.options.type === 'postgres' ? { lock: { mode: 'pessimistic_write' as const } } : {};
    const user = await em.findOneOrFail(User, { where: { id: userId }, ...lock });
    if (compareMoney(user.balance, amount) < 0) {
      throw new ApiError(402, `balance ${user.balance} is below the ${entry.what} ${amount}`);
    }
    await this.ledger.post(em, [
      {
        key: entry.key,
        kind: entry.kind,
        from: userAccount(userId),
        to: entry.to ?? MARKET_ACCOUNT,
        amount,
        at: entry.at ?? this.clock.now(),
        machineId: entry.machineId ?? null,
      },
    ]);
    return this.balanceOf(em, userId);
  }

  /** Moves `amount` into the user's account from `from` (outside, for top-ups). Returns the new balance. */
  async credit(
    em: EntityManager,
    user: Pick<User, 'id'>,
    amount: string,
    entry: { key: string; kind: LedgerKind; from: string; at?: number },
  ): Promise<string> {
    await this.ledger.post(em, [{ key: entry.key, kind: entry.kind, from: entry.from, to: userAccount(user.id), amount, at: entry.at ?? this.clock.now() }]);
    return this.balanceOf(em, user.id);
  }

  async balanceOf(em: EntityManager, userId: string): Promise<string> {
    return (await em.findOneOrFail(User, { select: { id: true, balance: true }, where: { id: userId } })).balance;
  }

  toDto(user: User): UserDto {
    return { id: user.id, handle: user.handle, email: user.email, role: user.role, balance: user.balance, createdAt: user.createdAt };
  }
}
