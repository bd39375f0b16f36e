import { createHash } from 'node:crypto';

/** An OpenSSH public key line, read: its type, the base64 of its blob, its fingerprint. */
export interface ParsedSshKey {
  type: string;
  fingerprint: string;
}

/**
 * Reads one OpenSSH public key line (the DTO's pattern has already checked its outline): the base64
 * must decode to a key blob whose first field names the same type as the line does (a pasted
 * private key, a truncated or mangled line, or a type that lies are refused). The fingerprint is
 * ssh-keygen -l's: `SHA256:` + unpadded base64 of the SHA-256 of the blob.
 */
export function parseSshPublicKey(line: string): ParsedSshKey | { problem: string } {
  const [type, body] = line.trim().split(/\s+/);
  if (!type || !body) return { problem: 'publicKey must be "<type> <base64 key> [comment]"' };
  const blob = Buffer.from(body, 'base64');
  // Node's decoder skips what is not base64; re-encoding tells a clean body from a mangled one.
  if (blob.toString('base64').replace(/=+$/, '') !== body.replace(/=+$/, '')) return { problem: 'publicKey: the key part is not valid base64' };
  if (blob.length < 4) return { problem: 'publicKey: the key part is too short to be a key' };
  const typeLength = blob.readUInt32BE(0);
  if (typeLength > 64 || blob.length < 4 + typeLength) return { problem: 'publicKey: the key part is not an OpenSSH public key' };
  const inner = blob.subarray(4, 4 + typeLength).toString('latin1');
  if (inner !== type) return { problem: `publicKey: the key part is a ${inner || 'malformed'} key, not ${type} as the line says` };
  if (blob.length < 4 + typeLength + 16) return { problem: 'publicKey: the key part is truncated' };
  return { type, fingerprint: `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}` };
}
