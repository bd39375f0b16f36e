import { Transform, Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsObject, IsOptional, IsString, Length, Matches, MaxLength, ValidateNested } from 'class-validator';
import { VMMP_METHODS, type VmmpMethod } from '@virtuoso/domain';
import { IsWholeNumber } from '../validation';
import {
  MIGRATION_FILES,
  type ManifestFile,
  type MigrationAgentPhase,
  type MigrationExportCommand,
  type MigrationExportResult,
  type MigrationFileName,
  type MigrationFinishCommand,
  type MigrationFinishResult,
  type MigrationPrepareCommand,
  type MigrationPrepareResult,
  type MigrationQueryCommand,
  type MigrationQueryResult,
  type MigrationReport,
  type MigrationRequestCommand,
  type MigrationRequestResult,
  type MigrationStatusCommand,
  type MigrationStatusResult,
} from './migration';

/** The migration messages of migration.ts as class-validator DTOs (checked on arrival at either end). */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SHA256 = /^[0-9a-f]{64}$/i;
/** One OpenSSH public key: type, base64 blob, optional comment without control characters. */
const PUBLIC_KEY = /^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|ssh-rsa) [A-Za-z0-9+/]+={0,3}( [\x21-\x7e]{1,100})?$/;
const lowerCase = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value);
const BYTES_MAX = Number.MAX_SAFE_INTEGER;
const VMMP_TEXT = 'must be a VMMP message in its text form, e.g. <VMMP 1.0 QUERY <machine-id> METHODS>';
const PHASES: MigrationAgentPhase[] = ['prepared', 'exported', 'pulling', 'verified', 'failed', 'finished', 'none'];

class MigrationRefDto {
  @Matches(UUID, { message: 'migrationId must be a migration id (a UUID)' })
  @Transform(lowerCase)
  migrationId: string;

  @Matches(UUID, { message: 'machineId must be a machine id (a UUID)' })
  @Transform(lowerCase)
  machineId: string;
}

export class MigrationVmmpDto implements MigrationQueryCommand, MigrationQueryResult {
  @IsString({ message: `vmmp ${VMMP_TEXT}` })
  @Matches(/^<VMMP [^<>]{1,1000}>$/, { message: `vmmp ${VMMP_TEXT}` })
  vmmp: string;
}

export class ManifestFileDto implements ManifestFile {
  @IsIn(MIGRATION_FILES, { message: `files[].name must be one of ${MIGRATION_FILES.join(', ')}` })
  name: MigrationFileName;

  @IsWholeNumber('size', 0, BYTES_MAX)
  size: number;

  @Matches(SHA256, { message: 'files[].sha256 must be 64 hex digits' })
  @Transform(lowerCase)
  sha256: string;
}

export class MigrationPrepareCommandDto extends MigrationRefDto implements MigrationPrepareCommand {
  @IsIn(VMMP_METHODS, { message: `method must be one of ${VMMP_METHODS.join(', ')}` })
  method: VmmpMethod;
}

export class MigrationPrepareResultDto implements MigrationPrepareResult {
  @Matches(UUID, { message: 'migrationId must be a migration id (a UUID)' })
  migrationId: string;

  @IsString({ message: 'publicKey must be an OpenSSH public key line' })
  @Matches(PUBLIC_KEY, { message: 'publicKey must be an OpenSSH public key line (type, key, optional comment)' })
  publicKey: string;
}

export class MigrationExportCommandDto extends MigrationRefDto implements MigrationExportCommand {
  @IsWholeNumber('version', 0, BYTES_MAX)
  version: number;

  @IsIn(VMMP_METHODS, { message: `method must be one of ${VMMP_METHODS.join(', ')}` })
  method: VmmpMethod;

  @IsString({ message: 'publicKey must be an OpenSSH public key line' })
  @Matches(PUBLIC_KEY, { message: 'publicKey must be an OpenSSH public key line (type, key, optional comment)' })
  publicKey: string;
}

export class MigrationExportResultDto extends MigrationRefDto implements MigrationExportResult {
  @IsWholeNumber('version', 0, BYTES_MAX)
  version: number;

  @IsIn(['stopped', 'suspended'], { message: 'state must be stopped or suspended' })
  state: 'stopped' | 'suspended';

  @IsArray({ message: 'files must be a list' })
  @ArrayMaxSize(MIGRATION_FILES.length, { message: `files lists at most ${MIGRATION_FILES.length} files` })
  @ValidateNested({ each: true, message: 'files must be a list of { name, size, sha256 }' })
  @Type(() => ManifestFileDto)
  files: ManifestFileDto[];
}

export class MigrationOriginKeyDto {
  @IsString({ message: 'origin.sshUser must be a user name' })
  @Matches(/^[a-z_][a-z0-9_.-]{0,31}$/i, { message: 'origin.sshUser must be a user name' })
  sshUser: string;

