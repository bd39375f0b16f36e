import { ApiProperty, ApiPropertyOptional, OmitType, PartialType } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional, IsString, IsUUID, Length } from 'class-validator';
import { ACTIONS, STATES } from '@virtuoso/domain';
import { ResourceAmountsDto } from './hosts.dto';
import { MediaRefDto } from './media.dto';
import { IsPrice, IsWholeNumber, NoControlCharacters } from './validation';

/** The lifecycle's states and actions, as the domain defines them (one list, one order). */
export const MACHINE_STATES = STATES;
export const MACHINE_ACTIONS = ACTIONS;

/** What a buyer asks for: the size of the machine and the highest rates they will pay (report fig. 7). */
export class MachineSpecDto {
  @ApiProperty({ description: 'Speed in bogomips.', example: 4000 })
  @IsWholeNumber('speed', 1, 10_000_000)
  speed: number;

  @ApiProperty({ description: 'Memory in MB.', example: 64 })
  @IsWholeNumber('memory', 16, 1_048_576)
  memory: number;

  @ApiProperty({ description: 'Disk in MB.', example: 100 })
  @IsWholeNumber('disk', 1, 10_485_760)
  disk: number;

  @ApiProperty({ description: 'Highest storage price the buyer will pay per month (30 days).', example: '3' })
  @IsPrice('askedStoragePerMonth')
  askedStoragePerMonth: string;

  @ApiProperty({ description: 'Highest running price the buyer will pay per hour of running.', example: '0.064386' })
  @IsPrice('askedRunningPerHour')
  askedRunningPerHour: string;
}

export class RegisterMachineDto extends MachineSpecDto {
  @ApiProperty({ description: 'Machine name.', example: 'Configuration1' })
  @IsString()
  @Length(1, 60, { message: 'name must be 1 to 60 characters' })
  @NoControlCharacters('name')
  name: string;

  @ApiProperty({ description: 'Processor type.', example: 'Pentium3' })
  @IsString()
  @Length(1, 60, { message: 'processor must be 1 to 60 characters' })
  @NoControlCharacters('processor')
  processor: string;

  @ApiProperty({ description: 'Operating system (installed, for a preconfigured machine; planned, for a blank one).', example: 'linux' })
  @IsString()
  @Length(1, 60, { message: 'os must be 1 to 60 characters' })
  @NoControlCharacters('os')
  os: string;

  @ApiPropertyOptional({
    description: 'Catalog entry this machine starts from; a preconfigured entry brings its disk image (size and OS then follow the entry).',
    example: 'd9b2d3a4-1111-4a53-9d0e-6c1f0f2f9b11',
  })
  @IsOptional()
  @IsUUID('all', { message: 'configurationId must be a catalog entry id' })
  configurationId?: string;
}

/** Editing is allowed only while registered (report fig. 13). */
export class UpdateMachineDto extends PartialType(OmitType(RegisterMachineDto, ['configurationId'] as const)) {}

export class StoreMachineDto {
  @ApiProperty({ description: 'The host to store the machine on (one of the search results).', example: '7c9e6679-7425-40de-944b-e07fc1f90ae7' })
  @IsUUID('all', { message: 'hostId must be a host id' })
  hostId: string;
}

export class HostRefDto {
  @ApiProperty({ description: 'Host id.', example: '7c9e6679-7425-40de-944b-e07fc1f90ae7' })
  id: string;

  @ApiProperty({ description: 'Host name.', example: 'virt8' })
  name: string;

  @ApiProperty({ description: 'Provider handle.', example: 'RsrcProvider' })
  owner: string;

  @ApiProperty({ description: "True when the host's agent sent a heartbeat recently (actions on an offline host fail fast).", example: true })
  online: boolean;
}

export const BOOT_DEVICES = ['disk', 'cdrom'] as const;

