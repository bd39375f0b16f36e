import { execFile } from 'node:child_process';
import { lstatSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { ManifestFile } from '@virtuoso/contracts';
import { sha256File } from './export-manifest';

const execFileP = promisify(execFile);

export class VerifyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerifyError';
  }
}

export { sha256File };

/**
 * The copy in `dir` is what the origin exported (report §7.2: the destination verifies before it
 * answers SUCCESS): exactly the manifest's files, regular files only, each of its size and sha256
 * (streamed), and the disk passes `qemu-img check`. Throws a VerifyError naming the file.
 */
export async function verifyCopy(dir: string, files: ManifestFile[], qemuImg = process.env['VIRTUOSO_QEMU_IMG'] ?? 'qemu-img'): Promise<void> {
  const expected = new Set(files.map((f) => f.name));
  const arrived = readdirSync(dir);
  const extra = arrived.filter((n) => !expected.has(n as ManifestFile['name']));
  if (extra.length) throw new VerifyError(`files not in the manifest arrived: ${extra.sort().join(', ')}`);
  for (const f of files) {
    const file = path.join(dir, f.name);
    let st;
    try {
      st = lstatSync(file);
    } catch {
      throw new VerifyError(`${f.name} did not arrive`);
    }
    if (!st.isFile()) throw new VerifyError(`${f.name} is not a regular file`);
    if (st.size !== f.size) throw new VerifyError(`${f.name} has ${st.size} bytes, the manifest says ${f.size}`);
    const sha = await sha256File(file);
    if (sha !== f.sha256.toLowerCase())
      throw new VerifyError(`${f.name} differs from the origin's (sha256 ${sha.slice(0, 12)}… instead of ${f.sha256.slice(0, 12)}…)`);
  }
  if (expected.has('disk.qcow2')) await checkDisk(path.join(dir, 'disk.qcow2'), qemuImg);
}

/** `qemu-img check`: 0 clean; 3 leaked clusters only (harmless: space, not data); else corrupt. */
async function checkDisk(file: string, qemuImg: string): Promise<void> {
  try {
    await execFileP(qemuImg, ['check', '-q', '-f', 'qcow2', file]);
  } catch (e) {
    const err = e as { code?: number; stderr?: string; stdout?: string };
    if (err.code === 3) return;
    const why = `${err.stderr ?? ''}\n${err.stdout ?? ''}`.trim().split('\n').slice(-2).join('; ');
    throw new VerifyError(`disk.qcow2 fails qemu-img check${why ? `: ${why}` : ''}`);
  }
}
