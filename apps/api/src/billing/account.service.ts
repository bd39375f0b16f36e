import { Inject, Injectable } from '@nestjs/common';
import type {
  BuyerAccountDto,
  BuyerMachineCostDto,
  CostRatesDto,
  DebitDto,
  ProviderAccountDto,
  ProviderMachineDto,
  StatementEntryDto,
  StatementPageDto,
  StatementQueryDto,
  TopUpDto,
  TopUpResultDto,
} from '@virtuoso/contracts';
import {
  type CostRates,
  type MachineMeter,
  type NextDebit,
  currentCostRates,
  formatRate,
  meterRates,
  moneyToUnits,
  nextDebitsAmount,
  nextDebits,
  unitsToMoney,
} from '@virtuoso/domain';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { AccountsService } from '../accounts/accounts.service';
import { LedgerEntry, OUTSIDE_ACCOUNT, userAccount } from '../accounts/ledger-entry.entity';
import { LedgerService } from '../accounts/ledger.service';
import { User } from '../accounts/user.entity';
import { AuthUser } from '../common/auth.decorators';
import { CLOCK, Clock, isoOf } from '../common/clock';
import { csvAmount, csvText } from '../common/csv';
import { Database } from '../common/database.service';
import { ApiError, badRequest } from '../common/errors';
import { exactAmount } from '../common/money';
import { Sql, chunks, select } from '../common/sql';
import { BuyerStanding } from './buyer-standing.entity';
import { HostsService } from '../providers/hosts.service';
import { HostIncome } from './host-income.entity';
import { LowBalanceService } from './low-balance.service';
import { meterOf } from './meter-rows';
import { PAYMENT_GATEWAY, PaymentGateway } from './payment-gateway';
import { APP_CONFIG, AppConfig } from '../config';

interface MachineInfo {
  id: string;
  name: string;
  state: string;
  createdAt: string;
}

interface HostInfo {
  id: string;
  name: string;
  ownerId: string;
  agentId: string | null;
}

const MAX_CSV_ROWS = 1_000_000;

const debit = (next: NextDebit | null): DebitDto | null => (next ? { at: isoOf(next.at), inMs: next.inMs, amount: next.amount } : null);
const rates = (value: CostRates): CostRatesDto => ({
  storagePerDay: formatRate(value.storagePerDay),
  runningPerSecond: formatRate(value.runningPerSecond),
});

/** A machine's fixed prices and what they come to, as both account pages show them. */
const pricesOf = (meter: MachineMeter) => ({
  storagePrice: meter.storagePrice,
  storageAmount: meter.storageAmountDays,
  runningPrice: meter.runningPrice,
  runningUnitAmount: meter.runningUnitSeconds,
  ...rates(meterRates(meter)),
  running: meter.runningSince !== null,
});

/**
 * The account pages (report figs. 22, 23, 30, 32): balances, what each machine costs and when it
 * is next debited, totals, top-ups and the statement. Figures come from libs/domain (nextDebits,
 * meterRates, currentCostRates) on the meters as a billing pass at `now` would leave them.
 */
@Injectable()
export class AccountService {
  constructor(
    private readonly db: Database,
    private readonly accounts: AccountsService,
    private readonly ledger: LedgerService,
    private readonly lowBalance: LowBalanceService,
    private readonly hostsService: HostsService,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(PAYMENT_GATEWAY) private readonly payments: PaymentGateway,
  ) {}

  async buyerAccount(user: AuthUser): Promise<BuyerAccountDto> {
    const now = this.clock.now();
    const em = this.db.manager;
    const account = await em.findOneByOrFail(User, { id: user.id });
    const meters = await this.meters(em, 'buyerId', user.id);
    const machines = await this.machines(
      em,
      meters.map((m) => m.meter.machineId),
    );
    const hosts = await this.hosts(
      em,
      meters.map((m) => m.hostId),
    );
    const owners = await this.accounts.handlesOf([...hosts.values()].map((host) => host.ownerId));
    const online = await this.hostsService.agentStatus([...hosts.values()]);
    const standing = await em.findOneBy(BuyerStanding, { userId: user.id });
    let required = 0n;
    const rows: BuyerMachineCostDto[] = [];
    for (const { meter, hostId } of this.byAge(meters, machines)) {
      const machine = machines.get(meter.machineId);
      const debits = nextDebits(meter, now);
      required += moneyToUnits(nextDebitsAmount(meter));
      const host = hostId ? hosts.get(hostId) : undefined;
      rows.push({
        id: meter.machineId,
        name: machine?.name ?? '?',
        state: machine?.state ?? 'stored',
        host: host ? { id: host.id, name: host.name, owner: owners.get(host.ownerId) ?? '?', online: online.get(host.id)?.online ?? false } : null,
        ...pricesOf(meter),
        nextStorageDebit: debit(debits.storage)!,
        nextRunningDebit: debit(debits.running),
        prepaidMsLeft: debits.prepaidMsLeft,
      });
    }
    const lowSince = standing?.lowSince ?? null;
    const overdrawnSince = standing?.overdrawnSince ?? null;
    return {
      handle: account.handle,
      balance: account.balance,
      asOf: isoOf(now),
      standing: {
        nextCharges: unitsToMoney(required),
        low: lowSince !== null,
        lowSince: lowSince === null ? null : isoOf(lowSince),
        overdrawnSince: overdrawnSince === null ? null : isoOf(overdrawnSince),
        suspendAt: overdrawnSince === null || standing?.heldAt != null ? null : isoOf(overdrawnSince + this.lowBalance.graceMs),
        held: standing?.heldAt != null,
      },
      machines: rows,
      totals: rates(currentCostRates(meters.map((m) => m.meter))),
      topUpMaxAmount: this.config.topUpMaxAmount,
      topUpDailyRemaining: await this.topUpDailyRemaining(em, user.id, now),
    };
  }

