import { Entity, Index, PrimaryColumn } from 'typeorm';
import { MsColumn, RefColumn, TextColumn } from '../common/columns';

/**
 * A one-time console ticket (POST /api/machines/:id/console), in the database so that any replica
 * opens the console whatever replica issued it (docs/ARCHITECTURE.md §12). Only the SHA-256 of the
 * token is kept: a database dump does not open consoles. Used once (compare-and-set on usedAt);
 * rows a minute past their expiry are purged when tickets are issued.
 */
@Entity('console_tickets')
export class ConsoleTicket {
  /** SHA-256 (hex) of the token. */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  tokenHash: string;

  @RefColumn()
  userId: string;

  @RefColumn()
  machineId: string;

  @Index()
  @MsColumn()
  expiresAt: number;

  /** When its owner presented it; null = not yet. */
  @MsColumn({ nullable: true })
  usedAt: number | null;
}

/**
 * The current viewer of each machine's console, whichever replica relays it: a new viewer takes
 * the row, and the replica of the viewer it replaced closes that one with "replaced by a new
 * viewer" (close code 4000) when it finds another viewer named here (docs/ARCHITECTURE.md §12).
 */
@Entity('console_viewers')
export class ConsoleViewer {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  machineId: string;

  /** A random id of the websocket, made by the replica that admitted it. */
  @TextColumn(36)
  viewerId: string;

  @TextColumn(36)
  replicaId: string;

  @MsColumn()
  openedAt: number;
}

export const CONSOLE_ENTITIES = [ConsoleTicket, ConsoleViewer];
