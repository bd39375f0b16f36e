import { ApiProperty, ApiPropertyOptional, OmitType, PartialType, PickType } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID, Length, Matches, ValidateIf } from 'class-validator';
import { HostFactsDto } from './agents.dto';
import { HostNetworkFactsDto } from './agent/network.dto';
import { IsPrice, IsWholeNumber, NoControlCharacters } from './validation';

/** Every field of the report's "add machine" form (fig. 27). Totals are locked once the host exists. */
export class CreateHostDto {
  @ApiProperty({ description: 'Host name shown to buyers.', example: 'virt8' })
  @IsString()
  @Length(1, 60, { message: 'name must be 1 to 60 characters' })
  @NoControlCharacters('name')
  name: string;

  @ApiProperty({ description: 'Processor type.', example: 'Pentium3' })
  @IsString()
  @Length(1, 60, { message: 'processor must be 1 to 60 characters' })
  @NoControlCharacters('processor')
  processor: string;

  @ApiProperty({ description: 'Total speed for sale, in bogomips (locked after creation).', example: 10000 })
  @IsWholeNumber('speed', 1, 100_000_000)
  speed: number;

  @ApiProperty({ description: 'Speed is sold in chunks of this many bogomips.', example: 1000 })
  @IsWholeNumber('speedUnit', 1, 100_000_000)
  speedUnit: number;

  @ApiProperty({ description: 'Price per second of one speed unit.', example: '0.00001' })
  @IsPrice('speedUnitPrice')
  speedUnitPrice: string;

  @ApiProperty({ description: 'Total memory for sale, in MB (locked after creation).', example: 512 })
  @IsWholeNumber('memory', 1, 100_000_000)
  memory: number;

  @ApiProperty({ description: 'Memory is sold in chunks of this many MB.', example: 4 })
  @IsWholeNumber('memoryUnit', 1, 100_000_000)
  memoryUnit: number;

  @ApiProperty({ description: 'Price per second of one memory unit.', example: '0.00001' })
  @IsPrice('memoryUnitPrice')
  memoryUnitPrice: string;

  @ApiProperty({ description: 'Running is charged once every this many seconds.', example: 3600 })
  @IsWholeNumber('runningUnitAmount', 1, 31_536_000)
  runningUnitAmount: number;

  @ApiProperty({ description: 'Total storage for sale, in MB (locked after creation).', example: 100000 })
  @IsWholeNumber('storage', 1, 1_000_000_000)
  storage: number;

  @ApiProperty({ description: 'Storage is sold in chunks of this many MB.', example: 100 })
  @IsWholeNumber('storageUnit', 1, 1_000_000_000)
  storageUnit: number;

  @ApiProperty({ description: 'Price per day of one storage unit.', example: '0.01' })
  @IsPrice('storageUnitPrice')
  storageUnitPrice: string;

  @ApiProperty({ description: 'Storage is charged once every this many days.', example: 30 })
  @IsWholeNumber('storageAmount', 1, 3650)
  storageAmount: number;

  @ApiProperty({ description: 'Network connection speed, as the provider describes it.', example: '1Gbps' })
  @IsString()
  @Length(1, 40, { message: 'connectionSpeed must be 1 to 40 characters' })
  @NoControlCharacters('connectionSpeed')
  connectionSpeed: string;

  @ApiPropertyOptional({
    description:
      'A joined agent of yours that no other host uses (GET /api/agents/join-tokens/{id} names it). With it, agentHost and ' +
      'agentPort come from the agent and the totals may not exceed what it measured. Without it the host is added by hand ' +
      'and stays offline until an agent joins for it (POST /api/agents/join-tokens with its hostId).',
    example: '9b2d3a4c-1111-4a53-9d0e-6c1f0f2f9b11',
  })
  @IsOptional()
  @IsUUID('all', { message: 'agentId must be the id of one of your joined agents' })
  agentId?: string;

  @ApiPropertyOptional({
    description: 'Address where the provider agent listens (required without agentId; taken from the agent with it).',
    example: '127.0.0.1',
  })
  @ValidateIf((dto: CreateHostDto) => dto.agentId === undefined || dto.agentHost !== undefined)
  @IsString({ message: 'agentHost must be a host name or IP address' })
  @Matches(/^[A-Za-z0-9.:-]{1,255}$/, { message: 'agentHost must be a host name or IP address' })
  agentHost?: string;

  @ApiPropertyOptional({ description: 'Port where the provider agent listens (required without agentId; taken from the agent with it).', example: 8000 })
  @ValidateIf((dto: CreateHostDto) => dto.agentId === undefined || dto.agentPort !== undefined)
  @IsWholeNumber('agentPort', 1, 65535)
  agentPort?: number;
}

