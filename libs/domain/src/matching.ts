import {
  type AskedPrices,
  type HostPrices,
  type MachineSize,
  type Quote,
  askedRatesAccept,
  quote,
  runningRatePerSecond,
  storageRatePerDay,
} from './pricing';

/** Speed in bogomips, memory and storage in MB: a host's totals, its reserved sum, or what is free. */
export interface HostCapacity {
  speed: number;
  memory: number;
  storage: number;
}

/** What the search needs to know of a host; callers may pass richer objects and get them back. */
export interface MarketHost {
  id: string;
  name: string;
  prices: HostPrices;
  total: HostCapacity;
  reserved: HostCapacity;
}

export interface HostOffer<H extends MarketHost = MarketHost> {
  host: H;
  quote: Quote;
}

export function freeResources(total: HostCapacity, reserved: HostCapacity): HostCapacity {
  return {
    speed: total.speed - reserved.speed,
    memory: total.memory - reserved.memory,
    storage: total.storage - reserved.storage,
  };
}

export function fits(free: HostCapacity, size: MachineSize): boolean {
  return free.speed >= size.speed && free.memory >= size.memory && free.storage >= size.disk;
}

/** Storing reserves speed, memory and storage whether or not the machine runs (report note 15). */
export function reserve(reserved: HostCapacity, size: MachineSize, total: HostCapacity): HostCapacity {
  if (!fits(freeResources(total, reserved), size)) {
    throw new RangeError(
      `Cannot reserve ${describe(size)}: only ${describe(asSize(freeResources(total, reserved)))} is free`,
    );
  }
  return { speed: reserved.speed + size.speed, memory: reserved.memory + size.memory, storage: reserved.storage + size.disk };
}

export function release(reserved: HostCapacity, size: MachineSize): HostCapacity {
  if (!fits(reserved, size)) {
    throw new RangeError(`Cannot release ${describe(size)}: only ${describe(asSize(reserved))} is reserved`);
  }
  return { speed: reserved.speed - size.speed, memory: reserved.memory - size.memory, storage: reserved.storage - size.disk };
}

const asSize = (capacity: HostCapacity): MachineSize => ({ speed: capacity.speed, memory: capacity.memory, disk: capacity.storage });
const describe = (size: MachineSize) => `${size.speed} bogomips, ${size.memory} MB memory, ${size.disk} MB disk`;

const hostFits = (host: MarketHost, size: MachineSize) => fits(freeResources(host.total, host.reserved), size);

/** Cheapest to run first, then cheapest to store, then by name so equal offers keep a stable order. */
function byPrice<H extends MarketHost>(hosts: H[], size: MachineSize): HostOffer<H>[] {
  return hosts
    .map((host) => ({ host, running: runningRatePerSecond(host.prices, size), storage: storageRatePerDay(host.prices, size) }))
    .sort(
      (a, b) =>
        a.running.compare(b.running) ||
        a.storage.compare(b.storage) ||
        (a.host.name < b.host.name ? -1 : a.host.name > b.host.name ? 1 : 0),
    )
    .map(({ host }) => ({ host, quote: quote(host.prices, size) }));
}

/** Hosts that can hold the machine at rates the buyer's asked prices accept. */
export function storeSearch<H extends MarketHost>(hosts: readonly H[], size: MachineSize, asked: AskedPrices): HostOffer<H>[] {
  return byPrice(
    hosts.filter((host) => hostFits(host, size) && askedRatesAccept(asked, host.prices, size)),
    size,
  );
}

/** Every other host that can hold the machine; no price filter, the buyer chooses (report fig. 20). */
export function migrateSearch<H extends MarketHost>(hosts: readonly H[], size: MachineSize, currentHostId: string): HostOffer<H>[] {
  return byPrice(
    hosts.filter((host) => host.id !== currentHostId && hostFits(host, size)),
    size,
  );
}
