import { describe, expect, it } from 'vitest';
import { configFromCatalog, configFromSearchParams, configToSearchParams, toRegisterBody, toSpecBody, toUpdateBody } from './spec';
import { hostToForm, toCreateHostBody, toUpdateHostBody } from './hosts';

const entry = {
  id: 'd9b2d3a4-1111-4a53-9d0e-6c1f0f2f9b11',
  name: 'Configuration1',
  processor: 'Pentium3',
  os: 'win98',
  speed: 4000,
  memory: 64,
  disk: 100,
  averageStoragePerMonth: '3',
  averageRunningPerHour: '0.064386',
};

describe('configuration form', () => {
  it('prefills from a catalog entry with the market averages as the bid (fig. 7)', () => {
    const form = configFromCatalog(entry);
    expect(form).toMatchObject({ speed: '4000', askedStoragePerMonth: '3', askedRunningPerHour: '0.064386', configurationId: entry.id });
  });
  it('leaves the bid empty before the market has an average', () => {
    expect(configFromCatalog({ ...entry, averageStoragePerMonth: null, averageRunningPerHour: null }).askedRunningPerHour).toBe('');
  });
  it('survives a round trip through the URL', () => {
    const form = configFromCatalog(entry);
    expect(configFromSearchParams(new URLSearchParams(configToSearchParams(form).toString()))).toEqual(form);
  });
  it('builds the API bodies with numbers for sizes and exact text for prices', () => {
    const form = configFromCatalog(entry);
    expect(toSpecBody(form)).toEqual({ speed: 4000, memory: 64, disk: 100, askedStoragePerMonth: '3', askedRunningPerHour: '0.064386' });
    expect(toRegisterBody(form)).toMatchObject({ name: 'Configuration1', os: 'win98', configurationId: entry.id });
    expect(toRegisterBody({ ...form, configurationId: '' })).not.toHaveProperty('configurationId');
  });
  it('does not send OS or disk when editing a preconfigured machine', () => {
    const form = configFromCatalog(entry);
    expect(toUpdateBody(form, true)).not.toHaveProperty('disk');
    expect(toUpdateBody(form, true)).not.toHaveProperty('os');
    expect(toUpdateBody(form, false)).toMatchObject({ disk: 100, os: 'win98' });
  });
});

describe('host form', () => {
  const host = {
    name: 'virt8',
    processor: 'Pentium3',
    speed: 10000,
    speedUnit: 1000,
    speedUnitPrice: '0.00001',
    memory: 512,
    memoryUnit: 4,
    memoryUnitPrice: '0.00001',
    runningUnitAmount: 3600,
    storage: 100000,
    storageUnit: 100,
    storageUnitPrice: '0.01',
    storageAmount: 30,
    connectionSpeed: '1Gbps',
    agentHost: '129.105.44.205',
    agentPort: 8000,
  };
  it('copies a host under a new name (addmachineprovider.pl with a machineid)', () => {
    expect(hostToForm(host, true).name).toBe('virt8-copy');
    expect(toCreateHostBody(hostToForm(host))).toEqual(host);
  });
  it('binds a host to its agent: agentId instead of a typed address', () => {
    const body = toCreateHostBody(hostToForm(host), 'agent-1');
    const { agentHost: _h, agentPort: _p, ...rest } = host;
    expect(body).toEqual({ ...rest, agentId: 'agent-1' });
  });
  it('sends only units, unit prices and periods on edit (fig. 29)', () => {
    expect(Object.keys(toUpdateHostBody(hostToForm(host))).sort()).toEqual([
      'memoryUnit',
      'memoryUnitPrice',
      'runningUnitAmount',
      'speedUnit',
      'speedUnitPrice',
      'storageAmount',
      'storageUnit',
      'storageUnitPrice',
    ]);
  });
});
