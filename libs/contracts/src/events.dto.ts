import { ApiProperty, ApiPropertyOptional, OmitType } from '@nestjs/swagger';
import { IsIn, IsISO8601, IsOptional, IsString, IsUUID, Matches } from 'class-validator';
import { IsQueryInteger } from './validation';

/** One entry of the market's event log (docs/ARCHITECTURE.md "Event log"). */
export class EventDto {
  @ApiProperty({ description: 'Global order: events are numbered in the order the front-end recorded them.', example: 1042 })
  id: number;

  @ApiProperty({ description: 'When the front-end recorded it (ISO 8601).', example: '2026-11-25T10:00:01.000Z' })
  at: string;

  @ApiProperty({ description: 'When it happened, by the clock of its source (the agent for agent events).', example: '2026-11-25T10:00:00.500Z' })
  occurredAt: string;

  @ApiProperty({ description: 'Who recorded it: the market (front-end) or a provider agent.', enum: ['market', 'agent'], example: 'market' })
  source: string;

  @ApiProperty({
    description:
      'Dotted name: machine.created, machine.state, agent.command, agent.reply, agent.joined, host.offline, host.online, billing.pass, notice.sent, error (and billing.charged in a machine history, read from the ledger); from agents agent.command.received, agent.command.done, vm.process.started, vm.process.ended, qmp.<EVENT>, migration.step, vmmp.',
    example: 'machine.state',
  })
  kind: string;

  @ApiProperty({ description: 'One human line.', example: 'win2000Pro: stopped → running (v3)' })
  message: string;

  @ApiProperty({ description: 'The machine it is about, if one.', nullable: true, type: String, example: null })
  machineId: string | null;

  @ApiProperty({ description: 'The host it is about, if one.', nullable: true, type: String, example: null })
  hostId: string | null;

  @ApiProperty({ description: 'The agent it comes from or is about, if one.', nullable: true, type: String, example: null })
  agentId: string | null;

  @ApiProperty({ description: "The machine's state version after it, when it is about one.", nullable: true, type: Number, example: 3 })
  version: number | null;

  @ApiProperty({ description: "The agent's own number of the event (agent events only).", nullable: true, type: Number, example: null })
  agentSeq: number | null;

  @ApiProperty({ description: 'Details (small JSON object), or null.', nullable: true, type: Object, example: null })
  data: Record<string, unknown> | null;
}

/** The operator's view adds who the event concerns. */
export class OperatorEventDto extends EventDto {
  @ApiProperty({ description: 'The user who acted, if one.', nullable: true, type: String, example: null })
  userId: string | null;

  @ApiProperty({ description: "The machine's buyer at the time, if it is about a machine.", nullable: true, type: String, example: null })
  buyerId: string | null;

  @ApiProperty({ description: "The host's provider at the time, if it is about a host.", nullable: true, type: String, example: null })
  providerId: string | null;
}

export class EventListDto {
  @ApiProperty({ description: 'The events, in the order asked for.', type: EventDto, isArray: true, example: [] })
  items: EventDto[];

  @ApiProperty({
    description: 'The cursor for the next page (the id of the last item), or null when this is the last page.',
    nullable: true,
    type: Number,
    example: null,
  })
  next: number | null;
}

export class OperatorEventListDto {
  @ApiProperty({ description: 'The events, in the order asked for.', type: OperatorEventDto, isArray: true, example: [] })
  items: OperatorEventDto[];

  @ApiProperty({
    description: 'The cursor for the next page (the id of the last item), or null when this is the last page.',
    nullable: true,
    type: Number,
    example: null,
  })
  next: number | null;
}

/**
 * An entry of a machine's history: an event of the log, or what one billing pass (or the store, the
 * start, the registration) charged the machine — billing.charged, read from the ledger, with no
 * event number (docs/ARCHITECTURE.md "Event log").
 */
