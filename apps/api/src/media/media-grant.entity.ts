import { Entity, Index } from 'typeorm';
import { IdColumn, MsColumn, RefColumn } from '../common/columns';

/**
 * An attach in progress lets the machine's agent download the medium before the machine row
 * names it. In the database, not in memory: with several replicas the agent's download may reach
 * another replica than the one running the attach (docs/ARCHITECTURE.md §12). Deleted when the
 * attach ends; one left by a replica that died mid-attach stops counting after MEDIA_GRANT_TTL_MS.
 */
@Entity('media_grants')
@Index(['agentId', 'mediaId'])
export class MediaGrant {
  @IdColumn()
  id: string;

  @RefColumn()
  agentId: string;

  @RefColumn()
  mediaId: string;

  /** Wall-clock ms. */
  @MsColumn()
  grantedAt: number;
}
