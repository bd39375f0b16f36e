import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsISO8601,
  IsObject,
  IsOptional,
  IsString,
  Length,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { HostFactsDto } from '../agents.dto';
import { IsWholeNumber } from '../validation';
import { REPORTED_VM_STATES } from '@virtuoso/domain';
import { JOURNAL_ENTRIES_PER_HEARTBEAT } from './protocol';
import type {
  AgentEvent,
  AgentJournalEntry,
  AgentRetireCommand,
  AgentVmState,
  ConsoleOpenCommand,
  ConsoleOpenResult,
  Heartbeat,
  VmCommand,
  VmCreateCommand,
  VmMediaCommand,
  VmSendKeysCommand,
  VmResumeCommand,
  VmStartCommand,
  VmStopCommand,
} from './protocol';
import { PortForwardDto, VmNetworkConfigDto } from './network.dto';

/**
 * The agent protocol's messages as class-validator DTOs (protocol.ts describes them). Commands are
 * checked by the agent once their signature is (a bug in the front-end must give a clear 'failed'
 * reply, not a TypeError deep in the driver); heartbeats and replies by the front-end.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SHA256 = /^[0-9a-f]{64}$/i;
const lowerCase = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value);
const VERSION_MAX = Number.MAX_SAFE_INTEGER;
const KEYS_MESSAGE = "keys must be 1 to 8 QEMU qcodes pressed together, e.g. ['ctrl', 'alt', 'delete']";

/** host.facts and vm.list take no arguments (the front-end sends `{}`). */
export class NoArgumentsDto {}

export class VmCommandDto implements VmCommand {
  @Matches(UUID, { message: 'machineId must be a machine id (a UUID)' })
  @Transform(lowerCase)
  machineId: string;

  @IsWholeNumber('version', 0, VERSION_MAX)
  version: number;
}

export class AgentImageRefDto {
  @IsString({ message: 'image.name must be a text' })
  @Length(1, 200, { message: 'image.name must be 1 to 200 characters' })
  name: string;

  @Matches(SHA256, { message: 'image.sha256 must be 64 hex digits' })
  @Transform(lowerCase)
  sha256: string;
}

export class VmCreateCommandDto extends VmCommandDto implements VmCreateCommand {
  @Matches(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i, { message: 'mac must be a MAC address such as 52:54:00:12:34:56' })
  mac: string;

  @IsWholeNumber('vcpus', 1, 256)
  vcpus: number;

  @IsWholeNumber('memoryMb', 16, 4 * 1024 * 1024)
  memoryMb: number;

  @IsWholeNumber('diskMb', 1, 64 * 1024 * 1024)
  diskMb: number;

  @IsOptional()
  @ValidateNested({ message: 'image must be an object { name, sha256 }' })
  @Type(() => AgentImageRefDto)
  image?: AgentImageRefDto;
}

export class VmStartCommandDto extends VmCommandDto implements VmStartCommand {
  @IsOptional()
  @IsIn(['disk', 'cdrom'], { message: "bootFrom must be 'disk' or 'cdrom'" })
  bootFrom?: 'disk' | 'cdrom';

  @IsOptional()
  @IsObject({ message: 'network must be an object { private?, forwardPorts, sshKeys, hostname }' })
  @ValidateNested()
  @Type(() => VmNetworkConfigDto)
  network?: VmNetworkConfigDto;
}

export class VmResumeCommandDto extends VmCommandDto implements VmResumeCommand {
  @IsOptional()
  @IsObject({ message: 'network must be an object { private?, forwardPorts, sshKeys, hostname }' })
  @ValidateNested()
  @Type(() => VmNetworkConfigDto)
  network?: VmNetworkConfigDto;
}

export class VmStopCommandDto extends VmCommandDto implements VmStopCommand {
  @IsOptional()
  @IsWholeNumber('timeoutMs', 0, 600_000)
  timeoutMs?: number;

  @IsOptional()
  @IsBoolean({ message: 'force must be true or false' })
  force?: boolean;
}

export class AgentMediaRefDto {
  @IsString({ message: 'media.id must be a text' })
  @Length(1, 200, { message: 'media.id must be 1 to 200 characters' })
  id: string;

  @Matches(SHA256, { message: 'media.sha256 must be 64 hex digits' })
  @Transform(lowerCase)
  sha256: string;
}

export class VmMediaCommandDto extends VmCommandDto implements VmMediaCommand {
  // ValidateNested alone lets a missing object through.
  @IsObject({ message: 'media must be an object { id, sha256 }' })
  @ValidateNested({ message: 'media must be an object { id, sha256 }' })
  @Type(() => AgentMediaRefDto)
  media: AgentMediaRefDto;
}

export class VmSendKeysCommandDto implements VmSendKeysCommand {
  @Matches(UUID, { message: 'machineId must be a machine id (a UUID)' })
  @Transform(lowerCase)
  machineId: string;

  @IsArray({ message: KEYS_MESSAGE })
  @ArrayMinSize(1, { message: KEYS_MESSAGE })
  @ArrayMaxSize(8, { message: KEYS_MESSAGE })
  @Matches(/^[a-z0-9_]{1,24}$/, { each: true, message: KEYS_MESSAGE })
  keys: string[];

