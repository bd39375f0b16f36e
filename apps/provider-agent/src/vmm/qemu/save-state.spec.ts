import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QmpError, type QmpExecutor } from './qmp-client';
import { saveStateFile, waitForStateLoaded } from './save-state';

let dir: string;
beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'vz-state-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A QMP that "migrates" by writing the partial state file, as QEMU's exec: URI would. */
function fakeQemu(opts: { refuse: boolean }): QmpExecutor {
  return {
    async execute<T>(command: string): Promise<T> {
      switch (command) {
        case 'query-status':
          return { status: 'running', running: true } as T;
        case 'migrate':
          writeFileSync(path.join(dir, 'state.bin.partial'), 'x'.repeat(1234));
          if (opts.refuse) throw new QmpError('migrate', 'GenericError', 'guest is still booting');
          return {} as T;
        case 'query-migrate':
          return { status: 'completed' } as T;
        default:
          return {} as T;
      }
    },
  };
}

describe('saveStateFile', () => {
  it('renames the saved state to state.bin and reports its size', async () => {
    writeFileSync(path.join(dir, 'state.bin.partial'), 'left over from a crashed attempt');
    const saved = await saveStateFile(fakeQemu({ refuse: false }), dir, { compression: 'none', attempts: 3, retryDelayMs: 1 });
    expect(saved).toEqual({ attempts: 1, bytes: 1234 });
    expect(readFileSync(path.join(dir, 'state.bin'), 'utf8')).toHaveLength(1234);
    expect(existsSync(path.join(dir, 'state.bin.partial'))).toBe(false);
  });

  it('leaves neither state file behind when every attempt is refused', async () => {
    await expect(saveStateFile(fakeQemu({ refuse: true }), dir, { compression: 'none', attempts: 2, retryDelayMs: 1 })).rejects.toThrow(
      /guest is still booting/,
    );
    expect(existsSync(path.join(dir, 'state.bin.partial'))).toBe(false);
    expect(existsSync(path.join(dir, 'state.bin'))).toBe(false);
  });
});

describe('waitForStateLoaded', () => {
  const loading = (statuses: string[], migrate: string): QmpExecutor => ({
    async execute<T>(command: string): Promise<T> {
      if (command === 'query-status') return { status: statuses.length > 1 ? statuses.shift() : statuses[0] } as T;
      return { status: migrate } as T;
    },
  });

  it('waits while the incoming state loads, then resolves', async () => {
    await expect(waitForStateLoaded(loading(['inmigrate', 'inmigrate', 'paused'], 'completed'))).resolves.toBeUndefined();
  });

  it('throws when the load failed', async () => {
    await expect(waitForStateLoaded(loading(['paused'], 'failed'))).rejects.toThrow('state load failed');
  });
});
