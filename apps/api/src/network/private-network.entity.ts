import { Entity, Index } from 'typeorm';
import { IdColumn, IntColumn, RefColumn, TimeColumn } from '../common/columns';

/**
 * A buyer's private network (VNET; docs/ARCHITECTURE.md §11): one per buyer, made on first need.
 * Its number `index` gives its subnet (libs/domain subnetFor); its hub is the agent the others plug
 * into, chosen by the network sync (null while nothing runs).
 */
@Entity('private_networks')
export class PrivateNetwork {
  @IdColumn()
  id: string;

  @Index({ unique: true })
  @RefColumn()
  userId: string;

  @Index({ unique: true })
  @IntColumn()
  index: number;

  @RefColumn({ nullable: true })
  hubAgentId: string | null;

  @TimeColumn()
  createdAt: string;
}
