import {
  type AskedPrices,
  type AskedRates,
  type HostPrices,
  type MachineSize,
  type Quote,
  type Rate,
  askedRates,
  compareRates,
  exactSize,
  quoteRates,
  ratesWithin,
  runningRate,
  storageRate,
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

/** fits(freeResources(host.total, host.reserved), size) without building the free object: searches call it per host. */
export function hasRoomFor(host: Pick<MarketHost, 'total' | 'reserved'>, size: MachineSize): boolean {
  const { total, reserved } = host;
  return total.speed - reserved.speed >= size.speed && total.memory - reserved.memory >= size.memory && total.storage - reserved.storage >= size.disk;
}

/** Storing reserves speed, memory and storage whether or not the machine runs (report note 15). */
export function reserve(reserved: HostCapacity, size: MachineSize, total: HostCapacity): HostCapacity {
  if (!fits(freeResources(total, reserved), size)) {
    throw new RangeError(`Cannot reserve ${describe(size)}: only ${describe(asSize(freeResources(total, reserved)))} is free`);
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

export interface SearchOptions {
  /** At most this many offers, the cheapest; every offer when left out. A whole number ≥ 0. */
  limit?: number;
}

export interface SearchResult<H extends MarketHost = MarketHost> {
  /** The cheapest offers, at most `limit` of them, in order (see cheaper below). */
  offers: HostOffer<H>[];
  /** How many hosts qualified in all, before the limit. */
  total: number;
}

/** A qualifying host with its exact rates for the machine, worked out once per search. */
interface Candidate<H extends MarketHost> {
  host: H;
  index: number;
  running: Rate;
  storage: Rate;
}

/**
 * Cheapest to run first, then cheapest to store, then by name; hosts equal on all three keep the
 * order they were given in (what a stable sort of the whole list gave).
 */
function cheaper<H extends MarketHost>(a: Candidate<H>, b: Candidate<H>): number {
  return (
    compareRates(a.running, b.running) ||
    compareRates(a.storage, b.storage) ||
    (a.host.name < b.host.name ? -1 : a.host.name > b.host.name ? 1 : 0) ||
    a.index - b.index
  );
}

function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return Infinity;
  if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`limit must be a whole number of at least 0, got ${limit}`);
  return limit;
}

/**
 * The `limit` cheapest candidates, cheapest first, out of a stream: a max-heap holds the kept ones
 * with the dearest on top, so most candidates cost one comparison with the top and are dropped.
 */
class Cheapest<H extends MarketHost> {
  private readonly kept: Candidate<H>[] = [];
  constructor(private readonly limit: number) {}

  offer(candidate: Candidate<H>): void {
    const heap = this.kept;
    if (heap.length < this.limit) {
      heap.push(candidate);
      if (this.limit !== Infinity) this.siftUp(heap.length - 1);
    } else if (heap.length > 0 && cheaper(candidate, heap[0]) < 0) {
      heap[0] = candidate;
      this.siftDown(0);
    }
  }

  sorted(): Candidate<H>[] {
    return this.kept.sort(cheaper);
  }

  private siftUp(at: number): void {
    const heap = this.kept;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (cheaper(heap[at], heap[parent]) <= 0) return;
      [heap[at], heap[parent]] = [heap[parent], heap[at]];
      at = parent;
    }
  }

  private siftDown(at: number): void {
    const heap = this.kept;
    for (;;) {
      const left = 2 * at + 1;
      const right = left + 1;
      let dearest = at;
      if (left < heap.length && cheaper(heap[left], heap[dearest]) > 0) dearest = left;
      if (right < heap.length && cheaper(heap[right], heap[dearest]) > 0) dearest = right;
      if (dearest === at) return;
      [heap[at], heap[dearest]] = [heap[dearest], heap[at]];
      at = dearest;
    }
  }
}

/**
 * One pass over the hosts: fit on free resources, each host's exact rates once, the ask (if any),
 * the cheapest `limit` kept; quotes are worked out only for the offers returned.
 */
function search<H extends MarketHost>(
  hosts: readonly H[],
  size: MachineSize,
  options: SearchOptions,
  skipHostId: string | null,
  limits: AskedRates | null,
): SearchResult<H> {
  const cheapest = new Cheapest<H>(checkLimit(options.limit));
  const exact = exactSize(size);
  // Hosts may share one price sheet object (a caller reading many hosts with the same prices):
  // its rates, and whether the ask accepts them, are then worked out once.
  const sheets = new Map<HostPrices, { running: Rate; storage: Rate; accepted: boolean }>();
  let total = 0;
  for (let index = 0; index < hosts.length; index++) {
    const host = hosts[index];
    if (!hasRoomFor(host, size) || host.id === skipHostId) continue;
    let sheet = sheets.get(host.prices);
    if (sheet === undefined) {
      const running = runningRate(host.prices, exact.speed, exact.memory);
      const storage = storageRate(host.prices, exact.disk);
      sheet = { running, storage, accepted: !limits || ratesWithin(running, storage, limits) };
      sheets.set(host.prices, sheet);
    }
    if (!sheet.accepted) continue;
    total += 1;
    cheapest.offer({ host, index, running: sheet.running, storage: sheet.storage });
  }
  const offers = cheapest.sorted().map(({ host, running, storage }) => ({ host, quote: quoteRates(host.prices, running, storage) }));
  return { offers, total };
}

/**
 * Hosts that can hold the machine at rates the buyer's asked prices accept (exact rates, equal
 * accepted), cheapest to run first, then cheapest to store, then by name.
 */
export function storeSearch<H extends MarketHost>(hosts: readonly H[], size: MachineSize, asked: AskedPrices, options: SearchOptions = {}): SearchResult<H> {
  return search(hosts, size, options, null, askedRates(asked));
}

/** Every other host that can hold the machine; no price filter, the buyer chooses (report fig. 20). */
export function migrateSearch<H extends MarketHost>(
  hosts: readonly H[],
  size: MachineSize,
  currentHostId: string,
  options: SearchOptions = {},
): SearchResult<H> {
  return search(hosts, size, options, currentHostId, null);
}
