import { renameSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { MACHINE_FILES as F, stateSaveCommand, type StateCompression } from './command-line';
import { sleep, type QmpExecutor } from './qmp-client';

export type { QmpExecutor } from './qmp-client';

interface MigrateInfo {
  status?: string;
  'error-desc'?: string;
  ram?: { transferred?: number };
}

/**
 * Save device + memory state through QEMU's migration to a file: `stop`, `migrate exec:...`,
 * poll `query-migrate`. When QEMU refuses (migration blockers, a guest still booting, ...) the
 * VM is continued and the attempt repeated, up to `attempts` times (report §6.2.3 retried VMware's
 * suspend 100 times). Resolves with the number of attempts; throws the last error otherwise.
 * Leaves the VM paused (postmigrate) on success, running (if it was) on failure.
 */
export async function saveStateWithRetry(
  qmp: QmpExecutor,
  opts: { uri: string; attempts: number; retryDelayMs: number; migrateTimeoutMs?: number; onRetry?: (n: number, err: string) => void },
): Promise<number> {
  let lastErr = 'no attempt made';
  for (let attempt = 1; attempt <= opts.attempts; attempt++) {
    let wasRunning = false;
    try {
      const st = await qmp.execute<{ status: string; running: boolean }>('query-status');
      wasRunning = st.running;
      if (wasRunning) await qmp.execute('stop');
      await qmp.execute('migrate', { uri: opts.uri });
      const deadline = Date.now() + (opts.migrateTimeoutMs ?? 120_000);
      for (;;) {
        const info = await qmp.execute<MigrateInfo>('query-migrate');
        if (info.status === 'completed') return attempt;
        if (info.status === 'failed' || info.status === 'cancelled') {
          throw new Error(`migration ${info.status}${info['error-desc'] ? `: ${info['error-desc']}` : ''}`);
        }
        if (Date.now() > deadline) {
          await qmp.execute('migrate_cancel').catch(() => undefined);
          throw new Error('migration did not complete in time');
        }
        await sleep(30);
      }
    } catch (e) {
      lastErr = e instanceof Error ? e.message : String(e);
      if ((e as Error)?.name === 'QmpClosedError') throw e; // the VMM is gone: nothing to retry
      if (wasRunning) await qmp.execute('cont').catch(() => undefined);
      opts.onRetry?.(attempt, lastErr);
      if (attempt < opts.attempts) await sleep(opts.retryDelayMs);
    }
  }
  throw new Error(lastErr);
}

/**
 * Suspend's half in the machine directory: save the state to state.bin.partial (with retries),
 * then rename it to state.bin. On failure no partial file is left and the error is rethrown.
 */
export async function saveStateFile(
  qmp: QmpExecutor,
  dir: string,
  opts: { compression: StateCompression; attempts: number; retryDelayMs: number },
): Promise<{ attempts: number; bytes: number }> {
  const partial = path.join(dir, F.stateTmp);
  rmSync(partial, { force: true });
  let attempts: number;
  try {
    attempts = await saveStateWithRetry(qmp, {
      uri: stateSaveCommand(F.stateTmp, opts.compression),
      attempts: opts.attempts,
      retryDelayMs: opts.retryDelayMs,
    });
  } catch (e) {
    rmSync(partial, { force: true });
    throw e;
  }
  renameSync(partial, path.join(dir, F.state));
  return { attempts, bytes: statSync(path.join(dir, F.state)).size };
}

/**
 * Resume's wait: a process started with `-incoming` loads the state file, then stays paused.
 * Resolves once the load completed; throws if it failed or took over `timeoutMs`.
 */
export async function waitForStateLoaded(qmp: QmpExecutor, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await qmp.execute<{ status: string }>('query-status');
    if (s.status !== 'inmigrate' && s.status !== 'prelaunch') break;
    if (Date.now() > deadline) throw new Error('state load did not finish in time');
    await sleep(30);
  }
  const mig = await qmp.execute<MigrateInfo>('query-migrate');
  if (mig.status && mig.status !== 'completed') throw new Error(`state load ${mig.status}`);
}

/** The state file compression to use: 'auto' means zstd when it is installed. */
export function chooseStateCompression(want: StateCompression | 'auto'): StateCompression {
  if (want !== 'auto') return want;
  return spawnSync('zstd', ['--version'], { stdio: 'ignore' }).status === 0 ? 'zstd' : 'none';
}
