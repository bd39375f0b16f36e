import { fsyncSync, closeSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';

/** Write JSON atomically (temp file, fsync, rename): a crash leaves the old or the new file. */
export function writeJsonAtomic(file: string, value: unknown, mode = 0o600): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, JSON.stringify(value, null, 2) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

export function readJson<T>(file: string, fallback: T): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
  return JSON.parse(text) as T;
}