export class MachineEventDto extends OmitType(EventDto, ['id'] as const) {
  @ApiProperty({
    description: "The event's number in the global order; null for a billing.charged entry (read from the ledger, not the event log).",
    nullable: true,
    type: Number,
    example: 1042,
  })
  id: number | null;
}

export class MachineEventListDto {
  @ApiProperty({
    description: 'The events and charges, in the order asked for (by the time they were recorded).',
    type: MachineEventDto,
    isArray: true,
    example: [],
  })
  items: MachineEventDto[];

  @ApiProperty({
    description: 'The cursor for the next page (opaque text: where each of the two sources, events and charges, stopped), or null when this is the last page.',
    nullable: true,
    type: String,
    example: null,
  })
  next: string | null;
}

/** A machine history's cursor: the last event id taken and the recording time of the last charges taken, either empty. */
export const MACHINE_EVENT_CURSOR = /^(\d{1,15})?_(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)?$/;

export const EVENT_ORDERS = ['asc', 'desc'] as const;

/** Paging of a history (a machine's, a host's). */
export class EventPageQueryDto {
  @ApiPropertyOptional({ description: 'asc: oldest first; desc (default): newest first.', enum: EVENT_ORDERS, example: 'desc' })
  @IsOptional()
  @IsIn(EVENT_ORDERS, { message: 'order must be asc or desc' })
  order?: (typeof EVENT_ORDERS)[number];

  @ApiPropertyOptional({ description: "The previous page's `next`: events after it in the order asked for.", example: 1042 })
  @IsOptional()
  @IsQueryInteger('cursor', 0, Number.MAX_SAFE_INTEGER)
  cursor?: number;

  @ApiPropertyOptional({ description: 'At most this many (1 to 500, default 100).', example: 100, minimum: 1, maximum: 500 })
  @IsOptional()
  @IsQueryInteger('limit', 1, 500)
  limit?: number;
}

/** The operator's filters on the global log. */
export class OperatorEventQueryDto extends EventPageQueryDto {
  @ApiPropertyOptional({ description: 'A kind (machine.state) or a category (machine: every machine.* kind).', example: 'machine' })
  @IsOptional()
  @Matches(/^[A-Za-z][\w.-]{0,59}$/, { message: 'kind must be a dotted name of at most 60 characters' })
  kind?: string;

  @ApiPropertyOptional({ description: 'Only market or agent events.', enum: ['market', 'agent'], example: 'agent' })
  @IsOptional()
  @IsIn(['market', 'agent'], { message: 'source must be market or agent' })
  source?: 'market' | 'agent';

  @ApiPropertyOptional({ description: 'Only events about this machine.' })
  @IsOptional()
  @IsUUID('all', { message: 'machineId must be a UUID' })
  machineId?: string;

  @ApiPropertyOptional({ description: 'Only events about this host.' })
  @IsOptional()
  @IsUUID('all', { message: 'hostId must be a UUID' })
  hostId?: string;

  @ApiPropertyOptional({ description: 'Only events of this user (who acted, or whose machine or host it is about).' })
  @IsOptional()
  @IsUUID('all', { message: 'userId must be a UUID' })
  userId?: string;

  @ApiPropertyOptional({ description: 'Only events recorded at or after this time (ISO 8601).', example: '2026-11-25T00:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'from must be an ISO 8601 time' })
  from?: string;

  @ApiPropertyOptional({ description: 'Only events recorded before this time (ISO 8601).', example: '2026-11-26T00:00:00Z' })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'to must be an ISO 8601 time' })
  to?: string;
}

/** Paging of a machine's history: its cursor also says where the charges stopped. */
export class MachineEventPageQueryDto extends OmitType(EventPageQueryDto, ['cursor'] as const) {
  @ApiPropertyOptional({ description: "The previous page's `next`.", example: '1042_2026-11-25T10:00:01.000Z' })
  @IsOptional()
  @IsString({ message: "cursor must be the previous page's next" })
  @Matches(MACHINE_EVENT_CURSOR, { message: "cursor must be the previous page's next" })
  cursor?: string;
}
