import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keyFiles, makeKeyPair, removeKeyPair, writeKnownHosts } from './keys';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vz-keys-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('one-time migration keys (report §7.2)', () => {
  it('makes an ed25519 pair without passphrase, mode 0600, commented with the migration id, and removes it', async () => {
    const id = '0b5f3c1e-2d4a-4f6b-8c9d-0e1f2a3b4c5d';
    const pub = await makeKeyPair(tmp, id);
    expect(pub).toMatch(new RegExp(`^ssh-ed25519 [A-Za-z0-9+/]+=* virtuoso-migration-${id}$`));
    const { key, pub: pubFile } = keyFiles(tmp);
    expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(statSync(pubFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(key, 'utf8')).toContain('BEGIN OPENSSH PRIVATE KEY');
    removeKeyPair(tmp);
    expect(() => statSync(key)).toThrow();
  });

  it('writes known_hosts as [host]:port with the given host key only', () => {
    const file = path.join(tmp, 'known_hosts');
    writeKnownHosts(file, '10.0.0.7', 2222, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOr root@origin');
    expect(readFileSync(file, 'utf8')).toBe('[10.0.0.7]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOr\n');
    expect(() => writeKnownHosts(file, 'h', 1, 'garbage')).toThrow(/not an OpenSSH public key/);
  });
});
