import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountsModule } from '../accounts/accounts.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { ProvidersModule } from '../providers/providers.module';
import { AccountController } from './account.controller';
import { AccountService } from './account.service';
import { BillingPassService } from './billing-pass.service';
import { BillingStatus } from './billing-status.entity';
import { BillingService } from './billing.service';
import { BuyerBilling } from './buyer-billing.entity';
import { BuyerStanding } from './buyer-standing.entity';
import { HostIncome } from './host-income.entity';
import { LowBalanceNotices } from './low-balance-notices';
import { LowBalanceService } from './low-balance.service';
import { MachineMeterRow } from './machine-meter.entity';
import { MeterPostings } from './meter-postings.service';
import { CreditAtOnceGateway, PAYMENT_GATEWAY } from './payment-gateway';
import { StatementService } from './statement.service';
import { TopUpsService } from './top-ups.service';

/** Every billing table, for ENTITIES. */
export const BILLING_ENTITIES = [MachineMeterRow, BuyerBilling, HostIncome, BuyerStanding, BillingStatus];

/** Meters, the billing pass, low-balance handling and the account pages. The machines module calls BillingService's hooks. */
@Module({
  imports: [AccountsModule, NotificationsModule, ProvidersModule, TypeOrmModule.forFeature(BILLING_ENTITIES)],
  controllers: [AccountController],
  providers: [
    BillingService,
    MeterPostings,
    BillingPassService,
    LowBalanceService,
    LowBalanceNotices,
    AccountService,
    TopUpsService,
    StatementService,
    // Real payment: bind your PaymentGateway here (see payment-gateway.ts).
    { provide: PAYMENT_GATEWAY, useClass: CreditAtOnceGateway },
  ],
  exports: [BillingService, BillingPassService, LowBalanceService],
})
export class BillingModule {}
