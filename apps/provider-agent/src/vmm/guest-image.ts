import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** The tiny Debian guest built by tools/guest-image/build.sh (tests, demos, the accel probe). */
export interface GuestImage {
  dir: string;
  vmlinux: string;
  vmlinuz: string;
  initramfs: string;
  qcow2: string;
  iso: string;
  /** Line the guest prints on ttyS0 and tty0 once booted. */
  marker: string;
  manifest?: { kernel?: { package?: string; version?: string }; files?: Record<string, { sha256: string }> };
}

export const GUEST_READY_MARKER = 'VIRTUOSO-GUEST-READY';

/** Repository root: this file lives in apps/provider-agent/{src,dist}/vmm/. */
export function repoRoot(): string {
  return path.resolve(__dirname, '..', '..', '..', '..');
}

/** $VIRTUOSO_IMAGE_DIR, or <repo>/.cache/guest-image (build.sh's default). */
export function guestImageDir(): string {
  return process.env['VIRTUOSO_IMAGE_DIR'] || path.join(repoRoot(), '.cache', 'guest-image');
}

export function guestImage(dir = guestImageDir()): GuestImage {
  const manifestPath = path.join(dir, 'manifest.json');
  let manifest: GuestImage['manifest'];
  if (existsSync(manifestPath)) {
    try {
      manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    } catch {
      manifest = undefined;
    }
  }
  return {
    dir,
    vmlinux: path.join(dir, 'vmlinux'),
    vmlinuz: path.join(dir, 'vmlinuz'),
    initramfs: path.join(dir, 'initramfs.gz'),
    qcow2: path.join(dir, 'tiny-linux.qcow2'),
    iso: path.join(dir, 'tiny-linux.iso'),
    marker: GUEST_READY_MARKER,
    manifest,
  };
}

export function guestImageAvailable(img: GuestImage): boolean {
  return [img.vmlinux, img.initramfs].every((f) => existsSync(f));
}
