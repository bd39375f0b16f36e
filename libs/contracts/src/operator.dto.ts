import { ApiProperty } from '@nestjs/swagger';

const UUID_EXAMPLE = '7c9e6679-7425-40de-944b-e07fc1f90ae7';

/** A host's totals and what its stored machines leave free: speed in bogomips, memory and storage in MB. */
export class OperatorResourcesDto {
  @ApiProperty({ description: 'Total speed (bogomips).', example: 10000 })
  speed: number;

  @ApiProperty({ description: 'Speed not reserved by stored machines.', example: 6000 })
  freeSpeed: number;

  @ApiProperty({ description: 'Total memory (MB).', example: 512 })
  memory: number;

  @ApiProperty({ description: 'Memory not reserved by stored machines (MB).', example: 256 })
  freeMemory: number;

  @ApiProperty({ description: 'Total storage (MB).', example: 100000 })
  storage: number;

  @ApiProperty({ description: 'Storage not reserved by stored machines (MB).', example: 99000 })
  freeStorage: number;
}

/** GET /api/operator/overview: the market as its operator sees it (docs/ARCHITECTURE.md §14). */
export class OperatorHostDto {
  @ApiProperty({ description: 'The host, or null for an agent that joined but serves no host yet.', nullable: true, type: String, example: UUID_EXAMPLE })
  hostId: string | null;

  @ApiProperty({ description: 'Host name (null for an agent without a host).', nullable: true, type: String, example: 'virt8' })
  name: string | null;

  @ApiProperty({ description: 'Handle of the provider who owns the host or agent.', example: 'ResourceSeller' })
  provider: string;

  @ApiProperty({ description: 'The agent serving the host, or null for a host without one.', nullable: true, type: String, example: UUID_EXAMPLE })
  agentId: string | null;

  @ApiProperty({
    description: 'online: its agent heartbeated within the offline window; offline: too long ago or never; none: no agent.',
    enum: ['online', 'offline', 'none'],
    example: 'online',
  })
  health: 'online' | 'offline' | 'none';

  @ApiProperty({ description: 'When the agent last heartbeated (ISO), or null.', nullable: true, type: String, example: '2026-01-01T12:00:00.000Z' })
  lastHeartbeatAt: string | null;

  @ApiProperty({ description: 'The agent’s version from its last facts, or null.', nullable: true, type: String, example: '0.1.0' })
  agentVersion: string | null;

  @ApiProperty({ description: 'Total and free resources of the host; null without a host.', nullable: true, type: () => OperatorResourcesDto })
  resources: OperatorResourcesDto | null;

  @ApiProperty({ description: 'Machines stored on the host (not deleted).', example: 3 })
  machines: number;
}

export class OperatorMigrationDto {
  @ApiProperty({ description: 'The migration.', example: UUID_EXAMPLE })
  id: string;

  @ApiProperty({ description: 'The machine that moves.', example: UUID_EXAMPLE })
  machineId: string;

  @ApiProperty({ description: 'Origin host name.', example: 'virt8' })
  fromHost: string;

  @ApiProperty({ description: 'Destination host name.', example: 'virt9' })
  toHost: string;

  @ApiProperty({ description: 'SCP or RSYNC.', example: 'RSYNC' })
  method: string;

  @ApiProperty({ description: 'preparing, transferring or committing.', example: 'transferring' })
  phase: string;

  @ApiProperty({ description: 'When it started (ISO).', example: '2026-01-01T12:00:00.000Z' })
  startedAt: string;
}

export class LedgerInvariantDto {
  @ApiProperty({ description: 'The sum of every user’s stored balance, exact decimal text.', example: '1000' })
  balances: string;

  @ApiProperty({ description: 'What the ledger says users hold: credits minus debits of every user account, exact decimal text.', example: '1000' })
  ledger: string;

  @ApiProperty({ description: 'balances − ledger, exact decimal text; 0 when balanced.', example: '0' })
  difference: string;

  @ApiProperty({ description: 'Users whose own balance differs from their credits minus debits.', example: 0 })
  mismatchedUsers: number;

  @ApiProperty({ description: 'True when the difference is 0 and no user differs.', example: true })
  balanced: boolean;

  @ApiProperty({ description: 'Ledger rows read.', example: 42 })
  entries: number;
}

export class OperatorOverviewDto {
  @ApiProperty({ description: 'When the overview was read (ISO).', example: '2026-01-01T12:00:00.000Z' })
  at: string;

  @ApiProperty({
    description: 'Hosts with their agents, and agents without a host, by name (at most 1000).',
    type: OperatorHostDto,
    isArray: true,
    example: [],
  })
  hosts: OperatorHostDto[];

  @ApiProperty({ description: 'How many hosts and host-less agents there are in all (the list may be cut at its limit).', example: 12 })
  hostCount: number;

  @ApiProperty({ description: 'Agents heartbeating within the offline window.', example: 10 })
  agentsOnline: number;

  @ApiProperty({
    description: 'Machines by state (deleted included), e.g. {"running": 3, "stored": 2}.',
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { running: 3, stored: 2 },
  })
  machinesByState: Record<string, number>;

  @ApiProperty({ description: 'Migrations under way, oldest first.', type: OperatorMigrationDto, isArray: true, example: [] })
  migrations: OperatorMigrationDto[];

  @ApiProperty({ description: 'The ledger invariant, checked at this read.', type: () => LedgerInvariantDto })
  ledger: LedgerInvariantDto;
}
