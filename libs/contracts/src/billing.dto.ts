import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsUUID } from 'class-validator';
import { HostRefDto, MACHINE_STATES } from './machines.dto';
import { IsPrice, IsQueryInteger } from './validation';

/*
 * Money is exact decimal text (at most 12 fraction digits). Rates (per day, per second) are exact
 * values written as plain decimals: exact when they terminate within 30 digits, else rounded to
 * 14 significant digits — 0.000000001 $ per 3600 s is "0.00000000000027777777777778" per second
 * (the report's 2.7777777777778e-13). Never exponents, never floats. Times are ISO 8601 UTC;
 * durations are integer milliseconds.
 */

export const LEDGER_KINDS = ['fee', 'storage', 'running', 'topUp', 'refund'] as const;

/** The next debit of one kind on one machine (report figs. 22, 23, 32). */
export class DebitDto {
  @ApiProperty({ description: 'When it falls due (ISO 8601).', example: '2026-12-25T10:00:00.000Z' })
  at: string;

  @ApiProperty({ description: 'Milliseconds from now (the page\'s "29.9920949074074 days", "3566 seconds").', example: 2_591_317_000 })
  inMs: number;

  @ApiProperty({ description: 'What it will debit.', example: '3' })
  amount: string;
}

export class CostRatesDto {
  @ApiProperty({ description: '$ per day of storage (exact plain decimal).', example: '0.1000000001' })
  storagePerDay: string;

  @ApiProperty({
    description: '$ per second of running (exact plain decimal, 14 significant digits when it does not terminate).',
    example: '0.00000000000027777777777778',
  })
  runningPerSecond: string;
}

/** One billed machine on the buyer's account page. */
export class BuyerMachineCostDto {
  @ApiProperty({ description: 'Machine id.', example: '2f1e0d9c-8b7a-4c65-9d4e-3f2a1b0c9d8e' })
  id: string;

  @ApiProperty({ description: 'Machine name.', example: 'Configuration1' })
  name: string;

  @ApiProperty({ description: 'Lifecycle state.', enum: MACHINE_STATES, example: 'stored' })
  state: string;

  @ApiProperty({ description: 'Host it is stored on (null if the host is gone).', type: HostRefDto, nullable: true })
  host: HostRefDto | null;

  @ApiProperty({ description: 'Fixed storage charge per storage period.', example: '3' })
  storagePrice: string;

  @ApiProperty({ description: 'Storage period in days.', example: 30 })
  storageAmount: number;

  @ApiProperty({ description: 'Fixed running charge per running slice.', example: '0.002016' })
  runningPrice: string;

  @ApiProperty({ description: 'Running slice in seconds.', example: 3600 })
  runningUnitAmount: number;

  @ApiProperty({ description: 'Its storage cost per day.', example: '0.1' })
  storagePerDay: string;

  @ApiProperty({ description: 'Its running cost per second of running.', example: '0.00000056' })
  runningPerSecond: string;

  @ApiProperty({ description: 'True while billed as running.', example: false })
  running: boolean;

  @ApiProperty({ description: 'The next storage debit.', type: DebitDto })
  nextStorageDebit: DebitDto;

  @ApiProperty({ description: 'The next running debit; null = "Not currently running".', type: DebitDto, nullable: true })
  nextRunningDebit: DebitDto | null;

  @ApiProperty({ description: 'Prepaid running time left, in ms (paused while not running).', example: 3_566_000 })
  prepaidMsLeft: number;
}

export class BuyerStandingDto {
  @ApiProperty({
    description: 'What the balance must cover: over every billed machine, its next storage debit plus, while it runs, its next running debit.',
    example: '3.002016',
  })
  nextCharges: string;

  @ApiProperty({ description: 'True when the balance does not cover nextCharges (the buyer has been warned, in the app and by email).', example: false })
  low: boolean;

  @ApiProperty({ description: 'Since when it has not, or null.', example: null, nullable: true, type: String })
  lowSince: string | null;

  @ApiProperty({
    description: 'Since when a charge has taken the balance below zero (charges are never skipped), or null. The grace period runs from here.',
    example: null,
    nullable: true,
    type: String,
  })
  overdrawnSince: string | null;

  @ApiProperty({
    description: 'When running machines will be suspended unless the buyer tops up (overdrawnSince + the grace period), or null.',
    example: null,
    nullable: true,
    type: String,
  })
  suspendAt: string | null;

  @ApiProperty({
    description: 'True once the grace period ran out: running machines are suspended and none may start or resume until a top-up covers nextCharges.',
    example: false,
  })
  held: boolean;
}

