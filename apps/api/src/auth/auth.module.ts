import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountsModule } from '../accounts/accounts.module';
import { ApiToken } from './api-token.entity';
import { AuthController } from './auth.controller';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { Session } from './session.entity';
import { SigninFailure } from './signin-failure.entity';
import { SigninLimiter } from './signin-limiter';

@Module({
  imports: [AccountsModule, TypeOrmModule.forFeature([Session, ApiToken, SigninFailure])],
  controllers: [AuthController],
  providers: [AuthService, SigninLimiter, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [AuthService],
})
export class AuthModule {}