  async providerAccount(user: AuthUser): Promise<ProviderAccountDto> {
    const now = this.clock.now();
    const em = this.db.manager;
    const account = await em.findOneByOrFail(User, { id: user.id });
    const sql = new Sql(em);
    const hosts = await select<Record<string, unknown>>(
      em,
      `SELECT * FROM "hosts" WHERE "ownerId" = ${sql.p(user.id)} ORDER BY "createdAt", "name"`,
      sql.params,
    );
    const meters = await this.meters(em, 'providerId', user.id);
    const machines = await this.machines(
      em,
      meters.map((m) => m.meter.machineId),
    );
    const incomes = await em.findBy(HostIncome, { providerId: user.id });
    const incomeOf = new Map(incomes.map((row) => [row.hostId, row.income]));
    const ordered = this.byAge(meters, machines);
    return {
      handle: account.handle,
      balance: account.balance,
      asOf: isoOf(now),
      income: unitsToMoney(incomes.reduce((total, row) => total + moneyToUnits(row.income), 0n)),
      making: rates(currentCostRates(meters.map((m) => m.meter))),
      hosts: hosts.map((host) => {
        const mine = ordered.filter((m) => m.hostId === host.id);
        return {
          id: host.id as string,
          name: host.name as string,
          processor: host.processor as string,
          speed: Number(host.speed),
          memory: Number(host.memory),
          storage: Number(host.storage),
          speedUnit: Number(host.speedUnit),
          speedUnitPrice: host.speedUnitPrice as string,
          memoryUnit: Number(host.memoryUnit),
          memoryUnitPrice: host.memoryUnitPrice as string,
          runningUnitAmount: Number(host.runningUnitAmount),
          storageUnit: Number(host.storageUnit),
          storageUnitPrice: host.storageUnitPrice as string,
          storageAmount: Number(host.storageAmount),
          income: incomeOf.get(host.id as string) ?? '0',
          making: rates(currentCostRates(mine.map((m) => m.meter))),
          machines: mine.map(({ meter }): ProviderMachineDto => {
            const debits = nextDebits(meter, now);
            const machine = machines.get(meter.machineId);
            return {
              id: meter.machineId,
              name: machine?.name ?? '?',
              state: machine?.state ?? 'stored',
              ...pricesOf(meter),
              nextStorageBill: debit(debits.storage)!,
              nextRunningBill: debit(debits.running),
            };
          }),
        };
      }),
    };
  }

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
    const repeated = await this.db.manager.findOneBy(LedgerEntry, { key });
    if (!repeated) {
      if (moneyToUnits(amount) > moneyToUnits(this.config.topUpMaxAmount)) {
        throw badRequest('amount', `amount must be at most ${this.config.topUpMaxAmount}: the top-up limit per request`);
      }
      await this.checkDailyLimit(this.db.manager, user.id, amount);
      const payment = await this.payments.collect({ userId: user.id, amount, reference });
      if (payment.status !== 'paid') throw new ApiError(402, `payment declined: ${payment.reason}`.slice(0, 500));
    }
    const entry = await this.db.transaction(async (em) => {
      const done = await em.findOneBy(LedgerEntry, { key });
      if (done) {
        if (done.amount !== amount)
          throw new ApiError(409, `requestId ${dto.requestId} already added ${done.amount}, not ${amount}`, {
            fields: { requestId: ['requestId was already used'] },
          });
        return done;
      }
      // Again inside the transaction: two top-ups at once must not both fit under the day's limit.
      await this.checkDailyLimit(em, user.id, amount);
      const now = this.clock.now();
      await this.ledger.post(em, [{ key, kind: 'topUp', from: OUTSIDE_ACCOUNT, to: userAccount(user.id), amount, at: now }]);
      await this.lowBalance.evaluate(em, [user.id], now);
      return em.findOneByOrFail(LedgerEntry, { key });
    });
    const balance = (await this.db.manager.findOneByOrFail(User, { id: user.id })).balance;
    return { balance, entry: (await this.toStatement(this.db.manager, user.id, [entry]))[0] };
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
  private async topUpDailyRemaining(em: EntityManager, userId: string, now: number): Promise<string> {
    const dayStart = now - (((now % 86_400_000) + 86_400_000) % 86_400_000);
    const sql = new Sql(em);
    const rows = await select<{ amount: string }>(
      em,
      `SELECT "amount" FROM "ledger_entries" WHERE "creditAccount" = ${sql.p(userAccount(userId))} AND "kind" IN (${sql.p('topUp')}, ${sql.p('topup')}) ` +
        `AND "key" LIKE ${sql.p('topup:%')} AND "at" >= ${sql.p(dayStart)}`,
      sql.params,
    );
    const used = rows.reduce((total, row) => total + moneyToUnits(row.amount), 0n);
    const left = moneyToUnits(this.config.topUpDailyLimit) - used;
    return unitsToMoney(left > 0n ? left : 0n);
  }