  @IsOptional()
  @IsWholeNumber('version', 0, VERSION_MAX)
  version?: number;
}

export class ConsoleOpenCommandDto implements ConsoleOpenCommand {
  @Matches(UUID, { message: 'machineId must be a machine id (a UUID)' })
  @Transform(lowerCase)
  machineId: string;

  @Matches(/^[\x21-\x7e]{16,512}$/, { message: 'ticket must be 16 to 512 printable characters without spaces' })
  ticket: string;

  @IsWholeNumber('expiresAt', 0, VERSION_MAX)
  expiresAt: number;
}

export class AgentRetireCommandDto implements AgentRetireCommand {
  @IsString({ message: 'reason must be a text of at most 500 characters' })
  @MaxLength(500, { message: 'reason must be a text of at most 500 characters' })
  reason: string;
}

/** A machine as the agent sees it (vm.* replies, heartbeats). */
export class AgentVmStateDto implements AgentVmState {
  @IsString({ message: 'machineId must be a text' })
  @Length(1, 64, { message: 'machineId must be 1 to 64 characters' })
  machineId: string;

  @IsIn(REPORTED_VM_STATES, { message: `state must be ${REPORTED_VM_STATES.slice(0, -1).join(', ')} or ${REPORTED_VM_STATES.at(-1)}` })
  state: AgentVmState['state'];

  @IsWholeNumber('version', 0, VERSION_MAX)
  version: number;

  @IsOptional()
  @IsString({ message: 'media must be a text or null' })
  @MaxLength(200, { message: 'media must be at most 200 characters' })
  media: string | null;

  @IsOptional()
  @IsArray({ message: 'forwards must be a list of { guestPort, hostPort }' })
  @ArrayMaxSize(8, { message: 'forwards must hold at most 8 ports' })
  @ValidateNested({ each: true })
  @Type(() => PortForwardDto)
  forwards?: PortForwardDto[];
}

export class AgentEventDto implements AgentEvent {
  @IsString({ message: 'machineId must be a text' })
  @Length(1, 64, { message: 'machineId must be 1 to 64 characters' })
  machineId: string;

  @IsIn(['poweredOff', 'crashed'], { message: 'kind must be poweredOff or crashed' })
  kind: AgentEvent['kind'];

  @IsISO8601({}, { message: 'at must be an ISO 8601 time' })
  at: string;

  @IsWholeNumber('version', 0, VERSION_MAX)
  version: number;

  @IsOptional()
  @IsString({ message: 'detail must be a text' })
  @MaxLength(1000, { message: 'detail must be at most 1000 characters' })
  detail?: string;
}

export class AgentJournalEntryDto implements AgentJournalEntry {
  @IsWholeNumber('seq', 1, VERSION_MAX)
  seq: number;

  @IsISO8601({}, { message: 'at must be an ISO 8601 time' })
  at: string;

  @Matches(/^[A-Za-z][\w.-]{0,59}$/, { message: 'kind must be a dotted name of at most 60 characters' })
  kind: string;

  @IsOptional()
  @IsString({ message: 'machineId must be a text' })
  @Length(1, 64, { message: 'machineId must be 1 to 64 characters' })
  machineId?: string;

  @IsString({ message: 'message must be a text' })
  @MaxLength(1000, { message: 'message must be at most 1000 characters' })
  message: string;

  @IsOptional()
  @IsObject({ message: 'data must be an object' })
  data?: Record<string, unknown>;
}

/** The body of POST /api/agents/heartbeat (signed; see protocol.ts). */
export class HeartbeatDto implements Heartbeat {
  @IsString({ message: 'agentId must be a text' })
  @Length(1, 64, { message: 'agentId must be 1 to 64 characters' })
  agentId: string;

  @IsObject({ message: 'facts must be an object' })
  @ValidateNested({ message: 'facts must be an object' })
  @Type(() => HostFactsDto)
  facts: HostFactsDto;

  @IsArray({ message: 'vms must be a list' })
  @ValidateNested({ each: true, message: 'vms must be a list' })
  @Type(() => AgentVmStateDto)
  vms: AgentVmStateDto[];

  @IsArray({ message: 'events must be a list' })
  @ValidateNested({ each: true, message: 'events must be a list' })
  @Type(() => AgentEventDto)
  events: AgentEventDto[];

  @IsOptional()
  @IsArray({ message: 'journal must be a list' })
  @ArrayMaxSize(JOURNAL_ENTRIES_PER_HEARTBEAT, { message: `journal must hold at most ${JOURNAL_ENTRIES_PER_HEARTBEAT} entries` })
  @ValidateNested({ each: true, message: 'journal must be a list' })
  @Type(() => AgentJournalEntryDto)
  journal?: AgentJournalEntryDto[];
}

export class ConsoleOpenResultDto implements ConsoleOpenResult {
  @IsString({ message: 'machineId must be a text' })
  machineId: string;

  @IsWholeNumber('expiresAt', 0, VERSION_MAX)
  expiresAt: number;

  @IsWholeNumber('consolePort', 0, 65535)
  consolePort: number;
}

/** The reply to agent.retire. */
export class AgentRetiredDto {
  @IsIn([true], { message: 'retired must be true' })
  retired: true;
}
