import { describe, expect, it } from 'vitest';
import { saveStateWithRetry, type QmpExecutor } from './save-state';
import { QmpError } from './qmp-client';

/** A fake QMP that refuses `migrate` a given number of times (like VMware refusing to suspend a
 *  guest that is still booting, report §6.2.3). */
function fakeQemu(refusals: number) {
  const calls: string[] = [];
  let running = true;
  let migrations = 0;
  const qmp: QmpExecutor = {
    async execute<T>(command: string): Promise<T> {
      calls.push(command);
      switch (command) {
        case 'query-status':
          return { status: running ? 'running' : 'paused', running } as T;
        case 'stop':
          running = false;
          return {} as T;
        case 'cont':
          running = true;
          return {} as T;
        case 'migrate':
          if (migrations++ < refusals) throw new QmpError('migrate', 'GenericError', 'guest not ready');
          return {} as T;
        case 'query-migrate':
          return { status: 'completed' } as T;
        default:
          throw new Error(`unexpected ${command}`);
      }
    },
  };
  return { qmp, calls, isRunning: () => running };
}

describe('saveStateWithRetry', () => {
  it('retries while QEMU refuses, then saves with the VM paused', async () => {
    const f = fakeQemu(2);
    const attempts = await saveStateWithRetry(f.qmp, { uri: 'exec:cat > s', attempts: 5, retryDelayMs: 1 });
    expect(attempts).toBe(3);
    expect(f.isRunning()).toBe(false);
    expect(f.calls.filter((c) => c === 'cont')).toHaveLength(2);
  });

  it('gives up after the last attempt and leaves the VM running', async () => {
    const f = fakeQemu(100);
    const retries: number[] = [];
    await expect(saveStateWithRetry(f.qmp, { uri: 'exec:cat > s', attempts: 4, retryDelayMs: 1, onRetry: (n) => retries.push(n) })).rejects.toThrow(
      /guest not ready/,
    );
    expect(retries).toEqual([1, 2, 3, 4]);
    expect(f.isRunning()).toBe(true);
  });
});
