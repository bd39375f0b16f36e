import { ApiProperty } from '@nestjs/swagger';

/** A host's totals and what its stored machines leave free: speed in bogomips, memory and storage in MB. */
export class OperatorResourcesDto {
  @ApiProperty() speed: number;
  @ApiProperty() freeSpeed: number;
  @ApiProperty() memory: number;
  @ApiProperty() freeMemory: number;
  @ApiProperty() storage: number;
  @ApiProperty() freeStorage: number;
}

/** GET /api/operator/overview: the market as its operator sees it (docs/ARCHITECTURE.md, Operating). */
export class OperatorHostDto {
  @ApiProperty({ description: 'The host, or null for an agent that joined but serves no host yet.', nullable: true, type: String })
  hostId: string | null;

  @ApiProperty({ description: 'Host name (null for an agent without a host).', nullable: true, type: String })
  name: string | null;

  @ApiProperty({ description: 'Handle of the provider who owns the host or agent.' })
  provider: string;

  @ApiProperty({ description: 'The agent serving the host, or null for a host without one.', nullable: true, type: String })
  agentId: string | null;

  @ApiProperty({
    description: 'online: its agent heartbeated within the offline window; offline: too long ago or never; none: no agent.',
    enum: ['online', 'offline', 'none'],
  })
  health: 'online' | 'offline' | 'none';

  @ApiProperty({ description: 'When the agent last heartbeated (ISO), or null.', nullable: true, type: String })
  lastHeartbeatAt: string | null;

  @ApiProperty({ description: 'The agent’s version from its last facts, or null.', nullable: true, type: String })
  agentVersion: string | null;

  @ApiProperty({ description: 'Total and free resources of the host; null without a host.', nullable: true, type: () => OperatorResourcesDto })
  resources: OperatorResourcesDto | null;

  @ApiProperty({ description: 'Machines stored on the host (not deleted).' })
  machines: number;
}

export class OperatorMigrationDto {
  @ApiProperty() id: string;
  @ApiProperty() machineId: string;
  @ApiProperty({ description: 'Origin host name.' }) fromHost: string;
  @ApiProperty({ description: 'Destination host name.' }) toHost: string;
  @ApiProperty({ description: 'SCP or RSYNC.' }) method: string;
  @ApiProperty({ description: 'preparing, transferring or committing.' }) phase: string;
  @ApiProperty({ description: 'When it started (ISO).' }) startedAt: string;
}

export class LedgerInvariantDto {
  @ApiProperty({ description: 'The sum of every user’s stored balance, exact decimal text.', example: '1000' })
  balances: string;

  @ApiProperty({ description: 'What the ledger says users hold: credits minus debits of every user account, exact decimal text.', example: '1000' })
  ledger: string;

  @ApiProperty({ description: 'balances − ledger, exact decimal text; 0 when balanced.', example: '0' })
  difference: string;

  @ApiProperty({ description: 'Users whose own balance differs from their credits minus debits.' })
  mismatchedUsers: number;

  @ApiProperty({ description: 'True when the difference is 0 and no user differs.' })
  balanced: boolean;

  @ApiProperty({ description: 'Ledger rows read.' })
  entries: number;
}

export class OperatorOverviewDto {
  @ApiProperty({ description: 'When the overview was read (ISO).' })
  at: string;

  @ApiProperty({ description: 'Hosts with their agents, and agents without a host, by name (at most `limit`).', type: OperatorHostDto, isArray: true })
  hosts: OperatorHostDto[];

  @ApiProperty({ description: 'How many hosts and host-less agents there are in all (the list may be cut at its limit).' })
  hostCount: number;

  @ApiProperty({ description: 'Agents heartbeating within the offline window.' })
  agentsOnline: number;

  @ApiProperty({
    description: 'Machines by state (deleted included), e.g. {"running": 3, "stored": 2}.',
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { running: 3, stored: 2 },
  })
  machinesByState: Record<string, number>;

  @ApiProperty({ description: 'Migrations under way, oldest first.', type: OperatorMigrationDto, isArray: true })
  migrations: OperatorMigrationDto[];

  @ApiProperty({ type: LedgerInvariantDto })
  ledger: LedgerInvariantDto;
}
