import { ApiProperty } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsObject, IsOptional, Matches, ValidateNested } from 'class-validator';
import { IsWholeNumber } from '../validation';
import type {
  HostNetworkFacts,
  PortForward,
  PrivateNicConfig,
  VmNetworkConfig,
  VnetAdmission,
  VnetDesired,
  VnetHeld,
  VnetSyncCommand,
  VnetSyncResult,
  VnetUplink,
} from './network';

/** The guest networking messages of the agent protocol (network.ts describes them). */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const lowerCase = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value);
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** One OpenSSH public key line: type, base64 body, optional comment without control characters. */
export const SSH_PUBLIC_KEY =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\x00-\x1f\x7f]{0,200})?$/;
const SSH_KEY_MESSAGE = 'must be one OpenSSH public key line, e.g. "ssh-ed25519 AAAAC3Nza… me@laptop"';
/** Host names the guest gets (RFC 1123 label). */
const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
const HOST = /^[A-Za-z0-9.:[\]-]{1,255}$/;

export class PrivateNicConfigDto implements PrivateNicConfig {
  @Matches(UUID, { message: 'network.private.networkId must be a network id (a UUID)' })
  @Transform(lowerCase)
  networkId: string;

  @Matches(IPV4, { message: 'network.private.address must be an IPv4 address' })
  address: string;

  @IsWholeNumber('network.private.prefixLength', 8, 30)
  prefixLength: number;
}

export class VmNetworkConfigDto implements VmNetworkConfig {
  @IsOptional()
  @IsObject({ message: 'network.private must be an object { networkId, address, prefixLength }' })
  @ValidateNested()
  @Type(() => PrivateNicConfigDto)
  private?: PrivateNicConfigDto;

  @IsArray({ message: 'network.forwardPorts must be a list of TCP ports' })
  @ArrayMaxSize(8, { message: 'network.forwardPorts must hold at most 8 ports' })
  @IsWholeNumber('network.forwardPorts', 1, 65535, { each: true })
  forwardPorts: number[];

  @IsOptional()
  @IsArray({ message: 'network.preferredHostPorts must be a list of TCP ports' })
  @ArrayMaxSize(8, { message: 'network.preferredHostPorts must hold at most 8 ports' })
  @IsWholeNumber('network.preferredHostPorts', 1, 65535, { each: true })
  preferredHostPorts?: number[];

  @IsArray({ message: 'network.sshKeys must be a list of public keys' })
  @ArrayMaxSize(32, { message: 'network.sshKeys must hold at most 32 keys' })
  @Matches(SSH_PUBLIC_KEY, { each: true, message: `each of network.sshKeys ${SSH_KEY_MESSAGE}` })
  sshKeys: string[];

  @Matches(HOSTNAME, { message: "network.hostname must be 1 to 63 letters, digits or '-' (not first or last)" })
  hostname: string;
}

export class PortForwardDto implements PortForward {
  @ApiProperty({ description: 'TCP port inside the guest.', example: 22 })
  @IsWholeNumber('guestPort', 1, 65535)
  guestPort: number;

  @ApiProperty({ description: "TCP port on the provider's public address that reaches it.", example: 20022 })
  @IsWholeNumber('hostPort', 1, 65535)
  hostPort: number;
}

export class PortRangeDto {
  @ApiProperty({ description: 'First port of the range.', example: 20000 })
  @IsWholeNumber('facts.network.portRange.first', 1, 65535)
  first: number;

  @ApiProperty({ description: 'Last port of the range (inclusive).', example: 20999 })
  @IsWholeNumber('facts.network.portRange.last', 1, 65535)
  last: number;
}

export class HostNetworkFactsDto implements HostNetworkFacts {
  @ApiProperty({ description: 'Host name or address buyers use to reach forwarded ports.', example: 'rack7-slot2.example.net' })
  @Matches(HOST, { message: 'facts.network.publicHost must be a host name or address' })
  publicHost: string;

  @ApiProperty({ description: "The provider's range for forwarded ports (inclusive).", type: () => PortRangeDto })
  @IsObject({ message: 'facts.network.portRange must be an object { first, last }' })
  @ValidateNested()
  @Type(() => PortRangeDto)
  portRange: PortRangeDto;

