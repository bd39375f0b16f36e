import { describe, expect, it } from 'vitest';
import type { Host } from './host.entity';
import { MarketHostReader, PACKED_FIELDS } from './market-host-reader';

// What marketHosts' query returns: each field cast to text, joined by single spaces, the name last.
const pack = (host: Partial<Host>) => PACKED_FIELDS.map((field) => String(host[field])).join(' ');

const sheet = {
  speedUnit: 1000,
  memoryUnit: 512,
  runningUnitAmount: 3600,
  storageUnit: 1024,
  storageAmount: 2592000,
  speedUnitPrice: '0.01',
  memoryUnitPrice: '0.002',
  storageUnitPrice: '0.5',
};
const host = (id: string, name: string): Partial<Host> => ({
  ...sheet,
  speed: 8000,
  reservedSpeed: 2000,
  memory: 16384,
  reservedMemory: 1024,
  storage: 102400,
  reservedStorage: 8192,
  id,
  name,
});

describe('market hosts read from their packed text', () => {
  it('unpacks prices, totals, reservations, id and a name with spaces in it', () => {
    const read = new MarketHostReader().read(pack(host('5b1e0c2a-0000-4000-8000-000000000001', 'rack 4  slot 2')));
    expect(read).toEqual({
      id: '5b1e0c2a-0000-4000-8000-000000000001',
      name: 'rack 4  slot 2',
      prices: sheet,
      total: { speed: 8000, memory: 16384, storage: 102400 },
      reserved: { speed: 2000, memory: 1024, storage: 8192 },
    });
  });

  it('gives hosts with the same price sheet one prices object, so the search prices it once', () => {
    const reader = new MarketHostReader();
    const a = reader.read(pack(host('a', 'a')));
    const b = reader.read(pack(host('b', 'b')));
    const c = reader.read(pack({ ...host('c', 'c'), speedUnitPrice: '0.02' }));
    expect(a.prices).toBe(b.prices);
    expect(c.prices).not.toBe(a.prices);
    expect(c.prices.speedUnitPrice).toBe('0.02');
  });
});