  /** The user's ledger entries, newest first, filtered; a page of them. */
  async statement(user: AuthUser, query: StatementQueryDto): Promise<StatementPageDto> {
    const limit = query.limit ?? 100;
    const offset = query.offset ?? 0;
    const em = this.db.manager;
    const count = this.filtered(em, user.id, query);
    const [{ total }] = await select<{ total: number | string }>(em, `SELECT COUNT(*) AS "total" FROM "ledger_entries" WHERE ${count.where}`, count.sql.params);
    const page = this.filtered(em, user.id, query);
    const rows = await select<LedgerEntry>(
      em,
      `SELECT * FROM "ledger_entries" WHERE ${page.where} ORDER BY "at" DESC, "key" DESC LIMIT ${page.sql.p(limit)} OFFSET ${page.sql.p(offset)}`,
      page.sql.params,
    );
    return { total: Number(total), limit, offset, items: await this.toStatement(em, user.id, rows) };
  }

  /** The same entries as CSV (every matching entry, newest first), with a header row. */
  async statementCsv(user: AuthUser, query: StatementQueryDto): Promise<string> {
    const lines = ['at,kind,amount,machine,host,description,key'];
    const em = this.db.manager;
    for (let offset = 0; offset < MAX_CSV_ROWS; offset += 1000) {
      const page = this.filtered(em, user.id, query);
      const rows = await select<LedgerEntry>(
        em,
        `SELECT * FROM "ledger_entries" WHERE ${page.where} ORDER BY "at" DESC, "key" DESC LIMIT ${page.sql.p(1000)} OFFSET ${page.sql.p(offset)}`,
        page.sql.params,
      );
      for (const entry of await this.toStatement(em, user.id, rows)) {
        // Names come from other users (a provider names the host): text cells are neutralised; the amount stays a number.
        const { at, kind, amount, machineName, hostName, description, key } = entry;
        lines.push([csvText(at), csvText(kind), csvAmount(amount), ...[machineName ?? '', hostName ?? '', description, key].map(csvText)].join(','));
      }
      if (rows.length < 1000) break;
    }
    return `${lines.join('\r\n')}\r\n`;
  }

  private filtered(em: EntityManager, userId: string, query: StatementQueryDto): { sql: Sql; where: string } {
    const sql = new Sql(em);
    const account = userAccount(userId);
    const clauses = [`("debitAccount" = ${sql.p(account)} OR "creditAccount" = ${sql.p(account)})`];
    const from = query.from === undefined ? undefined : Date.parse(query.from);
    const to = query.to === undefined ? undefined : Date.parse(query.to);
    if (from !== undefined && to !== undefined && to < from) throw badRequest('to', 'to must not be before from');
    if (from !== undefined) clauses.push(`"at" >= ${sql.p(from)}`);
    if (to !== undefined) clauses.push(`"at" < ${sql.p(to)}`);
    if (query.kind) clauses.push(query.kind === 'topUp' ? `"kind" IN (${sql.p('topUp')}, ${sql.p('topup')})` : `"kind" = ${sql.p(query.kind)}`);
    if (query.machineId) clauses.push(`"machineId" = ${sql.p(query.machineId)}`);
    return { sql, where: clauses.join(' AND ') };
  }