  @ApiProperty({ description: 'Ports of the range in use now.', example: 3 })
  @IsWholeNumber('facts.network.portsInUse', 0, 65535)
  portsInUse: number;

  @ApiProperty({ description: "Outbound policy for guests: NAT'ed ('allow') or none.", enum: ['allow', 'none'], example: 'allow' })
  @IsIn(['allow', 'none'], { message: "facts.network.outbound must be 'allow' or 'none'" })
  outbound: 'allow' | 'none';

  @ApiProperty({ description: "Whether the host can carry buyers' private segments (VDE installed, a transfer sshd).", example: true })
  @IsBoolean({ message: 'facts.network.vnet must be true or false' })
  vnet: boolean;
}

export class VnetUplinkDto implements VnetUplink {
  @Matches(UUID, { message: 'uplink.agentId must be an agent id (a UUID)' })
  @Transform(lowerCase)
  agentId: string;

  @Matches(HOST, { message: 'uplink.host must be a host name or address' })
  host: string;

  @IsWholeNumber('uplink.sshPort', 1, 65535)
  sshPort: number;

  @Matches(/^[a-z_][a-z0-9_-]{0,31}$/, { message: 'uplink.sshUser must be a user name' })
  sshUser: string;

  @Matches(SSH_PUBLIC_KEY, { message: `uplink.hostKey ${SSH_KEY_MESSAGE}` })
  hostKey: string;
}

export class VnetAdmissionDto implements VnetAdmission {
  @Matches(SSH_PUBLIC_KEY, { message: `admit.publicKey ${SSH_KEY_MESSAGE}` })
  publicKey: string;

  @Matches(/^[A-Za-z0-9:._-]{1,80}$/, { message: 'admit.label must be 1 to 80 letters, digits or :._-' })
  label: string;
}

export class VnetDesiredDto implements VnetDesired {
  @Matches(UUID, { message: 'networkId must be a network id (a UUID)' })
  @Transform(lowerCase)
  networkId: string;

  @IsOptional()
  @IsObject({ message: 'uplink must be an object { agentId, host, sshPort, sshUser, hostKey }' })
  @ValidateNested()
  @Type(() => VnetUplinkDto)
  uplink?: VnetUplinkDto;

  @IsArray({ message: 'admit must be a list of { publicKey, label }' })
  @ArrayMaxSize(256, { message: 'admit must hold at most 256 keys' })
  @ValidateNested({ each: true })
  @Type(() => VnetAdmissionDto)
  admit: VnetAdmissionDto[];
}

export class VnetSyncCommandDto implements VnetSyncCommand {
  @IsArray({ message: 'networks must be a list' })
  @ArrayMaxSize(4096, { message: 'networks must hold at most 4096 networks' })
  @ValidateNested({ each: true })
  @Type(() => VnetDesiredDto)
  networks: VnetDesiredDto[];
}

export class VnetHeldDto implements VnetHeld {
  @Matches(UUID, { message: 'networkId must be a network id (a UUID)' })
  @Transform(lowerCase)
  networkId: string;

  @IsBoolean({ message: 'switchUp must be true or false' })
  switchUp: boolean;

  @IsOptional()
  @Matches(SSH_PUBLIC_KEY, { message: `uplinkPublicKey ${SSH_KEY_MESSAGE}` })
  uplinkPublicKey?: string;

  @IsIn(['none', 'connecting', 'up'], { message: "uplink must be 'none', 'connecting' or 'up'" })
  uplink: 'none' | 'connecting' | 'up';

  @IsWholeNumber('machines', 0, 100_000)
  machines: number;
}

export class VnetSyncResultDto implements VnetSyncResult {
  @IsArray({ message: 'networks must be a list' })
  @ValidateNested({ each: true })
  @Type(() => VnetHeldDto)
  networks: VnetHeldDto[];
}

/** Text and length limits shared with the API's ssh key DTOs. */
export const SSH_KEY_LIMITS = { maxLength: 16_384, message: SSH_KEY_MESSAGE } as const;