/** The buyer's account page (report figs. 22, 23). */
export class BuyerAccountDto {
  @ApiProperty({ description: 'Account handle.', example: 'ResourceBuyer' })
  handle: string;

  @ApiProperty({ description: 'Current balance; may fall below zero within the grace period (charges are never skipped).', example: '996.97984' })
  balance: string;

  @ApiProperty({ description: 'The instant the figures are for (ISO 8601).', example: '2026-11-25T10:00:00.000Z' })
  asOf: string;

  @ApiProperty({ description: "The buyer's low-balance standing.", type: BuyerStandingDto })
  standing: BuyerStandingDto;

  @ApiProperty({ description: 'Every billed machine, oldest first.', type: BuyerMachineCostDto, isArray: true, example: [] })
  machines: BuyerMachineCostDto[];

  @ApiProperty({ description: '"Total Current Cost": storage of every billed machine per day, running of those running per second.', type: CostRatesDto })
  totals: CostRatesDto;

  @ApiProperty({ description: 'Largest top-up allowed in one request (VIRTUOSO_TOPUP_MAX_AMOUNT).', example: '10000' })
  topUpMaxAmount: string;

  @ApiProperty({ description: "What may still be topped up today (UTC): the daily limit less today's top-ups.", example: '49975' })
  topUpDailyRemaining: string;
}

export class TopUpDto {
  @ApiProperty({ description: 'Amount to add: above 0, at most 12 decimals ("add value").', example: '25' })
  @IsPrice('amount')
  amount: string;

  @ApiPropertyOptional({
    description: "A UUID of the client's choosing: a retry with the same one adds nothing more and answers the same.",
    example: '6c0e2b8a-3f5d-4e7c-9b1a-2d4f6e8a0c1b',
  })
  @IsOptional()
  @IsUUID('all', { message: 'requestId must be a UUID' })
  requestId?: string;
}

/** One ledger entry as the account holder sees it. */
export class StatementEntryDto {
  @ApiProperty({ description: "The movement's unique key.", example: 'storage:2f1e0d9c-8b7a-4c65-9d4e-3f2a1b0c9d8e:1764064800000:0' })
  key: string;

  @ApiProperty({ description: 'fee, storage, running, topUp (also the sign-up credit) or refund.', enum: LEDGER_KINDS, example: 'storage' })
  kind: string;

  @ApiProperty({ description: 'When it took effect (a charge: when it fell due), ISO 8601.', example: '2026-11-25T10:00:00.000Z' })
  at: string;

  @ApiProperty({ description: 'Signed exact amount for this account: negative = debit, positive = credit.', example: '-3' })
  amount: string;

  @ApiProperty({ description: 'Machine it concerns, or null.', example: '2f1e0d9c-8b7a-4c65-9d4e-3f2a1b0c9d8e', nullable: true, type: String })
  machineId: string | null;

  @ApiProperty({ description: 'Its name, or null.', example: 'Configuration1', nullable: true, type: String })
  machineName: string | null;

  @ApiProperty({ description: 'Host a storage or running charge was for, or null.', example: 'virt8', nullable: true, type: String })
  hostName: string | null;

  @ApiProperty({ description: 'In words.', example: 'storage period 1 of Configuration1 on virt8' })
  description: string;
}

export class TopUpResultDto {
  @ApiProperty({ description: 'The balance after the top-up.', example: '1021.95' })
  balance: string;

  @ApiProperty({ description: 'The top-up as a statement entry.', type: StatementEntryDto })
  entry: StatementEntryDto;
}

/** Deepest page of a statement: far past any real ledger, and a plain number for the SQL OFFSET. */
export const MAX_STATEMENT_OFFSET = 10_000_000;

