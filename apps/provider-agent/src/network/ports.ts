import * as net from 'node:net';
import type { PortForward } from '../vmm/vmm-driver';

/**
 * Forwarded ports (docs/ARCHITECTURE.md §11): each running machine's guest ports (ssh first) are
 * reached on host ports of the provider's range. Two running machines never hold the same host
 * port; a machine gets the ports it had last time when they are still free (the ssh command its
 * buyer saved keeps working); ports are held from start/resume until the VMM process ends.
 */

export interface PortRange {
  first: number;
  last: number;
}

/**
 * The choice itself (pure): one host port per guest port, in order. A preferred port is taken when
 * it is in the range, not taken by another machine, not refused (found unbindable) and not chosen
 * for another guest port of this machine; otherwise the lowest such port of the range. null: the
 * range has too few free ports.
 */
export function choosePorts(
  count: number,
  range: PortRange,
  taken: ReadonlySet<number>,
  preferred: readonly number[] = [],
  refused: ReadonlySet<number> = new Set(),
): number[] | null {
  const chosen: number[] = [];
  const free = (p: number) => p >= range.first && p <= range.last && !taken.has(p) && !refused.has(p) && !chosen.includes(p);
  let next = range.first;
  for (let i = 0; i < count; i++) {
    const want = preferred[i];
    if (want !== undefined && free(want)) {
      chosen.push(want);
      continue;
    }
    while (next <= range.last && !free(next)) next++;
    if (next > range.last) return null;
    chosen.push(next);
  }
  return chosen;
}

/** Can a listener bind this TCP port on every address (what QEMU's hostfwd does)? */
export function portBindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host: '0.0.0.0', exclusive: true }, () => s.close(() => resolve(true)));
  });
}

export class PortsExhaustedError extends Error {
  constructor(range: PortRange, wanted: number) {
    super(`no ${wanted} free port(s) left in the forwarded port range ${range.first}-${range.last}`);
    this.name = 'PortsExhaustedError';
  }
}

/** The host ports held by running machines on this host. */
export class PortAllocator {
  /** Machine id → the host ports its run holds (reserved before the bind tests: no two callers
   *  can choose the same port, even while both are testing). */
  private readonly held = new Map<string, number[]>();

  constructor(
    readonly range: PortRange,
    private readonly bindable: (port: number) => Promise<boolean> = portBindable,
  ) {}

  /** Ports of the range held now. */
  inUse(): number {
    let n = 0;
    for (const ports of this.held.values()) n += ports.length;
    return n;
  }

  forwardsOf(machineId: string): number[] | undefined {
    return this.held.get(machineId);
  }

  /** Hold host ports for `guestPorts` (a run starting); replaces what the machine held. */
  async allocate(machineId: string, guestPorts: readonly number[], preferred: readonly number[] = []): Promise<PortForward[]> {
    this.held.delete(machineId);
    const refused = new Set<number>();
    const ports: number[] = [];
    this.held.set(machineId, ports);
    try {
      for (let i = 0; i < guestPorts.length; i++) {
        for (;;) {
          const [port] =
            choosePorts(
              1,
              this.range,
              this.takenBy(machineId, ports),
              [preferred[i]!].filter((p) => p !== undefined),
              refused,
            ) ?? [];
          if (port === undefined) throw new PortsExhaustedError(this.range, guestPorts.length);
          ports.push(port); // held from now on
          if (await this.bindable(port)) break;
          ports.pop();
          refused.add(port); // something else on the host listens there
        }
      }
    } catch (e) {
      if (this.held.get(machineId) === ports) this.held.delete(machineId);
      throw e;
    }
    return guestPorts.map((guestPort, i) => ({ guestPort, hostPort: ports[i]! }));
  }

  /** A run found again after an agent restart keeps its ports. */
  adopt(machineId: string, forwards: readonly PortForward[]): void {
    if (forwards.length)
      this.held.set(
        machineId,
        forwards.map((f) => f.hostPort),
      );
  }

  /** The run ended (or never started): its ports are free. */
  release(machineId: string): void {
    this.held.delete(machineId);
  }

  /** Every held port, the machine's own ones included. */
  private takenBy(machineId: string, own: number[]): Set<number> {
    const taken = new Set<number>(own);
    for (const [id, ports] of this.held) if (id !== machineId) for (const p of ports) taken.add(p);
    return taken;
  }
}
