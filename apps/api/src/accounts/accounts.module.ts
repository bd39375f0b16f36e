import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountsService } from './accounts.service';
import { LedgerEntry } from './ledger-entry.entity';
import { LedgerService } from './ledger.service';
import { User } from './user.entity';

@Module({
  imports: [TypeOrmModule.forFeature([User, LedgerEntry])],
  providers: [AccountsService, LedgerService],
  exports: [AccountsService, LedgerService],
})
export class AccountsModule {}
