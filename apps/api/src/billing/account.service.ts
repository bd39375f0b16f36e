import { Inject, Injectable } from '@nestjs/common';
import type { BuyerAccountDto, BuyerMachineCostDto, CostRatesDto, DebitDto, ProviderAccountDto, ProviderMachineDto } from '@virtuoso/contracts';
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
import { AccountsService } from '../accounts/accounts.service';
import { User } from '../accounts/user.entity';
import { AuthUser } from '../common/auth.decorators';
import { CLOCK, Clock, isoOf } from '../common/clock';
import { Database } from '../common/database.service';
import { Sql, select } from '../common/sql';
import { HostsService } from '../providers/hosts.service';
import { APP_CONFIG, AppConfig } from '../config';
import { byAge, hostsByIds, liveMeters, machinesByIds } from './account-reads';
import { BuyerStanding } from './buyer-standing.entity';
import { HostIncome } from './host-income.entity';
import { LowBalanceService } from './low-balance.service';
import { TopUpsService } from './top-ups.service';

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
 * The account pages' figures (report figs. 22, 23, 30, 32): balances, what each machine costs and
 * when it is next debited, totals. Top-ups are TopUpsService's, the statement StatementService's.
 * Figures come from libs/domain (nextDebits, meterRates, currentCostRates) on the meters as a
 * billing pass at `now` would leave them.
 */
@Injectable()
export class AccountService {
  constructor(
    private readonly db: Database,
    private readonly accounts: AccountsService,
    private readonly lowBalance: LowBalanceService,
    private readonly hostsService: HostsService,
    private readonly topUps: TopUpsService,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async buyerAccount(user: AuthUser): Promise<BuyerAccountDto> {
    const now = this.clock.now();
    const em = this.db.manager;
    const account = await em.findOneByOrFail(User, { id: user.id });
    const meters = await liveMeters(em, 'buyerId', user.id);
    const machines = await machinesByIds(
      em,
      meters.map((m) => m.meter.machineId),
    );
    const hosts = await hostsByIds(
      em,
      meters.map((m) => m.hostId),
    );
    const owners = await this.accounts.handlesOf([...hosts.values()].map((host) => host.ownerId));
    const online = await this.hostsService.agentStatus([...hosts.values()]);
    const standing = await em.findOneBy(BuyerStanding, { userId: user.id });
    let required = 0n;
    const rows: BuyerMachineCostDto[] = [];
    for (const { meter, hostId } of byAge(meters, machines)) {
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
      topUpDailyRemaining: await this.topUps.topUpDailyRemaining(em, user.id, now),
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
    const meters = await liveMeters(em, 'providerId', user.id);
    const machines = await machinesByIds(
      em,
      meters.map((m) => m.meter.machineId),
    );
    const incomes = await em.findBy(HostIncome, { providerId: user.id });
    const incomeOf = new Map(incomes.map((row) => [row.hostId, row.income]));
    const ordered = byAge(meters, machines);
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
}
