import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { guestSeed } from '../vmm/qemu/qemu-driver';
import { knownHostsLine, nextBackoffMs, uplinkArgv } from './uplink';
import { vnetPaths } from './vnet-switch';

const hub = { agentId: 'a1', host: 'rack7.example.net', sshPort: 7301, sshUser: 'virtuoso', hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey' };
const net = '3f1c2b4a-0000-4000-8000-0000000000aa';

describe('uplink (pure parts)', () => {
  it('backs off from 0.5 s, doubling, to at most 5 s', () => {
    const seq: number[] = [];
    let ms: number | undefined;
    for (let i = 0; i < 6; i++) seq.push((ms = nextBackoffMs(ms)));
    expect(seq).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
  });

  it("pins the hub's host key for its host and port", () => {
    expect(knownHostsLine(hub)).toBe('[rack7.example.net]:7301 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey\n');
    expect(knownHostsLine({ ...hub, sshPort: 22, hostKey: `${hub.hostKey} comment` })).toBe('rack7.example.net ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey\n');
  });

  it("plugs the local switch into ssh to the hub's forced command, strict host key, key only, both ending with their parent", () => {
    const argv = uplinkArgv('/d/vnet/n/sw', '/d/vnet/n/uplink_ed25519', '/d/vnet/n/known_hosts', hub);
    const eq = argv.indexOf('=');
    expect(argv.slice(0, eq)).toEqual(['/usr/bin/setpriv', '--pdeathsig', 'TERM', '--', 'vde_plug', 'vde:///d/vnet/n/sw']);
    const ssh = argv.slice(eq + 1);
    expect(ssh.slice(0, 5)).toEqual(['/usr/bin/setpriv', '--pdeathsig', 'TERM', '--', 'ssh']);
    const text = ssh.join(' ');
    for (const o of ['StrictHostKeyChecking=yes', 'UserKnownHostsFile=/d/vnet/n/known_hosts', 'BatchMode=yes', 'IdentitiesOnly=yes', 'ServerAliveInterval=2'])
      expect(text).toContain(`-o ${o}`);
    expect(text).toContain('-i /d/vnet/n/uplink_ed25519 -p 7301');
    expect(ssh.slice(-2)).toEqual(['virtuoso@rack7.example.net', 'vnet']);
  });
});

describe('vnetPaths', () => {
  it('keeps the switch under the network directory when its sockets fit, else a short directory', () => {
    const short = vnetPaths('/var/lib/vz', net);
    expect(short.dir).toBe(`/var/lib/vz/vnet/${net}`);
    expect(short.switchDir).toBe(`/var/lib/vz/vnet/${net}/sw`);
    const deep = vnetPaths(`/var/lib/${'x'.repeat(40)}`, net);
    expect(Buffer.byteLength(deep.switchDir) + 17).toBeLessThanOrEqual(107);
    expect(path.dirname(deep.key)).toBe(deep.dir);
    expect(vnetPaths(`/var/lib/${'x'.repeat(40)}`, net).switchDir).toBe(deep.switchDir); // stable
    expect(() => vnetPaths('/d', '../etc')).toThrow(/UUID/);
  });
});

describe('guestSeed', () => {
  const spec = { id: '0b5f7a8e-1c2d-4e5f-8a9b-0c1d2e3f4a5b', mac: '52:54:00:ab:cd:ef' };
  it("tells the guest its private address, the uplink's static address and, with outbound allowed, the route and DNS", () => {
    const seed = guestSeed(spec, {
      private: { switchDir: '/sw', segment: net, address: '10.64.3.10', prefixLength: 24 },
      outbound: 'allow',
      forwards: [],
      sshKeys: ['ssh-ed25519 AAAA k'],
      hostname: 'web-1',
    });
    expect(seed).toEqual({
      instanceId: spec.id,
      hostname: 'web-1',
      sshKeys: ['ssh-ed25519 AAAA k'],
      nics: [
        { name: 'private', mac: spec.mac, address: '10.64.3.10/24' },
        { name: 'uplink', mac: '56:54:00:ab:cd:ef', address: '10.0.2.15/24', gateway: '10.0.2.2', nameservers: ['10.0.2.3'] },
      ],
    });
  });
  it('no outbound: no default route; no network at all: nothing configured', () => {
    const closed = guestSeed(spec, { outbound: 'none', forwards: [], sshKeys: [], hostname: 'h' });
    expect(closed.nics[0]!.address).toBeUndefined();
    expect(closed.nics[1]).toMatchObject({ address: '10.0.2.15/24', gateway: undefined });
    const none = guestSeed(spec, undefined);
    expect(none.nics.every((n) => n.address === undefined)).toBe(true);
    expect(none.sshKeys).toEqual([]);
  });
});
