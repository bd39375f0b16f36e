import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsUUID } from 'class-validator';
import { VMMP_METHODS, type VmmpMethod } from '@virtuoso/domain';
import { ResourceAmountsDto } from './hosts.dto';

/**
 * Migration between providers as the API shows it (report §7, fig. 20 and 21; docs/ARCHITECTURE.md §7).
 *
 * Phases of a migration row:
 *   preparing     the destination's resources are reserved and the machine is `migrating`; the
 *                 front-end asks the destination for a one-time key and the origin to export
 *   transferring  the destination accepted the REQ and pulls the machine, heartbeating progress
 *   committing    the destination answered RESP SUCCESS; the commit transaction runs
 *   committed     the machine lives at the destination at version + 1 (final)
 *   rolled-back   any failure or a cancel: the machine is back on the origin in its previous state
 *                 and version, no money moved, `error` says why (final)
 * `cleanup` says whether both agents have acknowledged the end (key removed, copy discarded or
 * promoted, origin's copy turned into a cache); the front-end retries until they have.
 */
export const MIGRATION_PHASES = ['preparing', 'transferring', 'committing', 'committed', 'rolled-back'] as const;
export type MigrationPhase = (typeof MIGRATION_PHASES)[number];
/** Phases in which the migration is still under way. */
export const ACTIVE_MIGRATION_PHASES: readonly MigrationPhase[] = ['preparing', 'transferring', 'committing'];

/** The methods a buyer may choose today (REDOLOG and LIVE are VMMP words no agent offers yet). */
export const OFFERED_MIGRATION_METHODS = ['SCP', 'RSYNC'] as const satisfies readonly VmmpMethod[];

/** POST /api/machines/{id}/migrate */
export class StartMigrationDto {
  @ApiProperty({ description: 'The destination host (one of GET /api/machines/{id}/migration-offers).', example: '7c9e6679-7425-40de-944b-e07fc1f90ae7' })
  @IsUUID('all', { message: 'hostId must be a host id' })
  hostId: string;

  @ApiProperty({
    description: 'How the machine travels: SCP (a full copy) or RSYNC (only what changed since a copy the destination holds).',
    enum: VMMP_METHODS,
    example: 'RSYNC',
  })
  @IsIn(VMMP_METHODS, { message: `method must be one of ${VMMP_METHODS.join(', ')}` })
  method: VmmpMethod;
}

/** A host the machine could move to (fig. 20): its prices, free room and the methods its agent answered. */
export class MigrationOfferDto {
  @ApiProperty({ description: 'Host id.', example: '7c9e6679-7425-40de-944b-e07fc1f90ae7' })
  hostId: string;

  @ApiProperty({ description: 'Host name.', example: 'virt13' })
  hostName: string;

  @ApiProperty({ description: 'Provider handle.', example: 'RsrcProvider' })
  owner: string;

  @ApiProperty({ description: 'Processor type.', example: 'Pentium3' })
  processor: string;

  @ApiProperty({ description: 'Connection speed.', example: '1Gbps' })
  connectionSpeed: string;

  @ApiProperty({ description: 'Storage charge per storage period for this machine at this host.', example: '3' })
  storagePrice: string;

  @ApiProperty({ description: 'Storage period in days.', example: 30 })
  storageAmount: number;

  @ApiProperty({ description: 'Running charge per running period for this machine at this host.', example: '2.448' })
  runningPrice: string;

  @ApiProperty({ description: 'Running period in seconds.', example: 3600 })
  runningUnitAmount: number;

  @ApiProperty({ description: 'The storage price per month (30 days), to compare with the asked price.', example: '3' })
  storagePerMonth: string;

  @ApiProperty({ description: 'The running price per hour, to compare with the asked price.', example: '2.448' })
  runningPerHour: string;

  @ApiProperty({ description: "Whether both rates are within the machine's asked prices (fig. 20 lists hosts above them too).", example: true })
  withinAsked: boolean;

  @ApiProperty({ description: 'Free resources on the host.', type: ResourceAmountsDto })
  free: ResourceAmountsDto;

  @ApiProperty({
    description: "Migration methods the host's agent answered to the VMMP QUERY; empty when it did not answer (the host cannot be chosen).",
    enum: VMMP_METHODS,
    isArray: true,
    example: ['SCP', 'RSYNC'],
  })
  methods: VmmpMethod[];

  @ApiPropertyOptional({
    description: 'Why the host offers no method (no answer within the bound, agent offline, …).',
    example: 'its agent did not answer within 2 s',
  })
  unavailable?: string;

  @ApiProperty({
    description: "The VMMP exchange, in the report's text form.",
    example: ['<VMMP 1.0 QUERY 0f8fad5b-d9cb-469f-a165-70867728950e METHODS>', '<VMMP 1.0 RESULTS 0f8fad5b-d9cb-469f-a165-70867728950e 2 SCP RSYNC>'],
  })
  vmmp: string[];
}

