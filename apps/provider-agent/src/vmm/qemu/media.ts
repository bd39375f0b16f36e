import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { QmpExecutor } from './qmp-client';

/** The CD-ROM drive (qdev id cdrom0, see command-line.ts). */
const CDROM = 'cdrom0';

/** Absolute path of an ISO that exists as a regular file; throws otherwise. */
export function resolveIso(isoPath: string): string {
  const iso = path.resolve(isoPath);
  if (!existsSync(iso) || !statSync(iso).isFile()) throw new Error(`ISO not found: ${isoPath}`);
  return iso;
}

/** Put `iso` in the running VM's drive (forced: the guest may have locked the tray). */
export async function insertMedium(qmp: QmpExecutor, iso: string): Promise<void> {
  await qmp.execute('blockdev-change-medium', {
    id: CDROM,
    filename: iso,
    format: 'raw',
    'read-only-mode': 'read-only',
    force: true,
  });
}

/** Empty the running VM's drive (forced, as above). */
export async function ejectMedium(qmp: QmpExecutor): Promise<void> {
  await qmp.execute('eject', { id: CDROM, force: true });
}
