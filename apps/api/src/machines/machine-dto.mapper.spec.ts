import { describe, expect, it } from 'vitest';
import { type MachineDtoContext, toMachineDto } from './machine-dto.mapper';
import type { Machine } from './machine.entity';

const row: Machine = {
  id: 'm-1',
  ownerId: 'u-1',
  name: 'web',
  processor: 'x86_64',
  speed: 2000,
  os: 'Debian',
  memory: 1024,
  disk: 8192,
  preconfigured: false,
  image: null,
  configurationId: null,
  state: 'registered',
  previousState: null,
  version: 0,
  revision: 2,
  askedStoragePerMonth: '5',
  askedRunningPerHour: '0.1',
  hostId: null,
  storagePrice: null,
  storageAmount: null,
  runningPrice: null,
  runningUnitAmount: null,
  macAddress: '52:54:00:aa:bb:cc',
  registrationFee: '1',
  lastError: null,
  mediaId: null,
  storedAt: null,
  transientSince: null,
  privateAddress: null,
  forwardPorts: [],
  forwards: [],
  lastHostPorts: [],
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-02T00:00:00.000Z',
};
const none: MachineDtoContext = { hosts: new Map(), mediaNames: new Map(), stopTimeoutMs: 90_000 };

describe('a machine row as the API shows it', () => {
  it('a registered machine: no host, no media, its quoted etag, the actions its state allows, the stop timeout in seconds', () => {
    const dto = toMachineDto(row, none);
    expect(dto).toMatchObject({
      id: 'm-1',
      name: 'web',
      state: 'registered',
      version: 0,
      etag: '"0.2"',
      host: null,
      media: null,
      stopTimeoutSeconds: 90,
      hasOperatingSystem: false,
    });
    expect(dto.allowedActions).toContain('store');
    expect(dto.allowedActions).not.toContain('start');
    // Internal columns stay inside.
    expect(dto).not.toHaveProperty('ownerId');
    expect(dto).not.toHaveProperty('revision');
    expect(dto).not.toHaveProperty('transientSince');
    expect(dto).not.toHaveProperty('updatedAt');
  });

  it('a stored machine shows its host reference and its medium by name; unknown ones read as gone or "?"', () => {
    const host = { id: 'h-1', name: 'virt8', owner: 'alice', online: true };
    const context: MachineDtoContext = { hosts: new Map([['h-1', host]]), mediaNames: new Map([['iso-1', 'debian.iso']]), stopTimeoutMs: 90_000 };
    const stored = { ...row, state: 'stored' as const, version: 1, hostId: 'h-1', mediaId: 'iso-1', storagePrice: '5', storageAmount: 1 };
    expect(toMachineDto(stored, context)).toMatchObject({ host, media: { id: 'iso-1', name: 'debian.iso' }, storagePrice: '5', etag: '"1.2"' });
    expect(toMachineDto({ ...stored, hostId: 'h-gone', mediaId: 'iso-gone' }, context)).toMatchObject({ host: null, media: { id: 'iso-gone', name: '?' } });
  });

  it('only a preconfigured machine is known to have a system that answers the power button', () => {
    expect(toMachineDto({ ...row, preconfigured: true, image: 'tiny.qcow2' }, none)).toMatchObject({ hasOperatingSystem: true, image: 'tiny.qcow2' });
  });
});
