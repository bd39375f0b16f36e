import { Entity, Index, PrimaryColumn } from 'typeorm';
import { MsColumn } from '../common/columns';

/**
 * A nonce an agent's signed message carried, kept while a replay of that message could still pass
 * the timestamp check (twice the signing skew), so that replay protection survives a restart of
 * the API and holds across several API processes.
 */
@Entity('agent_nonces')
export class AgentNonce {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  agentId: string;

  @PrimaryColumn({ type: 'varchar', length: 64 })
  nonce: string;

  /** When it was received (ms since the epoch); rows older than the window are pruned. */
  @Index()
  @MsColumn()
  at: number;
}
