import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MachineDirs } from './machine-dir';
import { exitReason, isQemuOf, pidAlive, QemuProcesses, shellQuote } from './qemu-process';

const ID = '0b0e6a5c-8a4e-4a53-9d5e-6a0c1f2b3c4d';

describe('exitReason', () => {
  it("names the driver's intent first, then a guest power-off, else a crash", () => {
    expect(exitReason('suspend', true)).toBe('suspended');
    expect(exitReason('stop', true)).toBe('stopped');
    expect(exitReason('delete', false)).toBe('deleted');
    expect(exitReason(null, true)).toBe('poweredOff');
    expect(exitReason(null, false)).toBe('crashed');
  });
});

describe('process checks', () => {
  it('pidAlive never counts pids 0 and 1 (process groups, init)', () => {
    expect(pidAlive(process.pid)).toBe(true);
    expect(pidAlive(0)).toBe(false);
    expect(pidAlive(1)).toBe(false);
    expect(pidAlive(-5)).toBe(false);
  });

  it("isQemuOf rejects a live process that is not this machine's QEMU (a recycled pid)", () => {
    expect(isQemuOf(process.pid, process.cwd(), ID)).toBe(false);
  });

  it('shellQuote leaves plain words and quotes the rest', () => {
    expect(shellQuote('-machine')).toBe('-machine');
    expect(shellQuote('file=disk.qcow2,if=none')).toBe('file=disk.qcow2,if=none');
    expect(shellQuote("console=ttyS0 it's")).toBe(`'console=ttyS0 it'\\''s'`);
  });
});

describe('QemuProcesses.reattach', () => {
  let root: string;
  let dirs: MachineDirs;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'vz-proc-'));
    dirs = new MachineDirs(root);
    mkdirSync(dirs.dir(ID));
    dirs.write(ID, {
      format: 1,
      spec: { id: ID, mac: '52:54:00:12:34:56', vcpus: 1, memoryMb: 128, diskMb: 64 },
      version: 4,
      diskMb: 64,
      createdAt: '2026-12-01T10:00:00.000Z',
      media: null,
    });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('counts a run that ended unobserved (pid file, no such QEMU): version + 1, "unobserved" emitted, pid file gone', async () => {
    const events = new EventEmitter();
    const exited: unknown[] = [];
    events.on('exited', (e) => exited.push(e));
    const processes = new QemuProcesses({ dirs, events, qemuBinary: 'qemu-system-x86_64', startTimeoutMs: 1_000 });
    const pidFile = dirs.file(ID, 'qemu.pid');
    writeFileSync(pidFile, `${process.pid}\n`); // alive, but not this machine's QEMU
    expect(await processes.reattach(ID)).toBeUndefined();
    expect(dirs.read(ID).version).toBe(5);
    expect(exited).toEqual([{ id: ID, reason: 'unobserved', code: null, signal: null }]);
    expect(existsSync(pidFile)).toBe(false);
    // Nothing left to count the second time.
    expect(await processes.reattach(ID)).toBeUndefined();
    expect(dirs.read(ID).version).toBe(5);
    expect(exited).toHaveLength(1);
  });
});
