import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuthorizedKeys, InvalidPublicKeyError, parsePublicKey, renderAuthorizedKeyLine, renderVnetAdmissionLine } from './authorized-keys';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vzk-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'dest', '-f', path.join(tmp, 'k')]);
const pub = readFileSync(path.join(tmp, 'k.pub'), 'utf8').trim();
const bare = pub.split(' ').slice(0, 2).join(' ');
const mig = '7d4b5c1e-0000-4000-8000-000000000001';
const dir = '/var/lib/virtuoso/exports/m1/a1';

describe('authorized_keys lines (report §7.3)', () => {
  it('renders the forced command of each method, the key without its comment, our comment', () => {
    expect(renderAuthorizedKeyLine(mig, 'RSYNC', dir, pub)).toBe(`restrict,command="/usr/bin/rrsync -ro ${dir}" ${bare} virtuoso-migration-${mig}`);
    expect(renderAuthorizedKeyLine(mig, 'SCP', dir, pub)).toBe(`restrict,command="/usr/bin/scp -r -f ${dir}" ${bare} virtuoso-migration-${mig}`);
  });

  it('refuses anything but one OpenSSH key line', () => {
    const bad = [
      '',
      'ssh-ed25519',
      `command="sh" ${bare}`,
      `${bare}\n${bare}`,
      `ssh-rsa ${bare.split(' ')[1]}`, // blob of another type
      'ssh-ed25519 not*base64',
      `from="1.2.3.4",${bare}`,
    ];
    for (const b of bad) expect(() => parsePublicKey(b), JSON.stringify(b)).toThrow(InvalidPublicKeyError);
    expect(parsePublicKey(`  ${pub}  `)).toBe(bare);
  });

  it('refuses an export directory that would need shell quoting', () => {
    expect(() => renderAuthorizedKeyLine(mig, 'RSYNC', '/a b/c', pub)).toThrow(/absolute path/);
    expect(() => renderAuthorizedKeyLine(mig, 'SCP', 'rel/dir', pub)).toThrow(/absolute path/);
    expect(() => renderAuthorizedKeyLine(mig, 'SCP', '/x";id;"', pub)).toThrow(/absolute path/);
  });

  it('adds and removes by migration id, keeping lines that are not ours', () => {
    const file = path.join(tmp, 'authorized_keys');
    writeFileSync(file, `${bare} operator@laptop\n`);
    const keys = new AuthorizedKeys(file);
    keys.add(mig, 'RSYNC', dir, pub);
    keys.add('other', 'SCP', dir, pub);
    keys.add(mig, 'SCP', dir, pub); // again: replaces its line
    expect(keys.migrations().sort()).toEqual([mig, 'other'].sort());
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(3);
    keys.remove(mig);
    keys.remove(mig); // idempotent
    expect(keys.has(mig)).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(`${bare} operator@laptop\nrestrict,command="/usr/bin/scp -r -f ${dir}" ${bare} virtuoso-migration-other\n`);
  });

  it('VNET admissions: one forced vde_plug line per admitted key, exactly those of the last call', () => {
    const file = path.join(tmp, 'authorized_keys_vnet');
    writeFileSync(file, `${bare} operator@laptop\n`);
    const keys = new AuthorizedKeys(file);
    keys.add(mig, 'RSYNC', dir, pub);
    const net = '3f1c2b4a-0000-4000-8000-0000000000aa';
    const a = { networkId: net, switchDir: '/var/lib/virtuoso/vnet/n1/sw', publicKey: pub, label: 'agent:b1' };
    expect(renderVnetAdmissionLine(a)).toBe(`restrict,command="vde_plug vde:///var/lib/virtuoso/vnet/n1/sw" ${bare} vnet:${net}:agent:b1`);
    keys.setVnetAdmissions([a, { ...a, label: 'buyer-key:k1' }]);
    expect(keys.vnetLines()).toHaveLength(2);
    keys.setVnetAdmissions([{ ...a, label: 'buyer-key:k1' }]);
    expect(keys.vnetLines()).toEqual([`restrict,command="vde_plug vde:///var/lib/virtuoso/vnet/n1/sw" ${bare} vnet:${net}:buyer-key:k1`]);
    keys.setVnetAdmissions([]);
    expect(keys.vnetLines()).toEqual([]);
    // The operator's line and the migration's are kept.
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
    expect(keys.has(mig)).toBe(true);
    expect(() => renderVnetAdmissionLine({ ...a, switchDir: '/x y' })).toThrow(/absolute path/);
    expect(() => renderVnetAdmissionLine({ ...a, label: 'a b' })).toThrow(/label/);
    expect(() => renderVnetAdmissionLine({ ...a, publicKey: `command="sh" ${bare}` })).toThrow(InvalidPublicKeyError);
  });
});
