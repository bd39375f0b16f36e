import { Entity, PrimaryColumn } from 'typeorm';
import { TextColumn, TimeColumn } from '../common/columns';

/**
 * A network an agent was last told to hold (vnet.sync acknowledged), with the public key of its
 * uplink there when it is a spoke (VnetHeld.uplinkPublicKey), which the hub must admit. Rows go
 * when the agent no longer holds the network; an agent whose rows remain after it should hold
 * nothing gets an empty sync.
 */
@Entity('network_agents')
export class NetworkAgentRow {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  networkId: string;

  @PrimaryColumn({ type: 'varchar', length: 36 })
  agentId: string;

  @TextColumn(16_384, { nullable: true })
  uplinkPublicKey: string | null;

  @TimeColumn()
  syncedAt: string;
}
