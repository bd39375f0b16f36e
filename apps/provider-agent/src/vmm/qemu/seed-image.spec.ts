import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GuestSeed, renderMetaData, renderNetworkConfig, renderUserData, SEED_VOLUME_LABEL, writeSeedImage } from './seed-image';

const seed: GuestSeed = {
  instanceId: '0b7f3c1e-5a2d-4c8e-9f10-2b3c4d5e6f70',
  hostname: 'web-1',
  sshKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyBlob buyer@laptop', 'ssh-rsa AAAAB3NzaC1yc2E "quoted" \\ comment'],
  nics: [
    { name: 'private', mac: '52:54:00:AB:CD:EF', address: '10.64.3.10/24' },
    { name: 'uplink', mac: '56:54:00:ab:cd:ef', address: '10.0.2.15/24', gateway: '10.0.2.2', nameservers: ['10.0.2.3'] },
  ],
};

describe('NoCloud seed files', () => {
  it('meta-data names the instance and the host', () => {
    expect(renderMetaData(seed)).toBe('instance-id: 0b7f3c1e-5a2d-4c8e-9f10-2b3c4d5e6f70\nlocal-hostname: web-1\n');
  });

  it('user-data lists each ssh key as one JSON-quoted line (quotes and backslashes escaped)', () => {
    expect(renderUserData(seed)).toBe(
      [
        '#cloud-config',
        'hostname: web-1',
        'disable_root: false',
        'ssh_authorized_keys:',
        '  - "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleKeyBlob buyer@laptop"',
        '  - "ssh-rsa AAAAB3NzaC1yc2E \\"quoted\\" \\\\ comment"',
        '',
      ].join('\n'),
    );
    const lines = renderUserData(seed)
      .split('\n')
      .filter((l) => l.startsWith('  - '));
    expect(lines.map((l) => JSON.parse(l.slice(4)))).toEqual(seed.sshKeys);
  });

  it('user-data without keys holds an empty list', () => {
    expect(renderUserData({ ...seed, sshKeys: [] })).toBe('#cloud-config\nhostname: web-1\ndisable_root: false\nssh_authorized_keys:\n  []\n');
  });

  it('network-config v2 matches each NIC by its lower-case MAC; a default route and DNS only where given', () => {
    expect(renderNetworkConfig(seed)).toBe(
      [
        'version: 2',
        'ethernets:',
        '  private:',
        '    match:',
        '      macaddress: "52:54:00:ab:cd:ef"',
        '    dhcp4: false',
        '    addresses:',
        '      - 10.64.3.10/24',
        '  uplink:',
        '    match:',
        '      macaddress: "56:54:00:ab:cd:ef"',
        '    dhcp4: false',
        '    addresses:',
        '      - 10.0.2.15/24',
        '    routes:',
        '      - to: 0.0.0.0/0',
        '        via: 10.0.2.2',
        '    nameservers:',
        '      addresses:',
        '        - 10.0.2.3',
        '',
      ].join('\n'),
    );
  });

  it('network-config leaves a NIC without an address unconfigured', () => {
    const text = renderNetworkConfig({ ...seed, nics: [{ name: 'private', mac: '52:54:00:00:00:01' }] });
    expect(text).toBe('version: 2\nethernets:\n  private:\n    match:\n      macaddress: "52:54:00:00:00:01"\n    dhcp4: false\n');
  });
});

describe('writeSeedImage', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'seed-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes an ISO 9660 volume labelled cidata holding the three files, and nothing else in the directory', async () => {
    const iso = path.join(dir, 'seed.iso');
    await writeSeedImage(iso, seed);
    expect(readdirSync(dir)).toEqual(['seed.iso']);

    const info = execFileSync('xorriso', ['-indev', iso, '-pvd_info'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(info).toMatch(/^Volume [Ii]d\s*:\s*'?cidata'?\s*$/m);
    expect(SEED_VOLUME_LABEL).toBe('cidata');
    // The primary volume descriptor as the guest's boot script reads it: "CD001" at byte 32769,
    // the volume id (space padded) at byte 32808.
    const raw = readFileSync(iso);
    expect(raw.subarray(32769, 32774).toString('latin1')).toBe('CD001');
    expect(raw.subarray(32808, 32840).toString('latin1').trimEnd()).toBe('cidata');

    const out = path.join(dir, 'extracted');
    execFileSync('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/', out], { stdio: 'ignore' });
    expect(readdirSync(out).sort()).toEqual(['meta-data', 'network-config', 'user-data']);
    expect(readFileSync(path.join(out, 'meta-data'), 'utf8')).toBe(renderMetaData(seed));
    expect(readFileSync(path.join(out, 'user-data'), 'utf8')).toBe(renderUserData(seed));
    expect(readFileSync(path.join(out, 'network-config'), 'utf8')).toBe(renderNetworkConfig(seed));
    rmSync(out, { recursive: true });
  });

  it('replaces an existing seed with the new contents', async () => {
    const iso = path.join(dir, 'again.iso');
    await writeSeedImage(iso, seed);
    await writeSeedImage(iso, { ...seed, hostname: 'web-2' });
    const out = path.join(dir, 'again');
    execFileSync('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/meta-data', path.join(out, 'meta-data')], { stdio: 'ignore' });
    expect(readFileSync(path.join(out, 'meta-data'), 'utf8')).toContain('local-hostname: web-2\n');
    expect(readdirSync(dir).filter((f) => f.startsWith('.seed-'))).toEqual([]);
  });
});