/** Only units, unit prices and periods may change (report §5.2.3); changes are not retroactive. */
export class UpdateHostDto extends PartialType(
  PickType(CreateHostDto, [
    'speedUnit',
    'speedUnitPrice',
    'memoryUnit',
    'memoryUnitPrice',
    'runningUnitAmount',
    'storageUnit',
    'storageUnitPrice',
    'storageAmount',
  ] as const),
) {}

export class ResourceAmountsDto {
  @ApiProperty({ description: 'Speed in bogomips.', example: 6000 })
  speed: number;

  @ApiProperty({ description: 'Memory in MB.', example: 256 })
  memory: number;

  @ApiProperty({ description: 'Storage in MB.', example: 99000 })
  storage: number;
}

export class HostDto extends OmitType(CreateHostDto, ['agentId', 'agentHost', 'agentPort'] as const) {
  @ApiProperty({ description: 'Host id.', example: '7c9e6679-7425-40de-944b-e07fc1f90ae7' })
  id: string;

  @ApiProperty({ description: 'Address where the provider agent listens.', example: '127.0.0.1' })
  agentHost: string;

  @ApiProperty({ description: 'Port where the provider agent listens.', example: 8000 })
  agentPort: number;

  @ApiProperty({
    description: 'The agent serving this host, or null for a host added by hand whose agent has not joined yet.',
    example: '9b2d3a4c-1111-4a53-9d0e-6c1f0f2f9b11',
    nullable: true,
    type: String,
  })
  agentId: string | null;

  @ApiProperty({ description: 'True when its agent sent a heartbeat recently; a host without an agent is offline.', example: true })
  online: boolean;

  @ApiProperty({
    description: "When its agent's last heartbeat arrived (ISO 8601), or null.",
    example: '2026-11-25T10:00:05.000Z',
    nullable: true,
    type: String,
  })
  lastHeartbeatAt: string | null;

  @ApiProperty({ description: 'What its agent measured (last heartbeat), or null without an agent.', type: HostFactsDto, nullable: true })
  facts: HostFactsDto | null;

  @ApiProperty({
    description:
      'Guest networking on the host as its agent last reported it (public host, forwarded port range and ports in use, outbound policy, VNET), or null without an agent or from an agent older than guest networking.',
    type: HostNetworkFactsDto,
    nullable: true,
  })
  network: HostNetworkFactsDto | null;

  @ApiProperty({ description: 'Handle of the provider who owns the host.', example: 'RsrcProvider' })
  owner: string;

  @ApiProperty({ description: 'Resources not reserved by stored machines.', type: ResourceAmountsDto })
  free: ResourceAmountsDto;

  @ApiProperty({ description: 'Number of machines stored on the host.', example: 1 })
  machineCount: number;

  @ApiProperty({ description: 'When it was added (ISO 8601).', example: '2026-11-25T10:00:00.000Z' })
  createdAt: string;
}

/** One row of the provider marketplace (report fig. 33). */
export class MarketHostDto {
  @ApiProperty({ description: 'Host id.', example: '7c9e6679-7425-40de-944b-e07fc1f90ae7' })
  id: string;

  @ApiProperty({ description: 'Provider handle.', example: 'RsrcProvider' })
  owner: string;

  @ApiProperty({ description: 'Host name.', example: 'virt8' })
  name: string;

  @ApiProperty({ description: 'Processor type.', example: 'Pentium3' })
  processor: string;

  @ApiProperty({ description: 'Free resources.', type: ResourceAmountsDto })
  free: ResourceAmountsDto;

  @ApiProperty({ description: 'Total resources.', type: ResourceAmountsDto })
  total: ResourceAmountsDto;

  @ApiProperty({ description: 'Bogomips per speed unit.', example: 1000 })
  speedUnit: number;

  @ApiProperty({ description: 'Price per second of one speed unit.', example: '0.00001' })
  speedUnitPrice: string;

  @ApiProperty({ description: 'MB per memory unit.', example: 4 })
  memoryUnit: number;

  @ApiProperty({ description: 'Price per second of one memory unit.', example: '0.00001' })
  memoryUnitPrice: string;

  @ApiProperty({ description: 'Running charge period in seconds.', example: 3600 })
  runningUnitAmount: number;

  @ApiProperty({ description: 'MB per storage unit.', example: 100 })
  storageUnit: number;

  @ApiProperty({ description: 'Price per day of one storage unit.', example: '0.01' })
  storageUnitPrice: string;

  @ApiProperty({ description: 'Storage charge period in days.', example: 30 })
  storageAmount: number;

  @ApiProperty({ description: 'Connection speed.', example: '1Gbps' })
  connectionSpeed: string;

  @ApiProperty({ description: 'True when the agent of the host sent a heartbeat recently.', example: true })
  online: boolean;

  @ApiProperty({
    description: "When the host's agent last sent a heartbeat (ISO 8601), or null.",
    example: '2026-11-25T10:00:05.000Z',
    nullable: true,
    type: String,
  })
  lastHeartbeatAt: string | null;
}
