import type { HostPrices, MarketHost } from '@virtuoso/domain';
import type { Host } from './host.entity';

// The market search's fields of a host, in packing order: first its price sheet, then its
// capacities, its id and its name. Numbers and canonical prices hold no space and ids are UUIDs;
// the name, which may, comes last and takes the rest.
const SHEET_FIELDS = [
  'speedUnit',
  'memoryUnit',
  'runningUnitAmount',
  'storageUnit',
  'storageAmount',
  'speedUnitPrice',
  'memoryUnitPrice',
  'storageUnitPrice',
] as const satisfies ReadonlyArray<keyof Host>;
export const PACKED_FIELDS = [
  ...SHEET_FIELDS,
  'speed',
  'reservedSpeed',
  'memory',
  'reservedMemory',
  'storage',
  'reservedStorage',
  'id',
  'name',
] as const satisfies ReadonlyArray<keyof Host>;

/**
 * Unpacks market hosts. Hosts with the same price sheet get the same HostPrices object, which
 * libs/domain's searches then price once.
 */
export class MarketHostReader {
  private readonly sheets = new Map<string, HostPrices>();

  read(packed: string): MarketHost {
    let at = 0;
    for (let field = 0; field < SHEET_FIELDS.length; field++) at = packed.indexOf(' ', at) + 1;
    const prices = this.sheet(packed.slice(0, at - 1));
    const next = (): string => {
      const end = packed.indexOf(' ', at);
      const value = packed.slice(at, end);
      at = end + 1;
      return value;
    };
    const speed = Number(next());
    const reservedSpeed = Number(next());
    const memory = Number(next());
    const reservedMemory = Number(next());
    const storage = Number(next());
    const reservedStorage = Number(next());
    const id = next();
    return {
      id,
      name: packed.slice(at),
      prices,
      total: { speed, memory, storage },
      reserved: { speed: reservedSpeed, memory: reservedMemory, storage: reservedStorage },
    };
  }

  private sheet(key: string): HostPrices {
    let prices = this.sheets.get(key);
    if (prices === undefined) {
      const [speedUnit, memoryUnit, runningUnitAmount, storageUnit, storageAmount, speedUnitPrice, memoryUnitPrice, storageUnitPrice] = key.split(' ');
      prices = {
        speedUnit: Number(speedUnit),
        speedUnitPrice,
        memoryUnit: Number(memoryUnit),
        memoryUnitPrice,
        runningUnitAmount: Number(runningUnitAmount),
        storageUnit: Number(storageUnit),
        storageUnitPrice,
        storageAmount: Number(storageAmount),
      };
      this.sheets.set(key, prices);
    }
    return prices;
  }
}