/** Optional body of POST /api/machines/{id}/start. */
export class StartMachineDto {
  @ApiPropertyOptional({
    description: "Boot device: 'disk' (default; then the CD-ROM), or 'cdrom' first to boot attached install media.",
    enum: BOOT_DEVICES,
    example: 'cdrom',
  })
  @IsOptional()
  @IsIn(BOOT_DEVICES as unknown as string[], { message: "bootFrom must be 'disk' or 'cdrom'" })
  bootFrom?: (typeof BOOT_DEVICES)[number];
}

/** Optional body of POST /api/machines/{id}/stop. */
export class StopMachineDto {
  @ApiPropertyOptional({
    description: 'true: power off at once, without asking the guest first (the ACPI power button and its timeout are skipped). Default false.',
    example: true,
  })
  @IsOptional()
  @IsBoolean({ message: 'force must be true or false' })
  force?: boolean;
}

export class MachineDto {
  @ApiProperty({ description: 'Machine id (UUID issued by the front-end).', example: '2f1e0d9c-8b7a-4c65-9d4e-3f2a1b0c9d8e' })
  id: string;

  @ApiProperty({ description: 'Machine name.', example: 'Configuration1' })
  name: string;

  @ApiProperty({ description: 'Processor type.', example: 'Pentium3' })
  processor: string;

  @ApiProperty({ description: 'Speed in bogomips.', example: 4000 })
  speed: number;

  @ApiProperty({ description: 'Operating system.', example: 'linux' })
  os: string;

  @ApiProperty({ description: 'Memory in MB.', example: 64 })
  memory: number;

  @ApiProperty({ description: 'Disk in MB.', example: 100 })
  disk: number;

  @ApiProperty({ description: 'True when the machine comes from a preconfigured image.', example: false })
  preconfigured: boolean;

  @ApiProperty({ description: 'Disk image of a preconfigured machine, or null.', example: null, nullable: true, type: String })
  image: string | null;

  @ApiProperty({ description: 'Lifecycle state.', enum: MACHINE_STATES, example: 'registered' })
  state: string;

  @ApiProperty({ description: 'Version: increments when the machine is stored, stopped, suspended or arrives after a migration.', example: 0 })
  version: number;

  @ApiProperty({
    description:
      'The ETag header\'s value: "<version>.<revision>", where the revision grows on every write (edits included). Send it back in If-Match; a bare "<version>" there compares the version only.',
    example: '"0.1"',
  })
  etag: string;

  @ApiProperty({
    description: 'Actions the current state allows, in display order.',
    enum: MACHINE_ACTIONS,
    isArray: true,
    example: ['edit', 'searchProviders', 'store', 'delete'],
  })
  allowedActions: string[];

  @ApiProperty({ description: 'Highest storage price per month the buyer asked for.', example: '3' })
  askedStoragePerMonth: string;

  @ApiProperty({ description: 'Highest running price per hour the buyer asked for.', example: '0.064386' })
  askedRunningPerHour: string;

  @ApiProperty({ description: 'Host the machine is stored on, or null while registered.', type: HostRefDto, nullable: true })
  host: HostRefDto | null;

  @ApiProperty({ description: 'Fixed storage charge per storage period, or null while registered.', example: '3', nullable: true, type: String })
  storagePrice: string | null;

  @ApiProperty({ description: 'Storage period in days, or null while registered.', example: 30, nullable: true, type: Number })
  storageAmount: number | null;

  @ApiProperty({ description: 'Fixed running charge per running period, or null while registered.', example: '2.448', nullable: true, type: String })
  runningPrice: string | null;

  @ApiProperty({ description: 'Running period in seconds, or null while registered.', example: 3600, nullable: true, type: Number })
  runningUnitAmount: number | null;

  @ApiProperty({ description: 'MAC address issued by the front-end.', example: '52:54:00:12:34:56' })
  macAddress: string;

  @ApiProperty({ description: 'Registration fee charged when the configuration was registered.', example: '0.05' })
  registrationFee: string;

