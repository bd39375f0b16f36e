import { Entity, Index } from 'typeorm';
import { IdColumn, RefColumn, TextColumn, TimeColumn } from '../common/columns';

/**
 * A buyer's public ssh key (account page). Put in the guest's authorized keys at every start and
 * resume (the NoCloud seed), and admitted by the hub of the buyer's private network so the buyer's
 * own computer can plug in (join.sh). One fingerprint once per user.
 */
@Entity('ssh_keys')
@Index(['userId', 'fingerprint'], { unique: true })
export class SshKey {
  @IdColumn()
  id: string;

  @Index()
  @RefColumn()
  userId: string;

  @TextColumn(80)
  name: string;

  /** The OpenSSH public key line as given (trimmed). */
  @TextColumn(16_384)
  publicKey: string;

  /** Key type, e.g. `ssh-ed25519`. */
  @TextColumn(40)
  type: string;

  /** `SHA256:` + base64 (no padding) of the SHA-256 of the key blob, as ssh-keygen -l prints it. */
  @TextColumn(60)
  fingerprint: string;

  @TimeColumn()
  createdAt: string;
}
