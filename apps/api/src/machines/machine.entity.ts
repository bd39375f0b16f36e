import type { PortForward } from '@virtuoso/contracts';
import type { MachineState } from '@virtuoso/domain';
import { Column, Entity, Index } from 'typeorm';
import { BoolColumn, IdColumn, IntColumn, MoneyColumn, RefColumn, TextColumn, TimeColumn } from '../common/columns';

/** A buyer's virtual machine (report table vm). The row stays after deletion, in state `deleted`. */
@Entity('machines')
// One address per machine on a buyer's network (NULLs, machines never started or deleted, repeat freely).
@Index(['ownerId', 'privateAddress'], { unique: true })
export class Machine {
  /** UUID issued by the front-end when the configuration is registered. */
  @IdColumn()
  id: string;

  @Index()
  @RefColumn()
  ownerId: string;

  @TextColumn(60)
  name: string;

  @TextColumn(60)
  processor: string;

  @IntColumn()
  speed: number;

  @TextColumn(60)
  os: string;

  @IntColumn()
  memory: number;

  @IntColumn()
  disk: number;

  @BoolColumn()
  preconfigured: boolean;

  @TextColumn(200, { nullable: true })
  image: string | null;

  @RefColumn({ nullable: true })
  configurationId: string | null;

  @Index()
  @TextColumn(20)
  state: MachineState;

  /** The state an action in progress left; it returns there if the action fails. */
  @TextColumn(20, { nullable: true })
  previousState: MachineState | null;

  @IntColumn()
  version: number;

  /**
   * Grows on every write. Compare-and-set includes it, so a command acts on exactly the row it
   * read (an edit does not change state or version, but must not slip under a store).
   */
  @IntColumn({ default: 0 })
  revision: number;

  @MoneyColumn()
  askedStoragePerMonth: string;

  @MoneyColumn()
  askedRunningPerHour: string;

  @Index()
  @RefColumn({ nullable: true })
  hostId: string | null;

  /** Fixed when stored (report §5.1.3): later price edits on the host do not change them. */
  @MoneyColumn({ nullable: true })
  storagePrice: string | null;

  @IntColumn({ nullable: true })
  storageAmount: number | null;

  @MoneyColumn({ nullable: true })
  runningPrice: string | null;

  @IntColumn({ nullable: true })
  runningUnitAmount: number | null;

  @Index({ unique: true })
  @TextColumn(17)
  macAddress: string;

  @MoneyColumn()
  registrationFee: string;

  @TextColumn(500, { nullable: true })
  lastError: string | null;

  /** Install medium in the CD-ROM drive (media library), or null. */
  @Index()
  @RefColumn({ nullable: true })
  mediaId: string | null;

  @TimeColumn({ nullable: true })
  storedAt: string | null;

  /** When the action under way began (set with a transient state): the reconciler's clock. */
  @TimeColumn({ nullable: true })
  transientSince: string | null;

  /**
   * Its address on the buyer's private network (docs/ARCHITECTURE.md §11): assigned at its first
   * start, kept for its life (also when it migrates), freed when it is deleted.
   */
  @TextColumn(15, { nullable: true })
  privateAddress: string | null;

  /** Guest TCP ports forwarded besides ssh (22, always), taking effect at the next start or resume. */
  @Column({ type: 'simple-json', default: '[]' })
  forwardPorts: number[];

  /** While its VMM runs: the forwarded ports as its agent reported them; [] otherwise. */
  @Column({ type: 'simple-json', default: '[]' })
  forwards: PortForward[];

  /** The host ports of its last run, asked for again at the next start (the saved ssh command keeps working). */
  @Column({ type: 'simple-json', default: '[]' })
  lastHostPorts: number[];

  @TimeColumn()
  createdAt: string;

  @TimeColumn()
  updatedAt: string;
}
