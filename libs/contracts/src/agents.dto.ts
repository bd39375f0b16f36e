import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsObject, IsOptional, IsString, IsUUID, Length, Matches, Max, Min, ValidateNested } from 'class-validator';
import type { TransferEndpoint } from './agent/migration';
import { HostNetworkFactsDto } from './agent/network.dto';
import type { HostFacts, JoinRequest, JoinResponse } from './agent/protocol';
import type { SignedEnvelope } from './agent/signing';
import { IsWholeNumber, NoControlCharacters } from './validation';

/** Where and how a destination pulls a machine from this agent (docs/ARCHITECTURE.md §7). */
export class TransferEndpointDto implements TransferEndpoint {
  @ApiProperty({ description: "Port of the agent's transfer sshd.", example: 7302 })
  @IsWholeNumber('facts.transfer.sshPort', 1, 65535)
  sshPort: number;

  @ApiProperty({ description: 'User a destination logs in as.', example: 'virtuoso' })
  @Matches(/^[a-z_][a-z0-9_.-]{0,31}$/i, { message: 'facts.transfer.sshUser must be a user name' })
  sshUser: string;

  @ApiProperty({ description: "The sshd's public host key.", example: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI...' })
  @Matches(/^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521|ssh-rsa) [A-Za-z0-9+/]+={0,3}( [\x21-\x7e]{1,100})?$/, {
    message: 'facts.transfer.hostKey must be an OpenSSH public key line',
  })
  hostKey: string;

  @ApiProperty({ description: "The host key's SHA256 fingerprint.", example: 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU' })
  @Matches(/^SHA256:[A-Za-z0-9+/]{43}$/, { message: 'facts.transfer.fingerprint must be an SHA256 fingerprint (SHA256:…)' })
  fingerprint: string;
}

/** What a provider agent measured on its host (report §6.2.1 virt_machine_info.pm). */
export class HostFactsDto implements HostFacts {
  @ApiProperty({ description: 'Sum of bogomips over /proc/cpuinfo, rounded down.', example: 10399 })
  @IsWholeNumber('facts.bogomips', 0, 1_000_000_000)
  bogomips: number;

  @ApiProperty({ description: 'Number of CPUs.', example: 2 })
  @IsWholeNumber('facts.cpus', 1, 100_000)
  cpus: number;

  @ApiProperty({ description: 'Total memory in MB.', example: 24105 })
  @IsWholeNumber('facts.memoryMb', 1, 1_000_000_000)
  memoryMb: number;

  @ApiProperty({ description: 'Free disk in MB where the agent keeps machines.', example: 51200 })
  @IsWholeNumber('facts.freeDiskMb', 0, 1_000_000_000_000)
  freeDiskMb: number;

  @ApiProperty({ description: "Accelerator the agent's boot probe chose: kvm or tcg.", example: 'tcg' })
  @IsString()
  @Length(1, 20, { message: 'facts.accelerator must be 1 to 20 characters' })
  accelerator: string;

  @ApiProperty({ description: 'Version of the provider agent.', example: '0.1.0' })
  @IsString()
  @Length(1, 40, { message: 'facts.agentVersion must be 1 to 40 characters' })
  agentVersion: string;

  @ApiProperty({ description: 'Host name of the machine the agent runs on.', example: 'rack7-slot2' })
  @IsString()
  @Length(1, 255, { message: 'facts.hostname must be 1 to 255 characters' })
  @NoControlCharacters('facts.hostname')
  hostname: string;

  @ApiPropertyOptional({ description: "The agent's transfer sshd (migration origin), when it runs one.", type: () => TransferEndpointDto })
  @IsOptional()
  @IsObject({ message: 'facts.transfer must be an object { sshPort, sshUser, hostKey, fingerprint }' })
  @ValidateNested({ message: 'facts.transfer must be an object { sshPort, sshUser, hostKey, fingerprint }' })
  @Type(() => TransferEndpointDto)
  transfer?: TransferEndpointDto;

  @ApiPropertyOptional({ description: 'Guest networking on this host: public host, forwarded port range, outbound policy.', type: () => HostNetworkFactsDto })
  @IsOptional()
  @IsObject({ message: 'facts.network must be an object { publicHost, portRange, portsInUse, outbound, vnet }' })
  @ValidateNested()
  @Type(() => HostNetworkFactsDto)
  network?: HostNetworkFactsDto;
}

export class CreateJoinTokenDto {
  @ApiPropertyOptional({
    description: 'A host of yours added by hand that has no agent yet: the agent that joins with this token becomes its agent.',
    example: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
  })
  @IsOptional()
  @IsUUID('all', { message: 'hostId must be a host id' })
  hostId?: string;
}

/** A one-time join token, shown once (report fig. 27's "add machine" grows a step: install the agent). */
export class JoinTokenDto {
  @ApiProperty({ description: 'Token id: poll GET /api/agents/join-tokens/{id} to see the agent join.', example: '3f2a1b0c-9d8e-4c65-8b7a-2f1e0d9c8b7a' })
  id: string;

  @ApiProperty({ description: 'The one-time join token (shown only here; stored hashed).', example: 'vj_Yp3m0bB2c4d5e6f7g8h9i0j1k2l3m4n5o6p7q8r9s0' })
  token: string;

  @ApiProperty({ description: 'When the token stops working (ISO 8601), one hour after it was made.', example: '2026-11-25T11:00:00.000Z' })
  expiresAt: string;

  @ApiProperty({
    description: 'The command that starts a provider agent on the host and joins it with this token.',
    example: 'npm run agent -- --frontend http://127.0.0.1:8080 --join vj_Yp3m... --data ~/.virtuoso/agent-3f2a1b0c --port 7103 --console-port 7203',
  })
  command: string;

  @ApiProperty({
    description:
      'The one line that installs the provider agent on a fresh Debian 12 host and joins it with this token: the install script this API serves (GET /install-agent.sh) under systemd as the virtuoso user. Same ports as `command`.',
    example: 'curl -fsSL http://127.0.0.1:8080/install-agent.sh | sudo bash -s -- --join vj_Yp3m... --port 7103 --console-port 7203',
  })
  installCommand: string;

  @ApiProperty({
    description:
      "Command port the command suggests: held by no agent the market knows, nor by another waiting join token, and free on the API's machine when the request came from it.",
    example: 7103,
  })
  agentPort: number;

  @ApiProperty({ description: 'Console port the command suggests, chosen the same way (agentPort + 100 when free).', example: 7203 })
  consolePort: number;
}

/** A joined agent as the "add host" form uses it: where it listens and what it measured. */
export class JoinedAgentDto {
  @ApiProperty({ description: 'Agent id (send it as agentId when adding the host).', example: '9b2d3a4c-1111-4a53-9d0e-6c1f0f2f9b11' })
  agentId: string;

  @ApiProperty({ description: 'Address the front-end reaches the agent at.', example: '127.0.0.1' })
  agentHost: string;

  @ApiProperty({ description: "The agent's command port.", example: 7101 })
  agentPort: number;

  @ApiProperty({ description: "The agent's console port.", example: 7102 })
  consolePort: number;

  @ApiProperty({ description: 'Host facts the agent measured; they cap the totals of the host.', type: HostFactsDto })
  facts: HostFactsDto;
}

export class JoinTokenStatusDto {
  @ApiProperty({ description: 'Token id.', example: '3f2a1b0c-9d8e-4c65-8b7a-2f1e0d9c8b7a' })
  id: string;

  @ApiProperty({ description: 'When the token stops working (ISO 8601).', example: '2026-11-25T11:00:00.000Z' })
  expiresAt: string;

  @ApiProperty({ description: 'True once an agent has joined with the token.', example: true })
  joined: boolean;

  @ApiProperty({ description: 'The agent that joined with the token, or null.', type: JoinedAgentDto, nullable: true })
  agent: JoinedAgentDto | null;
}

/** One of a provider's agents (GET /api/agents). */
export class AgentDto extends JoinedAgentDto {
  @ApiProperty({ description: 'True when the agent sent a heartbeat recently.', example: true })
  online: boolean;

  @ApiProperty({ description: 'When its last heartbeat arrived (ISO 8601), or null.', example: '2026-11-25T10:00:05.000Z', nullable: true, type: String })
  lastHeartbeatAt: string | null;

  @ApiProperty({ description: 'When it joined (ISO 8601).', example: '2026-11-25T10:00:00.000Z' })
  joinedAt: string;

  @ApiProperty({
    description: 'The host it serves, or null while no host uses it.',
    example: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
    nullable: true,
    type: String,
  })
  hostId: string | null;

  @ApiProperty({ description: 'Name of the host it serves, or null.', example: 'virt8', nullable: true, type: String })
  hostName: string | null;
}

/** POST /api/agents/join: the agent's first call, authenticated by the one-time token. */
export class JoinRequestDto implements JoinRequest {
  @ApiProperty({ description: 'The one-time join token from the "add host" page.', example: 'vj_Yp3m0bB2c4d5e6f7g8h9i0j1k2l3m4n5o6p7q8r9s0' })
  @IsString()
  @Length(1, 200, { message: 'joinToken must be 1 to 200 characters' })
  joinToken: string;

  @ApiProperty({ description: "Where the front-end reaches the agent's command and console ports.", example: '127.0.0.1' })
  @IsString()
  @Matches(/^[A-Za-z0-9.:-]{1,255}$/, { message: 'agentHost must be a host name or IP address' })
  agentHost: string;

  @ApiProperty({ description: 'Command port (NestJS TCP transport).', example: 7101 })
  @IsInt({ message: 'agentPort must be a whole number' })
  @Min(1, { message: 'agentPort must be at least 1' })
  @Max(65535, { message: 'agentPort must be at most 65535' })
  agentPort: number;

  @ApiProperty({ description: 'Console relay port.', example: 7102 })
  @IsInt({ message: 'consolePort must be a whole number' })
  @Min(1, { message: 'consolePort must be at least 1' })
  @Max(65535, { message: 'consolePort must be at most 65535' })
  consolePort: number;

  @ApiProperty({ description: 'What the agent measured on its host.', type: HostFactsDto })
  @ValidateNested()
  @Type(() => HostFactsDto)
  facts: HostFactsDto;
}

export class JoinResponseDto implements JoinResponse {
  @ApiProperty({ description: "The agent's identity.", example: '9b2d3a4c-1111-4a53-9d0e-6c1f0f2f9b11' })
  agentId: string;

  @ApiProperty({ description: 'The shared HMAC secret (64 hex digits). Returned once, never again.', example: '5c1f0e2d...' })
  secret: string;
}

/**
 * A message signed with an agent's secret (libs/contracts agent/signing.ts). Documentation only: the
 * routes that take one verify it themselves, so anything unsigned is a 401, not a validation 400.
 */
export class SignedEnvelopeDto implements SignedEnvelope {
  @ApiProperty({ description: 'Agent id the secret belongs to.', example: '9b2d3a4c-1111-4a53-9d0e-6c1f0f2f9b11' })
  agentId: string;

  @ApiProperty({ description: "Milliseconds since the epoch on the sender's clock.", example: 1795600000000 })
  ts: number;

  @ApiProperty({ description: '16 random bytes, hex.', example: '0f1e2d3c4b5a69788796a5b4c3d2e1f0' })
  nonce: string;

  @ApiProperty({
    description: 'The message as JSON text, signed as is (for a heartbeat: agentId, facts, vms, events).',
    example: '{"agentId":"9b2d...","facts":{},"vms":[],"events":[]}',
  })
  body: string;

  @ApiProperty({ description: 'HMAC-SHA256 of `${channel}\\n${ts}\\n${nonce}\\n${body}`, hex.', example: 'a3f1...' })
  sig: string;
}
