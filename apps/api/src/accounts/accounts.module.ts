import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountsService } from './accounts.service';
import { LedgerEntry } from './ledger-entry.entity';
import { User } from './user.entity';

@Module({
  imports: [TypeOrmModule.forFeature([User, LedgerEntry])],
  providers: [AccountsService],
  exports: [AccountsService],
})
export class AccountsModule {}