  @IsString({ message: 'origin.hostKey must be an OpenSSH public key line' })
  @Matches(PUBLIC_KEY, { message: 'origin.hostKey must be an OpenSSH public key line' })
  hostKey: string;
}

export class MigrationMachineDto {
  @Matches(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i, { message: 'machine.mac must be a MAC address such as 52:54:00:12:34:56' })
  mac: string;

  @IsWholeNumber('machine.vcpus', 1, 256)
  vcpus: number;

  @IsWholeNumber('machine.memoryMb', 16, 4 * 1024 * 1024)
  memoryMb: number;

  @IsWholeNumber('machine.diskMb', 1, 64 * 1024 * 1024)
  diskMb: number;
}

export class MigrationRequestCommandDto implements MigrationRequestCommand {
  @Matches(UUID, { message: 'migrationId must be a migration id (a UUID)' })
  @Transform(lowerCase)
  migrationId: string;

  @IsString({ message: `vmmp ${VMMP_TEXT}` })
  @Matches(/^<VMMP [^<>]{1,1000}>$/, { message: `vmmp ${VMMP_TEXT}` })
  vmmp: string;

  @IsObject({ message: 'origin must be an object { sshUser, hostKey }' })
  @ValidateNested({ message: 'origin must be an object { sshUser, hostKey }' })
  @Type(() => MigrationOriginKeyDto)
  origin: MigrationOriginKeyDto;

  @IsArray({ message: 'files must be a list' })
  @ArrayMaxSize(MIGRATION_FILES.length, { message: `files lists at most ${MIGRATION_FILES.length} files` })
  @ValidateNested({ each: true, message: 'files must be a list of { name, size, sha256 }' })
  @Type(() => ManifestFileDto)
  files: ManifestFileDto[];

  @IsObject({ message: 'machine must be an object { mac, vcpus, memoryMb, diskMb }' })
  @ValidateNested({ message: 'machine must be an object { mac, vcpus, memoryMb, diskMb }' })
  @Type(() => MigrationMachineDto)
  machine: MigrationMachineDto;
}

export class MigrationRequestResultDto implements MigrationRequestResult {
  @Matches(UUID, { message: 'migrationId must be a migration id (a UUID)' })
  migrationId: string;

  @IsIn([true], { message: 'accepted must be true' })
  accepted: true;
}

export class MigrationStatusCommandDto extends MigrationRefDto implements MigrationStatusCommand {}

export class MigrationStatusResultDto extends MigrationRefDto implements MigrationStatusResult {
  @IsIn(['origin', 'destination', 'none'], { message: 'role must be origin, destination or none' })
  role: 'origin' | 'destination' | 'none';

  @IsIn(PHASES, { message: `phase must be one of ${PHASES.join(', ')}` })
  phase: MigrationAgentPhase;

  @IsOptional()
  @IsWholeNumber('version', 0, BYTES_MAX)
  version?: number;

  @IsOptional()
  @IsString({ message: 'error must be a text' })
  @MaxLength(2000, { message: 'error must be at most 2000 characters' })
  error?: string;
}

export class MigrationFinishCommandDto extends MigrationRefDto implements MigrationFinishCommand {
  @IsIn(['commit', 'abort'], { message: 'outcome must be commit or abort' })
  outcome: 'commit' | 'abort';

  @IsOptional()
  @IsString({ message: 'reason must be a text' })
  @MaxLength(2000, { message: 'reason must be at most 2000 characters' })
  reason?: string;
}

export class MigrationFinishResultDto extends MigrationRefDto implements MigrationFinishResult {
  @IsIn(['origin', 'destination', 'none'], { message: 'role must be origin, destination or none' })
  role: 'origin' | 'destination' | 'none';

  @IsIn(['commit', 'abort'], { message: 'outcome must be commit or abort' })
  outcome: 'commit' | 'abort';
}

export class MigrationTransferDto {
  @IsWholeNumber('transfer.bytesReceived', 0, BYTES_MAX)
  bytesReceived: number;

  @IsWholeNumber('transfer.durationMs', 0, BYTES_MAX)
  durationMs: number;
}

/** The body of POST MIGRATION_REPORT_PATH. */
export class MigrationReportDto implements MigrationReport {
  @IsString({ message: 'agentId must be a text' })
  @Length(1, 64, { message: 'agentId must be 1 to 64 characters' })
  agentId: string;

  @Matches(UUID, { message: 'migrationId must be a migration id (a UUID)' })
  @Transform(lowerCase)
  migrationId: string;

  @IsString({ message: `vmmp ${VMMP_TEXT}` })
  @Matches(/^<VMMP [^<>]{1,2000}>$/, { message: `vmmp ${VMMP_TEXT}` })
  vmmp: string;

  @IsOptional()
  @IsObject({ message: 'transfer must be an object { bytesReceived, durationMs }' })
  @ValidateNested({ message: 'transfer must be an object { bytesReceived, durationMs }' })
  @Type(() => MigrationTransferDto)
  transfer?: MigrationTransferDto;
}
