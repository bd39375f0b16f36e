import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidMachineStateError, MachineNotFoundError, SuspendFailedError } from '../vmm/vmm-driver';
import { ConsoleRelay } from './console-relay';
import { CommandError, toFailure } from './errors';
import { EventQueue } from './event-queue';
import { parseBogomips, parseCpuCount, parseMemTotalMb } from './host-facts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'vzu-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('driver errors → reply codes', () => {
  it('maps each error class', () => {
    const id = '00000000-0000-0000-0000-000000000001';
    expect(toFailure(new SuspendFailedError(id, 20, 'migration failed'))).toEqual({
      ok: false,
      code: 'refused',
      error: expect.stringMatching(/suspend of .* failed after 20 attempts \(machine left running\)/),
    });
    expect(toFailure(new MachineNotFoundError(id))).toMatchObject({ code: 'not-found' });
    expect(toFailure(new InvalidMachineStateError(id, 'running', 'start'))).toMatchObject({
      code: 'conflict',
      error: `cannot start machine ${id}: it is running`,
    });
    expect(toFailure(new CommandError('conflict', 'x'))).toEqual({ ok: false, code: 'conflict', error: 'x' });
    expect(toFailure(new Error('qemu-img: boom\nmore'))).toEqual({ ok: false, code: 'failed', error: 'qemu-img: boom' });
  });
});

describe('host facts', () => {
  it('sums bogomips and rounds down; counts cpus; MemTotal in MB', () => {
    const cpuinfo = 'processor\t: 0\nbogomips\t: 5199.99\n\nprocessor\t: 1\nbogomips\t: 5199.99\n';
    expect(parseBogomips(cpuinfo)).toBe(10399);
    expect(parseCpuCount(cpuinfo)).toBe(2);
    expect(parseMemTotalMb('MemTotal:       24683520 kB\nMemFree: 1 kB\n')).toBe(24105);
  });
});

describe('event queue (the journal)', () => {
  it('numbers entries, survives a restart and drops only what was acknowledged', () => {
    const q = new EventQueue(dir);
    const a = { machineId: 'm1', kind: 'poweredOff' as const, at: '2026-01-01T00:00:00Z', version: 2 };
    const b = { machineId: 'm2', kind: 'crashed' as const, at: '2026-01-01T00:00:01Z', version: 4 };
    q.push(a);
    q.note('agent.command.received', 'vm.start received', 'm1');
    const sent = q.pending();
    q.push(b); // arrives while the heartbeat is in flight
    q.ack(sent[sent.length - 1].seq);
    const again = new EventQueue(dir);
    expect(again.pending()).toEqual([expect.objectContaining({ seq: 3, kind: 'vm.crashed', machineId: 'm2', event: b })]);
    // The numbering goes on after the restart; an old acknowledgement changes nothing.
    again.note('vm.process.started', 'VM process started (pid 1)', 'm3');
    again.ack(1);
    expect(new EventQueue(dir).pending().map((entry) => entry.seq)).toEqual([3, 4]);
    expect(sent.map((entry) => [entry.seq, entry.kind])).toEqual([
      [1, 'vm.poweredOff'],
      [2, 'agent.command.received'],
    ]);
  });

  it('hands out a bounded number of the oldest entries, and cuts acknowledged ones from the file', () => {
    const own = mkdtempSync(path.join(os.tmpdir(), 'journal-'));
    const q = new EventQueue(own, 20);
    for (let i = 0; i < 60; i++) q.note('qmp.STOP', `stop ${i}`, 'm9');
    expect(q.pending(25).map((entry) => entry.seq)).toEqual(Array.from({ length: 25 }, (_, i) => 1 + i));
    q.ack(50);
    expect(new EventQueue(own).pending().map((entry) => entry.message)).toEqual(Array.from({ length: 10 }, (_, i) => `stop ${50 + i}`));
    // Compacted: the file holds the pending entries only.
    expect(readFileSync(path.join(own, 'journal.jsonl'), 'utf8').trim().split('\n')).toHaveLength(10);
    rmSync(own, { recursive: true, force: true });
  });

  it('takes over the events queued by an agent from before the journal (events.json)', () => {
    const legacyDir = mkdtempSync(path.join(os.tmpdir(), 'journal-legacy-'));
    const event = { machineId: 'm1', kind: 'poweredOff' as const, at: '2026-01-01T00:00:00Z', version: 2, detail: 'guest-shutdown' };
    writeFileSync(path.join(legacyDir, 'events.json'), JSON.stringify({ events: [event] }));
    const q = new EventQueue(legacyDir);
    expect(q.pending()).toEqual([expect.objectContaining({ seq: 1, kind: 'vm.poweredOff', event })]);
    expect(existsSync(path.join(legacyDir, 'events.json'))).toBe(false);
    rmSync(legacyDir, { recursive: true, force: true });
  });
});

describe('console relay (unit, fake VNC socket)', () => {
  let vnc: net.Server;
  let relay: ConsoleRelay;
  let port: number;
  let running = true;
  const received: Buffer[] = [];
  const sock = path.join(dir, 'vnc.sock');

  beforeAll(async () => {
    vnc = net.createServer((s) => {
      s.write('RFB 003.008\n');
      s.on('data', (d) => received.push(d));
    });
    await new Promise<void>((r) => vnc.listen(sock, r));
    relay = new ConsoleRelay({ isRunning: async () => ({ running, state: running ? 'running' : 'stopped' }), vncSocketPath: () => sock }, 300);
    port = (await relay.listen('127.0.0.1', 0)).port;
  });
  afterAll(async () => {
    await relay.close();
    vnc.close();
  });

  const connect = (first?: string) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let data = '';
    s.on('data', (d) => (data += d.toString('latin1')));
    if (first !== undefined) s.on('connect', () => s.write(first));
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    return { s, closed, data: () => data };
  };

  it('closes a connection that sends no ticket in time', async () => {
    const t0 = Date.now();
    const c = connect();
    await c.closed;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(c.data()).toBe('');
  });

  it('forwards bytes sent right after the ticket line', async () => {
    relay.open('m', 'ticket-0123456789abcdef', Date.now() + 5_000);
    const c = connect('ticket-0123456789abcdef\r\nRFB 003.008\n');
    await new Promise((r) => setTimeout(r, 200));
    expect(c.data()).toBe('RFB 003.008\n');
    expect(Buffer.concat(received).toString()).toBe('RFB 003.008\n');
    c.s.destroy();
  });

  it('gives no console for a machine that stopped after its ticket was issued', async () => {
    relay.open('m', 'ticket-stopped-0123456789', Date.now() + 5_000);
    running = false;
    const c = connect('ticket-stopped-0123456789\n');
    await c.closed;
    expect(c.data()).toBe('');
    running = true;
  });
});