export class MigrationLogLineDto {
  @ApiProperty({ description: 'When (ISO 8601).', example: '2026-12-05T10:00:00.000Z' })
  at: string;

  @ApiProperty({
    description: "A VMMP message in the report's text form, or what the front-end did.",
    example: '<VMMP 1.0 HEARTBEAT 0f8fad5b-d9cb-469f-a165-70867728950e 1048576 67108864 5242880>',
  })
  text: string;
}

/** A migration of a machine (GET /api/machines/{id}/migration, …/migrations). */
export class MigrationDto {
  @ApiProperty({ description: 'Migration id.', example: '9b2d3a4c-1111-4a53-9d0e-6c1f0f2f9b11' })
  id: string;

  @ApiProperty({ description: 'Machine id.', example: '0f8fad5b-d9cb-469f-a165-70867728950e' })
  machineId: string;

  @ApiProperty({ description: 'Origin host id.', example: '5d8a7b1e-3f0c-4b8e-9a51-2c6f0e7d4a10' })
  fromHostId: string;

  @ApiProperty({ description: 'Origin host name.', example: 'virt8' })
  fromHostName: string;

  @ApiProperty({ description: 'Destination host id.', example: '7c9e6679-7425-40de-944b-e07fc1f90ae7' })
  toHostId: string;

  @ApiProperty({ description: 'Destination host name.', example: 'virt13' })
  toHostName: string;

  @ApiProperty({ description: 'Transfer method.', enum: VMMP_METHODS, example: 'RSYNC' })
  method: VmmpMethod;

  @ApiProperty({ description: 'Phase (see the API description of migrations).', enum: MIGRATION_PHASES, example: 'transferring' })
  phase: MigrationPhase;

  @ApiProperty({ description: 'Whether both agents have acknowledged the end (key removed, copies settled).', example: false })
  cleanedUp: boolean;

  @ApiProperty({ description: 'The state the machine left and returns to (stored, stopped or suspended).', example: 'stopped' })
  previousState: string;

  @ApiProperty({ description: 'Machine version when the migration started.', example: 3 })
  fromVersion: number;

  @ApiPropertyOptional({ description: 'Version at the destination once committed (fromVersion + 1).', example: 4, nullable: true, type: Number })
  toVersion: number | null;

  @ApiProperty({ description: 'Bytes copied so far.', example: 1048576 })
  bytesDone: number;

  @ApiProperty({ description: 'Bytes to copy in all (the manifest), 0 until the origin exported.', example: 67108864 })
  bytesTotal: number;

  @ApiProperty({ description: 'Copy rate over the last heartbeats, bytes per second.', example: 5242880 })
  bytesPerSecond: number;

  @ApiPropertyOptional({ description: 'Seconds left at the current rate; null when unknown.', example: 12, nullable: true, type: Number })
  secondsLeft: number | null;

  @ApiPropertyOptional({ description: 'Bytes that crossed the wire (what rsync or scp received), once done.', example: 10485760, nullable: true, type: Number })
  bytesTransferred: number | null;

  @ApiPropertyOptional({ description: 'How long the copy took (ms), once done.', nullable: true, type: Number, example: 2150 })
  transferMs: number | null;

  @ApiPropertyOptional({ description: 'Last heartbeat from the destination (ISO 8601).', nullable: true, type: String, example: '2026-12-05T10:00:03.000Z' })
  lastHeartbeatAt: string | null;

  @ApiPropertyOptional({ description: 'Why it rolled back.', nullable: true, type: String, example: 'the destination sent no heartbeat for 15 s' })
  error: string | null;

  @ApiProperty({ description: 'Storage charge per period at the destination (charged on arrival, report §5.1.6).', example: '0.1536' })
  storagePrice: string;

  @ApiProperty({ description: 'Storage period in days at the destination.', example: 30 })
  storageAmount: number;

  @ApiProperty({ description: 'Running charge per period at the destination.', example: '0.9792' })
  runningPrice: string;

  @ApiProperty({ description: 'Running period in seconds at the destination.', example: 3600 })
  runningUnitAmount: number;

  @ApiProperty({ description: 'Started (ISO 8601).', example: '2026-12-05T10:00:00.000Z' })
  startedAt: string;

  @ApiPropertyOptional({ description: 'Committed or rolled back (ISO 8601).', nullable: true, type: String, example: '2026-12-05T10:00:05.000Z' })
  finishedAt: string | null;

  @ApiProperty({
    description: "The VMMP messages and the front-end's steps, in order, in the report's text form.",
    type: MigrationLogLineDto,
    isArray: true,
    example: [],
  })
  log: MigrationLogLineDto[];
}
