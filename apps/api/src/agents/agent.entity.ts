import { Column, Entity, Index } from 'typeorm';
import { IdColumn, IntColumn, RefColumn, TextColumn, TimeColumn } from '../common/columns';

/**
 * A provider agent that joined with a one-time token (report §6.2: the provider system). It
 * becomes a host's agent when the provider adds the host with its id. Its HMAC secret signs every
 * command the front-end sends and every heartbeat and download it sends back.
 */
@Entity('agents')
export class Agent {
  /** Issued by the front-end at the join; the `hostId` of its signed envelopes. */
  @IdColumn()
  id: string;

  @Index()
  @RefColumn()
  providerId: string;

  /** The shared HMAC secret (64 hex digits). Never returned after the join. */
  @TextColumn(128)
  secret: string;

  @TextColumn(255)
  agentHost: string;

  @IntColumn()
  agentPort: number;

  @IntColumn()
  consolePort: number;

  /** The address it joined from (the join request's), which VIRTUOSO_AGENT_ADDRESSES' `joined-from` allows; null for agents joined before it was kept. */
  @TextColumn(64, { nullable: true })
  joinedFrom: string | null;

  /** HostFacts as JSON, from the join and then from every heartbeat. */
  @TextColumn(2000)
  facts: string;

  /** AgentVmState[] of the last heartbeat, as JSON (the reconciler settles machines from it). */
  @Column({ type: 'text', default: '[]' })
  vms: string;

  @TimeColumn({ nullable: true })
  lastHeartbeatAt: string | null;

  /**
   * Its transfer sshd (HostFacts.transfer, from the join and every heartbeat): where destinations
   * pull a machine from this agent's host, and the host key they are given (docs/ARCHITECTURE.md §7).
   * Null while it runs none: it cannot be a migration's origin.
   */
  @IntColumn({ nullable: true })
  transferSshPort: number | null;

  @TextColumn(32, { nullable: true })
  transferSshUser: string | null;

  @TextColumn(800, { nullable: true })
  transferHostKey: string | null;

  @TextColumn(100, { nullable: true })
  transferFingerprint: string | null;

  @TimeColumn()
  joinedAt: string;
}