  @ApiProperty({ description: 'Last failure of an action on this machine, or null.', example: null, nullable: true, type: String })
  lastError: string | null;

  @ApiProperty({ description: 'Install medium in its CD-ROM drive, or null.', type: MediaRefDto, nullable: true })
  media: MediaRefDto | null;

  @ApiProperty({
    description: 'How long a stop waits for the guest to power itself off after the ACPI power button before it powers the machine off by force, in seconds.',
    example: 30,
  })
  stopTimeoutSeconds: number;

  @ApiProperty({
    description:
      'True when the machine came with an installed operating system (a preconfigured image). False for a blank machine: nothing answers the power button unless the buyer installed a system, so its stop is forced after stopTimeoutSeconds.',
    example: true,
  })
  hasOperatingSystem: boolean;

  @ApiProperty({ description: 'When it was registered (ISO 8601).', example: '2026-11-25T10:00:00.000Z' })
  createdAt: string;
}

export const NO_OFFER_REASONS = ['size', 'price', 'offline', 'none'] as const;

/** Why a store search found no host, and what would fit (libs/domain explainNoOffer). */
export class NoOfferExplanationDto {
  @ApiProperty({
    description:
      'size: no online host has the speed, memory and disk free at once; price: online hosts have room, none within both asked prices; offline: the hosts with room are offline (or none is online); none: nothing stands in the way (or the market is empty).',
    enum: NO_OFFER_REASONS,
    example: 'price',
  })
  reason: string;

  @ApiProperty({
    description: 'A sentence for people: the reason and what would fit.',
    example: '3 hosts can hold it, the cheapest at 4.2 per month and 1.1 per hour: raise your asked running price to at least 1.1 per hour.',
  })
  message: string;

  @ApiProperty({ description: 'Online hosts with room for the size, whatever their prices.', example: 3 })
  hostsThatFitSize: number;

  @ApiProperty({
    description: 'Over those hosts, the lowest storage price per 30-day month for this machine; null when none has room.',
    example: '4.2',
    nullable: true,
    type: String,
  })
  cheapestStoragePerMonth: string | null;

  @ApiProperty({
    description: 'Over those hosts, the lowest running price per hour for this machine (maybe another host); null when none has room.',
    example: '1.1',
    nullable: true,
    type: String,
  })
  cheapestRunningPerHour: string | null;
}

/** A host that can hold a machine at the buyer's asked prices (report fig. 11). */
export class OfferDto {
  @ApiProperty({ description: 'Host id.', example: '7c9e6679-7425-40de-944b-e07fc1f90ae7' })
  hostId: string;

  @ApiProperty({ description: 'Host name.', example: 'virt8' })
  hostName: string;

  @ApiProperty({ description: 'Provider handle.', example: 'RsrcProvider' })
  owner: string;

  @ApiProperty({ description: 'Processor type.', example: 'Pentium3' })
  processor: string;

  @ApiProperty({ description: 'Connection speed.', example: '1Gbps' })
  connectionSpeed: string;

  @ApiProperty({ description: 'Storage charge per storage period for this machine.', example: '3' })
  storagePrice: string;

  @ApiProperty({ description: 'Storage period in days.', example: 30 })
  storageAmount: number;

  @ApiProperty({ description: 'Running charge per running period for this machine.', example: '2.448' })
  runningPrice: string;

  @ApiProperty({ description: 'Running period in seconds.', example: 3600 })
  runningUnitAmount: number;

  @ApiProperty({ description: 'The same storage price per month (30 days), to compare with the asked price.', example: '3' })
  storagePerMonth: string;

  @ApiProperty({ description: 'The same running price per hour, to compare with the asked price.', example: '2.448' })
  runningPerHour: string;

  @ApiProperty({ description: 'Free resources on the host.', type: ResourceAmountsDto })
  free: ResourceAmountsDto;
}
