import { spawn, execFile } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { Accel } from './qemu/command-line';
import { guestImage, guestImageAvailable, type GuestImage } from './guest-image';

/**
 * Choose the accelerator by BOOTING, not by the presence of /dev/kvm: on nested/paravirtual KVM
 * (e.g. kvm_pvm) the device exists and KVM starts, yet Linux guests die with emulation failures.
 * The probe boots the tiny guest's vmlinux under KVM and waits for its marker on the serial port.
 *
 * Env VIRTUOSO_ACCEL = tcg | kvm | probe (default probe).
 */
export type AccelMode = 'tcg' | 'kvm' | 'probe';

export interface AccelChoice {
  accel: Accel;
  /** How it was decided. */
  source: 'config' | 'probe' | 'cache' | 'no-kvm-device' | 'no-probe-image';
  reason: string;
  /** Duration of the KVM boot probe, when one ran. */
  probeMs?: number;
}

export interface AccelProbeOptions {
  mode?: AccelMode;
  qemuBinary?: string;
  image?: GuestImage;
  /** How long KVM gets to print the marker. Default $VIRTUOSO_ACCEL_PROBE_TIMEOUT_MS or 8 s: TCG
   *  reaches the marker in ~2.5 s on 2 cores, a working KVM in well under 1 s; a KVM slower than
   *  that is not worth using (nested kvm_pvm here fails after ~23 s with a KVM internal error). */
  timeoutMs?: number;
  /** JSON file remembering the probe result across processes; null disables it.
   *  Default: $VIRTUOSO_ACCEL_CACHE or <image dir>/accel-probe.json. */
  cacheFile?: string | null;
  kvmDevice?: string;
}

const memo = new Map<string, Promise<AccelChoice>>();

export function accelModeFromEnv(): AccelMode {
  const v = (process.env['VIRTUOSO_ACCEL'] || 'probe').toLowerCase();
  if (v === 'tcg' || v === 'kvm' || v === 'probe') return v;
  throw new Error(`VIRTUOSO_ACCEL must be tcg, kvm or probe (got ${v})`);
}

export async function chooseAccelerator(opts: AccelProbeOptions = {}): Promise<AccelChoice> {
  const mode = opts.mode ?? accelModeFromEnv();
  if (mode === 'tcg') return { accel: 'tcg', source: 'config', reason: 'configured (VIRTUOSO_ACCEL=tcg)' };
  if (mode === 'kvm') return { accel: 'kvm', source: 'config', reason: 'configured (VIRTUOSO_ACCEL=kvm)' };

  const kvmDevice = opts.kvmDevice ?? '/dev/kvm';
  try {
    accessSync(kvmDevice, constants.R_OK | constants.W_OK);
  } catch {
    return { accel: 'tcg', source: 'no-kvm-device', reason: `${kvmDevice} missing or not accessible` };
  }
  const image = opts.image ?? guestImage();
  if (!guestImageAvailable(image)) {
    return { accel: 'tcg', source: 'no-probe-image', reason: `no probe guest in ${image.dir} (run tools/guest-image/build.sh)` };
  }
  const qemu = opts.qemuBinary ?? 'qemu-system-x86_64';
  const key = JSON.stringify([await qemuVersion(qemu), os.release(), image.manifest?.files?.['vmlinux']?.sha256 ?? image.vmlinux]);
  let p = memo.get(key);
  if (!p) {
    p = probeWithCache(key, qemu, image, opts);
    memo.set(key, p);
  }
  return p;
}

async function probeWithCache(key: string, qemu: string, image: GuestImage, opts: AccelProbeOptions): Promise<AccelChoice> {
  const cacheFile = opts.cacheFile === undefined ? process.env['VIRTUOSO_ACCEL_CACHE'] || path.join(image.dir, 'accel-probe.json') : opts.cacheFile;
  if (cacheFile) {
    try {
      const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { key: string; choice: AccelChoice };
      if (cached.key === key && (cached.choice.accel === 'kvm' || cached.choice.accel === 'tcg')) {
        return { ...cached.choice, source: 'cache' };
      }
    } catch {
      /* no or bad cache */
    }
  }
  const timeoutMs = opts.timeoutMs ?? (Number(process.env['VIRTUOSO_ACCEL_PROBE_TIMEOUT_MS']) || 8_000);
  const r = await probeKvmBoot({ qemuBinary: qemu, image, timeoutMs });
  const choice: AccelChoice = r.ok
    ? { accel: 'kvm', source: 'probe', reason: `KVM booted the probe guest in ${r.ms} ms`, probeMs: r.ms }
    : { accel: 'tcg', source: 'probe', reason: `KVM probe failed: ${r.detail}`, probeMs: r.ms };
  if (cacheFile) {
    try {
      mkdirSync(path.dirname(cacheFile), { recursive: true });
      writeFileSync(cacheFile, JSON.stringify({ key, choice, probedAt: new Date().toISOString() }, null, 2));
    } catch {
      /* cache is best effort */
    }
  }
  return choice;
}

async function qemuVersion(qemu: string): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(qemu, ['--version'], { timeout: 10_000 });
    return stdout.split('\n')[0] ?? '';
  } catch (e) {
    throw new Error(`cannot run ${qemu}: ${(e as Error).message}`);
  }
}

/** Boot the tiny guest under KVM; ok when the marker shows on the serial port in time. */
export function probeKvmBoot(opts: { qemuBinary?: string; image: GuestImage; timeoutMs: number }): Promise<{ ok: boolean; ms: number; detail: string }> {
  const t0 = Date.now();
  const args = [
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-machine',
    'pc',
    '-accel',
    'kvm',
    '-m',
    '128M',
    '-smp',
    '1',
    '-no-reboot',
    '-kernel',
    opts.image.vmlinux,
    '-initrd',
    opts.image.initramfs,
    '-append',
    'console=ttyS0 quiet',
    '-serial',
    'stdio',
  ];
  return new Promise((resolve) => {
    const child = spawn(opts.qemuBinary ?? 'qemu-system-x86_64', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let done = false;
    const finish = (ok: boolean, detail: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      resolve({ ok, ms: Date.now() - t0, detail });
    };
    const timer = setTimeout(() => finish(false, `no marker within ${opts.timeoutMs} ms`), opts.timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (out.includes(opts.image.marker)) finish(true, 'marker seen');
      if (out.length > 65536) out = out.slice(-4096);
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString('latin1');
      // QEMU pauses the VM (process stays) on a KVM internal error: fail fast.
      const m = /KVM internal error[^\n]*|emulation failure|failed to initialize kvm[^\n]*/i.exec(err);
      if (m) finish(false, m[0].trim());
    });
    child.on('error', (e) => finish(false, e.message));
    child.on('exit', (code, sig) => finish(false, `qemu exited (${code ?? sig}): ${err.trim().split('\n').pop() ?? ''}`));
  });
}
