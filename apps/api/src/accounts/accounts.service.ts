import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Role, UserDto } from '@virtuoso/contracts';
import { addMoney, compareMoney, subMoney } from '@virtuoso/domain';
import { randomUUID } from 'node:crypto';
import { EntityManager, In, Repository } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config';
import { ApiError } from '../common/errors';
import { nowIso } from '../common/time';
import { LedgerEntry, LedgerKind, MARKET_ACCOUNT, userAccount } from './ledger-entry.entity';
import { User } from './user.entity';

export const handleKey = (handle: string) => handle.toLowerCase();

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
    @Inject(APP_CONFIG) private readonly config: AppConfig,
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

  /** Creates the user; a buyer starts with the configured sign-up credit, recorded as a top-up. */
  async create(em: EntityManager, input: NewUser, credit = input.role === 'buyer' ? this.config.signupCredit : '0'): Promise<User> {
    const user = em.create(User, {
      id: randomUUID(),
      handle: input.handle,
      handleKey: handleKey(input.handle),
      email: input.email,
      passwordHash: input.passwordHash,
      role: input.role,
      balance: '0',
      createdAt: nowIso(),
    });
    await em.insert(User, user);
    if (compareMoney(credit, '0') > 0) {
      user.balance = await this.credit(em, user, credit, { key: `signup:${user.id}`, kind: 'topup', from: 'credit:signup' });
    }
    return user;
  }

  /**
   * Moves `amount` from the user to the market operator in one transaction, or refuses with 402
   * when the balance does not cover it. The update is a compare-and-set on the balance read.
   */
  async debit(
    em: EntityManager,
    userId: string,
    amount: string,
    entry: { key: string; kind: LedgerKind; machineId?: string | null; to?: string; what: string },
  ): Promise<string> {
    const user = await em.findOneByOrFail(User, { id: userId });
    if (compareMoney(user.balance, amount) < 0) {
      throw new ApiError(402, `balance ${user.balance} is below the ${entry.what} ${amount}`);
    }
    const balance = subMoney(user.balance, amount);
    await this.setBalance(em, user, balance);
    await this.append(em, { key: entry.key, kind: entry.kind, debitAccount: userAccount(userId), creditAccount: entry.to ?? MARKET_ACCOUNT, amount, machineId: entry.machineId ?? null });
    return balance;
  }

  async credit(em: EntityManager, user: User, amount: string, entry: { key: string; kind: LedgerKind; from: string }): Promise<string> {
    const fresh = await em.findOneByOrFail(User, { id: user.id });
    const balance = addMoney(fresh.balance, amount);
    await this.setBalance(em, fresh, balance);
    await this.append(em, { key: entry.key, kind: entry.kind, debitAccount: entry.from, creditAccount: userAccount(user.id), amount, machineId: null });
    return balance;
  }

  private async setBalance(em: EntityManager, user: User, balance: string): Promise<void> {
    const result = await em.update(User, { id: user.id, balance: user.balance }, { balance });
    if (result.affected !== 1) throw new ApiError(409, 'the balance changed while charging; try again');
  }

  private async append(em: EntityManager, entry: Omit<LedgerEntry, 'id' | 'createdAt'>): Promise<void> {
    await em.insert(LedgerEntry, { id: randomUUID(), createdAt: nowIso(), ...entry });
  }

  toDto(user: User): UserDto {
    return { id: user.id, handle: user.handle, email: user.email, role: user.role, balance: user.balance, createdAt: user.createdAt };
  }
}
