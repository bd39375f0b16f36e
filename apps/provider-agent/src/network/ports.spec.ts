import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePorts } from '../agent/test-support/agent-process';
import { choosePorts, PortAllocator, portBindable, PortsExhaustedError } from './ports';

const range = { first: 20000, last: 20004 };

describe('choosePorts (pure)', () => {
  it('takes the lowest free ports of the range, in order', () => {
    expect(choosePorts(2, range, new Set())).toEqual([20000, 20001]);
    expect(choosePorts(2, range, new Set([20000, 20002]))).toEqual([20001, 20003]);
  });

  it('keeps a preferred port when it is free, in the range and not refused', () => {
    expect(choosePorts(2, range, new Set(), [20003, 20004])).toEqual([20003, 20004]);
    // taken by another machine, outside the range, refused (unbindable): the lowest free instead
    expect(choosePorts(3, range, new Set([20003]), [20003, 30000, 20002], new Set([20002]))).toEqual([20000, 20001, 20004]);
    // the same preferred port twice is chosen once
    expect(choosePorts(2, range, new Set(), [20004, 20004])).toEqual([20004, 20000]);
  });

  it('says when the range is exhausted', () => {
    expect(choosePorts(2, range, new Set([20000, 20001, 20002, 20003]))).toBeNull();
    expect(choosePorts(0, range, new Set())).toEqual([]);
  });
});

describe('PortAllocator', () => {
  it('never gives two machines the same host port, also when they start at the same time', async () => {
    const ports = new PortAllocator(range, async () => true);
    const [a, b] = await Promise.all([ports.allocate('a', [22, 80]), ports.allocate('b', [22, 80], [20000, 20001])]);
    const hostPorts = [...a, ...b].map((f) => f.hostPort);
    expect(new Set(hostPorts).size).toBe(4);
    expect(a.map((f) => f.guestPort)).toEqual([22, 80]);
    expect(ports.inUse()).toBe(4);
    await expect(ports.allocate('c', [22, 80])).rejects.toBeInstanceOf(PortsExhaustedError);
    expect(ports.inUse()).toBe(4);
  });

  it('frees the ports of a machine whose run ended; a restarted agent adopts the running ones', async () => {
    const ports = new PortAllocator(range, async () => true);
    const a = await ports.allocate('a', [22]);
    ports.release('a');
    expect(ports.inUse()).toBe(0);
    ports.adopt('x', [{ guestPort: 22, hostPort: a[0]!.hostPort }]);
    expect((await ports.allocate('b', [22], [a[0]!.hostPort]))[0]!.hostPort).not.toBe(a[0]!.hostPort);
  });

  it('skips a port something else on the host listens on (the bind test)', async () => {
    const [busy] = await freePorts(1);
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(busy, '0.0.0.0', r));
    try {
      expect(await portBindable(busy!)).toBe(false);
      const ports = new PortAllocator({ first: busy!, last: busy! + 1 });
      const got = await ports.allocate('a', [22], [busy!]);
      expect(got).toEqual([{ guestPort: 22, hostPort: busy! + 1 }]);
    } finally {
      await new Promise((r) => server.close(r));
    }
    // Not asserted that the port is bindable again once closed: a test file running beside this one
    // may take the freed port at once (it did in CI).
  });
});