  private async toStatement(em: EntityManager, userId: string, rows: LedgerEntry[]): Promise<StatementEntryDto[]> {
    const account = userAccount(userId);
    const machines = await this.machines(
      em,
      rows.map((row) => row.machineId).filter((id): id is string => !!id),
    );
    const hostNames = await this.hostNames(
      em,
      rows.map((row) => row.hostId),
    );
    return rows.map((row) => {
      const debited = row.debitAccount === account;
      const machineName = row.machineId ? (machines.get(row.machineId)?.name ?? null) : null;
      const hostName = row.hostId ? (hostNames.get(row.hostId) ?? null) : null;
      const kind = (row.kind as string) === 'topup' ? 'topUp' : row.kind;
      return {
        key: row.key,
        kind,
        at: isoOf(Number(row.at)),
        amount: debited && moneyToUnits(row.amount) !== 0n ? `-${row.amount}` : row.amount,
        machineId: row.machineId,
        machineName,
        hostName,
        description: describe(kind, row.key, machineName, hostName),
      };
    });
  }

  private async meters(em: EntityManager, column: 'buyerId' | 'providerId', userId: string): Promise<Array<{ meter: MachineMeter; hostId: string | null }>> {
    const sql = new Sql(em);
    const rows = await select<Record<string, unknown>>(
      em,
      `SELECT * FROM "machine_meters" WHERE "${column}" = ${sql.p(userId)} AND "removedAt" IS NULL`,
      sql.params,
    );
    return rows.map((row) => ({ meter: meterOf(row), hostId: (row.hostId as string | null) ?? null }));
  }

  private byAge<T extends { meter: MachineMeter }>(meters: T[], machines: Map<string, MachineInfo>): T[] {
    const created = (m: T) => machines.get(m.meter.machineId)?.createdAt ?? '';
    return [...meters].sort((a, b) => created(a).localeCompare(created(b)) || a.meter.machineId.localeCompare(b.meter.machineId));
  }

  private async machines(em: EntityManager, ids: readonly string[]): Promise<Map<string, MachineInfo>> {
    const found = new Map<string, MachineInfo>();
    for (const part of chunks([...new Set(ids)], 500)) {
      const sql = new Sql(em);
      const rows = await select<MachineInfo>(em, `SELECT "id", "name", "state", "createdAt" FROM "machines" WHERE "id" IN ${sql.list(part)}`, sql.params);
      for (const row of rows) found.set(row.id, row);
    }
    return found;
  }

  private async hosts(em: EntityManager, ids: ReadonlyArray<string | null>): Promise<Map<string, HostInfo>> {
    const found = new Map<string, HostInfo>();
    for (const part of chunks([...new Set(ids.filter((id): id is string => !!id))], 500)) {
      const sql = new Sql(em);
      const rows = await select<HostInfo>(em, `SELECT "id", "name", "ownerId", "agentId" FROM "hosts" WHERE "id" IN ${sql.list(part)}`, sql.params);
      for (const row of rows) found.set(row.id, row);
    }
    return found;
  }

  /** Host names, of removed hosts too (kept with their income). */
  private async hostNames(em: EntityManager, ids: ReadonlyArray<string | null>): Promise<Map<string, string>> {
    const unique = [...new Set(ids.filter((id): id is string => !!id))];
    const names = new Map([...(await this.hosts(em, unique)).values()].map((host) => [host.id, host.name]));
    const missing = unique.filter((id) => !names.has(id));
    for (const part of chunks(missing, 500)) {
      const sql = new Sql(em);
      const rows = await select<{ hostId: string; hostName: string | null }>(
        em,
        `SELECT "hostId", "hostName" FROM "host_incomes" WHERE "hostId" IN ${sql.list(part)}`,
        sql.params,
      );
      for (const row of rows) if (row.hostName) names.set(row.hostId, row.hostName);
    }
    return names;
  }
}

/** A statement line in words, from the movement's kind and key (libs/domain's key formats). */
function describe(kind: string, key: string, machine: string | null, host: string | null): string {
  const name = machine ?? 'a machine';
  const on = host ? ` on ${host}` : '';
  const parts = key.split(':');
  switch (kind) {
    case 'fee':
      return `registration fee for ${name}`;
    case 'storage':
      return `storage of ${name}${on}, period ${Number(parts[3]) + 1}`;
    case 'running':
      return `running of ${name}${on}, slice ${Number(parts[2]) + 1}`;
    case 'topUp':
      return key.startsWith('signup:') ? 'sign-up credit' : 'top-up';
    case 'refund':
      // refund:<charge key> (libs/domain refundKey): what it gives back of which charge.
      if (key.startsWith('refund:storage:')) return `refund of unused storage of ${name}${on} (host removed by its provider)`;
      if (key.startsWith('refund:running:')) return `refund of unused running time of ${name}${on} (host removed by its provider)`;
      return `refund${machine ? ` for ${name}` : ''}`;
    default:
      return kind;
  }
}