export class StatementQueryDto {
  @ApiPropertyOptional({ description: 'Entries at or after this instant (ISO 8601).', example: '2026-11-01T00:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'from must be an ISO 8601 date-time' })
  from?: string;

  @ApiPropertyOptional({ description: 'Entries before this instant (ISO 8601).', example: '2026-12-01T00:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'to must be an ISO 8601 date-time' })
  to?: string;

  @ApiPropertyOptional({ description: 'Only this kind.', enum: LEDGER_KINDS, example: 'running' })
  @IsOptional()
  @IsIn(LEDGER_KINDS, { message: `kind must be one of ${LEDGER_KINDS.join(', ')}` })
  kind?: string;

  @ApiPropertyOptional({ description: 'Only entries of this machine.', example: '2f1e0d9c-8b7a-4c65-9d4e-3f2a1b0c9d8e' })
  @IsOptional()
  @IsUUID('all', { message: 'machineId must be a machine id' })
  machineId?: string;

  @ApiPropertyOptional({
    description: 'Page size, 1 to 500 (default 100). CSV ignores it and exports every matching entry.',
    example: 100,
    minimum: 1,
    maximum: 500,
  })
  @IsOptional()
  @IsQueryInteger('limit', 1, 500)
  limit?: number;

  @ApiPropertyOptional({ description: 'Entries to skip, newest first (default 0, at most 10000000).', example: 0, minimum: 0, maximum: MAX_STATEMENT_OFFSET })
  @IsOptional()
  @IsQueryInteger('offset', 0, MAX_STATEMENT_OFFSET)
  offset?: number;

  @ApiPropertyOptional({ description: 'csv for a CSV file (same as Accept: text/csv).', enum: ['json', 'csv'], example: 'csv' })
  @IsOptional()
  @IsIn(['json', 'csv'], { message: 'format must be json or csv' })
  format?: 'json' | 'csv';
}

export class StatementPageDto {
  @ApiProperty({ description: 'Matching entries in all.', example: 250 })
  total: number;

  @ApiProperty({ description: 'Page size.', example: 100 })
  limit: number;

  @ApiProperty({ description: 'Entries skipped.', example: 0 })
  offset: number;

  @ApiProperty({ description: 'Newest first.', type: StatementEntryDto, isArray: true, example: [] })
  items: StatementEntryDto[];
}

/** A machine stored on one of the provider's hosts (report fig. 32). */
export class ProviderMachineDto {
  @ApiProperty({ description: 'Machine id.', example: '2f1e0d9c-8b7a-4c65-9d4e-3f2a1b0c9d8e' })
  id: string;

  @ApiProperty({ description: 'Machine name.', example: '50' })
  name: string;

  @ApiProperty({ description: 'Lifecycle state.', enum: MACHINE_STATES, example: 'running' })
  state: string;

  @ApiProperty({ description: 'What it pays per storage period.', example: '0.000000001' })
  storagePrice: string;

  @ApiProperty({ description: 'Storage period in days.', example: 10 })
  storageAmount: number;

  @ApiProperty({ description: 'What it pays per running slice.', example: '0.000000001' })
  runningPrice: string;

  @ApiProperty({ description: 'Running slice in seconds.', example: 3600 })
  runningUnitAmount: number;

  @ApiProperty({ description: 'Its storage cost per day.', example: '0.0000000001' })
  storagePerDay: string;

  @ApiProperty({ description: 'Its running cost per second of running.', example: '0.00000000000027777777777778' })
  runningPerSecond: string;

  @ApiProperty({ description: 'True while running.', example: true })
  running: boolean;

  @ApiProperty({ description: '"Client Next Billed for Storage".', type: DebitDto })
  nextStorageBill: DebitDto;

  @ApiProperty({ description: '"Client Next Billed for Running"; null when not running.', type: DebitDto, nullable: true })
  nextRunningBill: DebitDto | null;
}

export class ProviderHostAccountDto {
  @ApiProperty({ description: 'Host id.', example: '7c9e6679-7425-40de-944b-e07fc1f90ae7' })
  id: string;

  @ApiProperty({ description: 'Host name.', example: 'virt8' })
  name: string;

  @ApiProperty({ description: 'Processor type.', example: 'Pentium3' })
  processor: string;

  @ApiProperty({ description: 'Total speed, bogomips.', example: 10000 })
  speed: number;

  @ApiProperty({ description: 'Total memory, MB.', example: 512 })
  memory: number;

  @ApiProperty({ description: 'Total storage, MB.', example: 100000 })
  storage: number;

  @ApiProperty({ description: 'Speed is sold in chunks of this many bogomips.', example: 1000 })
  speedUnit: number;

  @ApiProperty({ description: 'Current price per second of one speed unit (for machines stored from now on).', example: '0.00001' })
  speedUnitPrice: string;

  @ApiProperty({ description: 'Memory is sold in chunks of this many MB.', example: 4 })
  memoryUnit: number;

  @ApiProperty({ description: 'Current price per second of one memory unit.', example: '0.00001' })
  memoryUnitPrice: string;

  @ApiProperty({ description: 'Running is charged once every this many seconds.', example: 3600 })
  runningUnitAmount: number;

  @ApiProperty({ description: 'Storage is sold in chunks of this many MB.', example: 100 })
  storageUnit: number;

  @ApiProperty({ description: 'Current price per day of one storage unit.', example: '0.01' })
  storageUnitPrice: string;

  @ApiProperty({ description: 'Storage is charged once every this many days.', example: 30 })
  storageAmount: number;

  @ApiProperty({ description: 'Everything credited for machines on this host so far.', example: '0.00000002' })
  income: string;

  @ApiProperty({ description: 'What its machines currently make per day of storage and per second of running.', type: CostRatesDto })
  making: CostRatesDto;

  @ApiProperty({ description: 'Machines billed on it.', type: ProviderMachineDto, isArray: true, example: [] })
  machines: ProviderMachineDto[];
}

/** The provider's account page (report figs. 30, 32). */
export class ProviderAccountDto {
  @ApiProperty({ description: 'Account handle.', example: 'RsrcProvider' })
  handle: string;

  @ApiProperty({ description: 'Current balance.', example: '1000.00000002' })
  balance: string;

  @ApiProperty({ description: 'ISO 8601.', example: '2026-11-25T10:00:00.000Z' })
  asOf: string;

  @ApiProperty({ description: 'Income from every host, including removed ones.', example: '0.00000002' })
  income: string;

  @ApiProperty({ description: '"Currently making you X per day of storing … and Y per second of running …", over all hosts.', type: CostRatesDto })
  making: CostRatesDto;

  @ApiProperty({ description: 'Every host of the provider, oldest first.', type: ProviderHostAccountDto, isArray: true, example: [] })
  hosts: ProviderHostAccountDto[];
}

export class PriceHistoryQueryDto {
  @ApiPropertyOptional({ description: 'Start (ISO 8601); default 30 days before `to`.', example: '2026-11-01T00:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'from must be an ISO 8601 date-time' })
  from?: string;

  @ApiPropertyOptional({ description: 'End (ISO 8601); default now.', example: '2026-12-01T00:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'to must be an ISO 8601 date-time' })
  to?: string;
}

/** A configuration's market averages at one instant. */
export class PricePointDto {
  @ApiProperty({ description: 'When the averages pass recorded it (ISO 8601).', example: '2026-11-25T10:00:00.000Z' })
  at: string;

  @ApiProperty({ description: 'Mean storage price per month (30 days).', example: '3' })
  storagePerMonth: string;

  @ApiProperty({ description: 'Mean running price per hour.', example: '2.448' })
  runningPerHour: string;

  @ApiProperty({ description: 'Hosts the mean is over.', example: 12 })
  hostCount: number;
}

export class PriceHistoryDto {
  @ApiProperty({ description: 'Catalog configuration id.', example: 'd9b2d3a4-1111-4a53-9d0e-6c1f0f2f9b11' })
  configurationId: string;

  @ApiProperty({ description: 'Configuration name.', example: 'Configuration1' })
  name: string;

  @ApiProperty({ description: 'Start of the range (ISO 8601).', example: '2026-11-01T00:00:00.000Z' })
  from: string;

  @ApiProperty({ description: 'End of the range (ISO 8601).', example: '2026-12-01T00:00:00.000Z' })
  to: string;

  @ApiProperty({ description: 'Width of a bucket: at most 200 points, the last of each bucket.', example: 12_960_000 })
  bucketMs: number;

  @ApiProperty({ description: 'The latest point, whatever the range; null if none yet.', type: PricePointDto, nullable: true })
  current: PricePointDto | null;

  @ApiProperty({ description: 'Oldest first.', type: PricePointDto, isArray: true, example: [] })
  points: PricePointDto[];
}

/** Market-wide mean resource prices at one instant, in normalised units. */
export class ResourcePricePointDto {
  @ApiProperty({ description: 'When the averages pass recorded it (ISO 8601).', example: '2026-11-25T10:00:00.000Z' })
  at: string;

  @ApiProperty({ description: '$ per second for 1000 bogomips.', example: '0.00001' })
  speedPer1000BogomipsPerSecond: string;

  @ApiProperty({ description: '$ per second for 1 MB of memory.', example: '0.0000025' })
  memoryPerMbPerSecond: string;

  @ApiProperty({ description: '$ per day for 100 MB of storage.', example: '0.01' })
  storagePer100MbPerDay: string;

  @ApiProperty({ description: 'Hosts the mean is over (every host in the market).', example: 12 })
  hostCount: number;
}

export class ResourcePriceHistoryDto {
  @ApiProperty({ description: 'Start of the range (ISO 8601).', example: '2026-11-01T00:00:00.000Z' })
  from: string;

  @ApiProperty({ description: 'End of the range (ISO 8601).', example: '2026-12-01T00:00:00.000Z' })
  to: string;

  @ApiProperty({ description: 'Width of a bucket: at most 200 points, the last of each bucket.', example: 12_960_000 })
  bucketMs: number;

  @ApiProperty({ description: 'The latest point, whatever the range; null if none yet.', type: ResourcePricePointDto, nullable: true })
  current: ResourcePricePointDto | null;

  @ApiProperty({ description: 'Oldest first.', type: ResourcePricePointDto, isArray: true, example: [] })
  points: ResourcePricePointDto[];
}
