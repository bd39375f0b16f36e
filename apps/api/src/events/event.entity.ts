import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { RefColumn, TextColumn, TimeColumn, msTransformer } from '../common/columns';

export type EventSource = 'market' | 'agent';

/**
 * One entry of the market's event log (report §6.1.10 and footnote 25; docs/ARCHITECTURE.md
 * "Event log"): `id` is the global order — the order the front-end's database recorded them in.
 * The owners at the time (buyerId of a machine, providerId of a host) are stored on the row, so a
 * history is one indexed read and never shows another user's events. An agent's event keeps the
 * agent's own number (agentSeq, unique per agent: a resent event is stored once) and time.
 */
@Entity('events')
@Index(['machineId', 'id'])
@Index(['hostId', 'id'])
@Index(['userId', 'id'])
@Index(['agentId', 'agentSeq'], { unique: true })
@Index(['at'])
export class EventRow {
  @PrimaryGeneratedColumn({ type: 'integer' })
  id: number;

  /** Front-end time of recording. */
  @TimeColumn()
  at: string;

  /** The source's time of the event. */
  @TimeColumn()
  occurredAt: string;

  @TextColumn(10)
  source: EventSource;

  @TextColumn(60)
  kind: string;

  @RefColumn({ nullable: true })
  machineId: string | null;

  @RefColumn({ nullable: true })
  hostId: string | null;

  @TextColumn(64, { nullable: true })
  agentId: string | null;

  /** Who acted (a user's action), if one. */
  @RefColumn({ nullable: true })
  userId: string | null;

  @RefColumn({ nullable: true })
  buyerId: string | null;

  @RefColumn({ nullable: true })
  providerId: string | null;

  /** The machine's state version after the event, when it is about one. */
  @Column({ type: 'bigint', nullable: true, transformer: msTransformer })
  version: number | null;

  @Column({ type: 'bigint', nullable: true, transformer: msTransformer })
  agentSeq: number | null;

  @TextColumn(1000)
  message: string;

  /** Small JSON object, or null. */
  @TextColumn(4000, { nullable: true })
  data: string | null;
}
