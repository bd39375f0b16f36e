import type { MachineState, VmmpMethod } from '@virtuoso/domain';
import type { MigrationPhase } from '@virtuoso/contracts';
import { Column, Entity, Index } from 'typeorm';
import { BoolColumn, IdColumn, IntColumn, MoneyColumn, RefColumn, TextColumn, TimeColumn } from '../common/columns';

/** One line of a migration's log: a VMMP message in its text form, or a step of the front-end. */
export interface MigrationLogLine {
  at: string;
  text: string;
}

/**
 * A migration of a machine between two hosts (report §7.3; docs/ARCHITECTURE.md §7): the durable
 * record the orchestrator moves through its phases, so a front-end restart can settle it from what
 * the two agents say. Progress comes from the destination's HEARTBEATs.
 */
@Entity('migrations')
@Index(['machineId', 'startedAt'])
export class Migration {
  @IdColumn()
  id: string;

  @RefColumn()
  machineId: string;

  @Index()
  @RefColumn()
  ownerId: string;

  @RefColumn()
  fromHostId: string;

  @RefColumn()
  toHostId: string;

  /** Host names as they were: a host may be deleted later, its migrations still read. */
  @TextColumn(60)
  fromHostName: string;

  @TextColumn(60)
  toHostName: string;

  @TextColumn(10)
  method: VmmpMethod;

  @Index()
  @TextColumn(20)
  phase: MigrationPhase;

  @TextColumn(20)
  previousState: MachineState;

  @IntColumn()
  fromVersion: number;

  @IntColumn({ nullable: true })
  toVersion: number | null;

  @IntColumn({ default: 0 })
  bytesDone: number;

  @IntColumn({ default: 0 })
  bytesTotal: number;

  @IntColumn({ default: 0 })
  bytesPerSecond: number;

  @IntColumn({ nullable: true })
  bytesTransferred: number | null;

  @IntColumn({ nullable: true })
  transferMs: number | null;

  /** When the destination accepted the REQ: the watchdog's window starts here until a HEARTBEAT comes. */
  @TimeColumn({ nullable: true })
  transferringSince: string | null;

  @TimeColumn({ nullable: true })
  lastHeartbeatAt: string | null;

  /** The last HEARTBEAT's text: the log keeps the first and the last, not every one. */
  @TextColumn(200, { nullable: true })
  lastHeartbeatVmmp: string | null;

  @TextColumn(500, { nullable: true })
  error: string | null;

  /** The destination's prices for this machine when the migration started; the commit fixes the ones current then. */
  @MoneyColumn()
  storagePrice: string;

  @IntColumn()
  storageAmount: number;

  @MoneyColumn()
  runningPrice: string;

  @IntColumn()
  runningUnitAmount: number;

  /** The ledger key of the storage charged on arrival (report §5.1.6), once committed: the statement names it as such. */
  @TextColumn(120, { nullable: true })
  arrivalChargeKey: string | null;

  /**
   * The replica (common/leadership.ts: its id) that created the migration and runs its prepare →
   * export → REQ steps; null on rows from before replicas. While it is alive the leader leaves the
   * migration to it; once it is gone the leader settles it (docs/ARCHITECTURE.md §12).
   */
  @RefColumn({ nullable: true })
  orchestratorReplicaId: string | null;

  /** Both agents acknowledged migration.finish (key removed, copies settled). */
  @BoolColumn({ default: false })
  cleanedUp: boolean;

  @TimeColumn()
  startedAt: string;

  @TimeColumn({ nullable: true })
  finishedAt: string | null;

  /** MigrationLogLine[] as JSON. */
  @Column({ type: 'text', default: '[]' })
  log: string;
}
