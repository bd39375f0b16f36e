import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import type { VmmpMethod } from '@virtuoso/domain';

/**
 * The transfer sshd's authorized_keys (report §7.3; docs/ARCHITECTURE.md §7): one line per
 * active migration, each a destination's one-time key forced to read ONE export directory:
 *   RSYNC: rrsync -ro confines reads to the directory (absolute paths are mapped under it, `..`
 *          is refused, uploads are refused).
 *   SCP:   the source side of the legacy scp protocol (`scp -r -f DIR`) sends DIR whatever path
 *          the client asks for; the client must use `scp -O`.
 * `restrict` turns off forwarding of every kind, the pty, agent forwarding and ~/.ssh/rc, so the
 * key can do nothing but run its forced command.
 */

/** Methods an origin can serve through a forced command. */
export const EXPORT_METHODS = ['SCP', 'RSYNC'] as const satisfies readonly VmmpMethod[];
export type ExportMethod = (typeof EXPORT_METHODS)[number];

export function isExportMethod(m: string): m is ExportMethod {
  return (EXPORT_METHODS as readonly string[]).includes(m);
}

/** The comment that names a migration's line. */
export function keyComment(migrationId: string): string {
  return `virtuoso-migration-${migrationId}`;
}

const KEY_TYPES = new Set([
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
]);

export class InvalidPublicKeyError extends Error {
  constructor(reason: string) {
    super(`not one OpenSSH public key line: ${reason}`);
    this.name = 'InvalidPublicKeyError';
  }
}

/**
 * `type base64 [comment]` → `type base64`. Anything else is refused: options in front of the key
 * (they would replace our forced command), several lines, or a blob whose embedded type differs.
 */
export function parsePublicKey(line: string): string {
  if (/[\r\n\0]/.test(line.trim())) throw new InvalidPublicKeyError('it holds more than one line');
  const parts = line.trim().split(/[ \t]+/);
  if (parts.length < 2) throw new InvalidPublicKeyError('expected "<type> <base64> [comment]"');
  const [type, blob] = parts as [string, string];
  if (!KEY_TYPES.has(type)) throw new InvalidPublicKeyError(`unknown key type ${JSON.stringify(type.slice(0, 40))}`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(blob) || blob.length % 4 !== 0) throw new InvalidPublicKeyError('the key is not base64');
  const raw = Buffer.from(blob, 'base64');
  const len = raw.length >= 4 ? raw.readUInt32BE(0) : -1;
  if (len !== Buffer.byteLength(type) || raw.subarray(4, 4 + len).toString('latin1') !== type)
    throw new InvalidPublicKeyError(`the key blob is not a ${type} key`);
  return `${type} ${blob}`;
}

/** The export directory goes into a shell command line: only plain path characters are allowed. */
function checkExportDir(dir: string): void {
  if (!path.isAbsolute(dir) || !/^[A-Za-z0-9._/@+-]+$/.test(dir)) {
    throw new Error(`export directory ${JSON.stringify(dir)} must be an absolute path of letters, digits and ._/@+-`);
  }
}

/** The forced command that serves `exportDir` by `method`. */
export function forcedCommand(method: ExportMethod, exportDir: string): string {
  checkExportDir(exportDir);
  return method === 'RSYNC' ? `/usr/bin/rrsync -ro ${exportDir}` : `/usr/bin/scp -r -f ${exportDir}`;
}

/** One authorized_keys line: `restrict,command="…" <type> <base64> virtuoso-migration-<id>`. */
export function renderAuthorizedKeyLine(migrationId: string, method: ExportMethod, exportDir: string, publicKey: string): string {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(migrationId)) throw new Error(`migration id ${JSON.stringify(migrationId)} is not an id`);
  return `restrict,command="${forcedCommand(method, exportDir)}" ${parsePublicKey(publicKey)} ${keyComment(migrationId)}`;
}

/**
 * The other kind of line (docs/ARCHITECTURE.md §11): a key a VNET hub admits into one network's
 * switch, `restrict,command="vde_plug vde://<switch dir>" <key> vnet:<networkId>:<label>`. The
 * forced command plugs the connection's stdin/stdout into that switch and nothing else.
 */
export interface VnetAdmissionLine {
  networkId: string;
  /** The network's switch directory on this host. */
  switchDir: string;
  publicKey: string;
  /** Who it is: `agent:<id>` or `buyer-key:<id>`. */
  label: string;
}

const VNET_COMMENT = 'vnet:';

export function renderVnetAdmissionLine(a: VnetAdmissionLine): string {
  if (!/^[A-Za-z0-9-]{1,64}$/.test(a.networkId)) throw new Error(`network id ${JSON.stringify(a.networkId)} is not an id`);
  if (!/^[A-Za-z0-9:._-]{1,80}$/.test(a.label)) throw new Error(`admission label ${JSON.stringify(a.label)} must be letters, digits or :._-`);
  checkExportDir(a.switchDir);
  return `restrict,command="vde_plug vde://${a.switchDir}" ${parsePublicKey(a.publicKey)} ${VNET_COMMENT}${a.networkId}:${a.label}`;
}

function isVnetLine(line: string): boolean {
  return (line.trimEnd().split(/\s+/).pop() ?? '').startsWith(VNET_COMMENT);
}

/**
 * The file itself. Lines that are not ours (an operator's file, with --ssh-authorized-keys) are
 * kept as they are; ours are found by their comment. Every change rewrites the file atomically
 * (temp file, fsync, rename), so sshd never reads half a file.
 */
export class AuthorizedKeys {
  constructor(readonly file: string) {}

  add(migrationId: string, method: ExportMethod, exportDir: string, publicKey: string): void {
    const line = renderAuthorizedKeyLine(migrationId, method, exportDir, publicKey);
    this.write([...this.lines().filter((l) => !isLineOf(l, migrationId)), line]);
  }

  /** Idempotent: removing a migration that has no line changes nothing. */
  remove(migrationId: string): void {
    const lines = this.lines();
    const kept = lines.filter((l) => !isLineOf(l, migrationId));
    if (kept.length !== lines.length) this.write(kept);
  }

  has(migrationId: string): boolean {
    return this.lines().some((l) => isLineOf(l, migrationId));
  }

  /** Ids of the migrations that have a line. */
  migrations(): string[] {
    const prefix = keyComment('');
    return this.lines()
      .map((l) => l.split(/\s+/).pop() ?? '')
      .filter((c) => c.startsWith(prefix))
      .map((c) => c.slice(prefix.length));
  }

  /** Make the VNET lines exactly `admissions` (any other VNET line removed); other lines kept. */
  setVnetAdmissions(admissions: VnetAdmissionLine[]): void {
    const rendered = admissions.map(renderVnetAdmissionLine);
    const lines = this.lines();
    const others = lines.filter((l) => !isVnetLine(l));
    const next = [...others, ...rendered];
    if (next.join('\n') !== lines.join('\n')) this.write(next);
  }

  /** The VNET lines now in the file. */
  vnetLines(): string[] {
    return this.lines().filter(isVnetLine);
  }

  private lines(): string[] {
    if (!existsSync(this.file)) return [];
    return readFileSync(this.file, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
  }

  private write(lines: string[]): void {
    mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, lines.map((l) => l + '\n').join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
  }
}

function isLineOf(line: string, migrationId: string): boolean {
  return line.trimEnd().endsWith(` ${keyComment(migrationId)}`);
}
