import { Body, Controller, Get, Post, Query, Req, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { BuyerAccountDto, ProviderAccountDto, StatementPageDto, StatementQueryDto, TopUpDto, TopUpResultDto } from '@virtuoso/contracts';
import type { Request, Response } from 'express';
import { ApiErrors, ApiSignedIn } from '../common/api-docs';
import { AuthUser, CurrentUser, Roles } from '../common/auth.decorators';
import { Idempotent } from '../common/idempotency.interceptor';
import { AccountService } from './account.service';
import { StatementService } from './statement.service';
import { TopUpsService } from './top-ups.service';

/** CSV when asked by ?format=csv, or by an Accept header that prefers text/csv to JSON. */
const wantsCsv = (req: Request, query: StatementQueryDto): boolean =>
  query.format === 'csv' || (query.format === undefined && req.accepts(['application/json', 'text/csv']) === 'text/csv');

@ApiTags('account')
@ApiSignedIn()
@Controller('account')
export class AccountController {
  constructor(
    private readonly account: AccountService,
    private readonly topUps: TopUpsService,
    private readonly statement: StatementService,
  ) {}

  @Get('buyer')
  @Roles('buyer')
  @ApiOperation({
    summary: "Buyer account page (report figs. 22, 23): balance, each machine's costs and next debits, totals, low-balance standing",
  })
  @ApiOkResponse({ type: BuyerAccountDto, description: 'The figures as of now.' })
  @ApiErrors(401, 403)
  getBuyerAccount(@CurrentUser() user: AuthUser): Promise<BuyerAccountDto> {
    return this.account.buyerAccount(user);
  }

  @Get('provider')
  @Roles('provider')
  @ApiOperation({ summary: "Provider account page (report figs. 30, 32): balance, each host's prices, income and machines, what they make" })
  @ApiOkResponse({ type: ProviderAccountDto, description: 'The figures as of now.' })
  @ApiErrors(401, 403)
  getProviderAccount(@CurrentUser() user: AuthUser): Promise<ProviderAccountDto> {
    return this.account.providerAccount(user);
  }

  @Post('top-ups')
  @Roles('buyer')
  @ApiOperation({
    summary: 'Add value: credit the balance from outside (a ledger top-up)',
    description: 'Clears a low-balance hold once the balance covers the next charges. With `requestId`, a retry adds nothing more.',
  })
  @ApiCreatedResponse({ type: TopUpResultDto, description: 'The new balance and the ledger entry.' })
  @ApiErrors(400, 401, 403, 409)
  @Idempotent()
  createTopUp(@CurrentUser() user: AuthUser, @Body() dto: TopUpDto): Promise<TopUpResultDto> {
    return this.topUps.topUp(user, dto);
  }

  @Get('statement')
  @ApiOperation({
    summary: 'My ledger entries, newest first, filtered and paginated; CSV with ?format=csv or Accept: text/csv',
    description: 'CSV columns: at,kind,amount,machine,host,description,key (amounts exact and signed: negative = debit).',
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ type: StatementPageDto, description: 'A page of entries (or the CSV file of every matching entry).' })
  @ApiErrors(400, 401)
  async getStatement(
    @CurrentUser() user: AuthUser,
    @Query() query: StatementQueryDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<StatementPageDto | string> {
    if (!wantsCsv(req, query)) return this.statement.statement(user, query);
    res.type('text/csv; charset=utf-8').attachment('statement.csv');
    return this.statement.statementCsv(user, query);
  }
}
