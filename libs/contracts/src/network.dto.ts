import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsOptional, IsString, Length, Matches, MaxLength } from 'class-validator';
import { PortForwardDto, SSH_PUBLIC_KEY } from './agent/network.dto';
import { IsWholeNumber, NoControlCharacters } from './validation';

/**
 * Guest networking in the public API (docs/ARCHITECTURE.md §11): the buyer's ssh keys, a machine's
 * network (private address, forwarded ports, the ssh command), the buyer's private network (VNET)
 * and how the buyer's own computer joins it.
 */

const trimmed = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class CreateSshKeyDto {
  @ApiProperty({ description: 'A name for the key, shown on the account page.', example: 'laptop' })
  @IsString({ message: 'name must be a text' })
  @Length(1, 80, { message: 'name must be 1 to 80 characters' })
  @NoControlCharacters('name')
  @Transform(trimmed)
  name: string;

  @ApiProperty({
    description: 'One OpenSSH public key line (as in ~/.ssh/id_ed25519.pub).',
    example: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@laptop',
  })
  @IsString({ message: 'publicKey must be a text' })
  @MaxLength(16_384, { message: 'publicKey must be at most 16384 characters' })
  @Transform(trimmed)
  @Matches(SSH_PUBLIC_KEY, { message: 'publicKey must be one OpenSSH public key line, e.g. "ssh-ed25519 AAAAC3Nza… me@laptop"' })
  publicKey: string;
}

export class SshKeyDto {
  @ApiProperty({ description: 'Key id.', example: '0b7e2c7e-5a3c-4a7e-9d0e-3f5c1d2b4a6f' })
  id: string;

  @ApiProperty({ description: 'Its name on the account page.', example: 'laptop' })
  name: string;

  @ApiProperty({
    description: 'The public key line as given.',
    example: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@laptop',
  })
  publicKey: string;

  @ApiProperty({ description: 'Key type.', example: 'ssh-ed25519' })
  type: string;

  @ApiProperty({ description: 'SHA256 fingerprint as ssh-keygen -l prints it.', example: 'SHA256:Uu0uZ0YbQ2tmb8qk9l8V7m3u0wq1o6+vF3S5xYh0c2Q' })
  fingerprint: string;

  @ApiProperty({ description: 'When it was added (ISO 8601).', example: '2026-12-05T10:00:00.000Z' })
  createdAt: string;
}

export class SetForwardedPortsDto {
  @ApiProperty({
    description: 'Guest TCP ports to forward besides ssh (22 is always forwarded): at most 7, each once. Takes effect at the next start or resume.',
    example: [80, 443],
    type: [Number],
  })
  @IsWholeNumber('ports', 1, 65535, { each: true })
  @ArrayMaxSize(7, { message: 'ports must hold at most 7 ports (ssh is always forwarded besides)' })
  // Listed last so that its message comes first for a body that is not a list at all.
  @IsArray({ message: 'ports must be a list of TCP ports' })
  ports: number[];
}

export class MachineNetworkDto {
  @ApiProperty({
    description: "The machine's Ethernet address on its private network (issued by the market; kept when it migrates).",
    example: '52:54:00:3a:1f:07',
  })
  mac: string;

  @ApiProperty({ description: 'Its address on the private network (kept when it migrates).', example: '10.64.3.10', nullable: true, type: String })
  privateAddress: string | null;

  @ApiProperty({ description: "The private network's subnet.", example: '10.64.3.0/24' })
  subnet: string;

  @ApiProperty({ description: 'Guest TCP ports forwarded when it runs, ssh (22) first.', example: [22, 80], type: [Number] })
  forwardPorts: number[];

  @ApiProperty({
    description: 'While running: the forwarded ports, host port → guest port; empty otherwise.',
    type: [PortForwardDto],
    example: [
      { guestPort: 22, hostPort: 20022 },
      { guestPort: 80, hostPort: 20023 },
    ],
  })
  forwards: PortForwardDto[];

  @ApiProperty({
    description: "The provider's address for its forwarded ports, while stored on a host.",
    example: 'rack7-slot2.example.net',
    nullable: true,
    type: String,
  })
  publicHost: string | null;

  @ApiProperty({
    description: 'While running: the command that logs in as root with one of your keys.',
    example: 'ssh -p 20022 root@rack7-slot2.example.net',
    nullable: true,
    type: String,
  })
  sshCommand: string | null;

  @ApiProperty({ description: "The host's outbound policy for guests, while stored on a host.", enum: ['allow', 'none'], example: 'allow', nullable: true })
  outbound: 'allow' | 'none' | null;
}

export class NetworkMemberDto {
  @ApiProperty({ description: 'The machine id.', example: '7c9e6679-7425-40de-944b-e07fc1f90ae7' })
  machineId: string;

  @ApiProperty({ description: "The machine's name.", example: 'web-1' })
  name: string;

  @ApiProperty({ description: 'Its private address.', example: '10.64.3.10' })
  address: string;

  @ApiProperty({ description: 'Its Ethernet address.', example: '52:54:00:3a:1f:07' })
  mac: string;

  @ApiProperty({ description: "The machine's state.", example: 'running' })
  state: string;

  @ApiProperty({ description: 'The host it is stored on.', example: 'rack7-slot2', nullable: true, type: String })
  hostName: string | null;
}

export class NetworkDto {
  @ApiProperty({ description: 'Network id (the agents name its switch by it).', example: '5f0c7a9e-1b2d-4c3e-8f4a-6b7c8d9e0f1a' })
  id: string;

  @ApiProperty({ description: 'The subnet of your private network.', example: '10.64.3.0/24' })
  subnet: string;

  @ApiProperty({
    description: 'The host whose switch the others plug into (the hub) while any machine runs.',
    example: 'rack7-slot2',
    nullable: true,
    type: String,
  })
  hubHostName: string | null;

  @ApiProperty({
    description: 'Your machines on it (every machine that has started once and is not deleted), with their addresses.',
    type: [NetworkMemberDto],
    example: [
      {
        machineId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
        name: 'web-1',
        address: '10.64.3.10',
        mac: '52:54:00:3a:1f:07',
        state: 'running',
        hostName: 'rack7-slot2',
      },
    ],
  })
  members: NetworkMemberDto[];

  @ApiProperty({
    description: 'Addresses kept for your own computers (GET /api/network/join.sh?device=N).',
    example: ['10.64.3.2', '10.64.3.3'],
    type: [String],
  })
  deviceAddresses: string[];
}

export class JoinScriptQueryDto {
  @ApiPropertyOptional({ description: 'Which of your computers (1 to 8): its address on the network.', example: 1 })
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' && /^\d{1,2}$/.test(value) ? Number(value) : value))
  @IsWholeNumber('device', 1, 8)
  device?: number;
}
