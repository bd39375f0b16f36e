import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { keyComment } from './authorized-keys';

const execFileP = promisify(execFile);

/** Files of a migration's one-time key pair inside its job directory. */
export const keyFiles = (jobDir: string) => ({ key: path.join(jobDir, 'key'), pub: path.join(jobDir, 'key.pub') });

/**
 * The destination's one-time ed25519 key pair of one migration (report §7.2; docs/ARCHITECTURE.md
 * §7): no passphrase, mode 0600, removed when the migration ends whatever its outcome. Returns the
 * public key line (`ssh-ed25519 AAAA… virtuoso-migration-<id>`), what the origin authorises.
 */
export async function makeKeyPair(jobDir: string, migrationId: string): Promise<string> {
  const { key, pub } = keyFiles(jobDir);
  rmSync(key, { force: true });
  rmSync(pub, { force: true });
  await execFileP('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', keyComment(migrationId), '-f', key]);
  chmodSync(key, 0o600);
  chmodSync(pub, 0o600);
  return readPublicKey(jobDir);
}

/** The public key line made by makeKeyPair. */
export function readPublicKey(jobDir: string): string {
  return readFileSync(keyFiles(jobDir).pub, 'utf8').trim();
}

export function removeKeyPair(jobDir: string): void {
  const { key, pub } = keyFiles(jobDir);
  rmSync(key, { force: true });
  rmSync(pub, { force: true });
}

/**
 * known_hosts holding only the origin's transfer sshd host key, given by the front-end (no trust
 * on first use): `[host]:port <key>`, the form ssh looks up for a non-default port.
 */
export function writeKnownHosts(file: string, host: string, port: number, hostKey: string): void {
  const [type, blob] = hostKey.trim().split(/\s+/);
  if (!type || !blob) throw new Error('the origin host key is not an OpenSSH public key line');
  writeFileSync(file, `[${host}]:${port} ${type} ${blob}\n`, { mode: 0o600 });
}
