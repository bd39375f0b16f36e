import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const MiB = 1024 * 1024;

/** The machine disks, made with qemu-img (default $VIRTUOSO_QEMU_IMG or qemu-img). */
export class QemuImg {
  readonly binary: string;

  constructor(binary?: string) {
    this.binary = binary ?? process.env['VIRTUOSO_QEMU_IMG'] ?? 'qemu-img';
  }

  /**
   * Make `disk` (qcow2): blank of `diskMb`, or a copy of `baseImage` grown to `diskMb` when it is
   * smaller. Resolves with the effective size in MiB (a larger image keeps its size).
   */
  async createDisk(disk: string, opts: { diskMb: number; baseImage?: string }): Promise<number> {
    if (!opts.baseImage) {
      await execFileP(this.binary, ['create', '-q', '-f', 'qcow2', disk, `${opts.diskMb}M`]);
      return opts.diskMb;
    }
    if (!existsSync(opts.baseImage)) throw new Error(`base image not found: ${opts.baseImage}`);
    await execFileP(this.binary, ['convert', '-q', '-O', 'qcow2', opts.baseImage, disk]);
    const size = await this.virtualSize(disk);
    if (opts.diskMb * MiB > size) {
      await execFileP(this.binary, ['resize', '-q', disk, `${opts.diskMb}M`]);
      return opts.diskMb;
    }
    return Math.ceil(size / MiB);
  }

  /** Virtual size in bytes (-U: readable while a VM holds the image). */
  async virtualSize(file: string): Promise<number> {
    const { stdout } = await execFileP(this.binary, ['info', '-U', '--output=json', file]);
    return (JSON.parse(stdout) as { 'virtual-size': number })['virtual-size'];
  }
}
