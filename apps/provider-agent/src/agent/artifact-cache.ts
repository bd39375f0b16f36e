import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Logger } from '@nestjs/common';
import type { FrontendClient } from './frontend-client';

const execFileP = promisify(execFile);
const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Preconfigured images (images/<sha256>.img) and install media (media/<sha256>.iso) fetched from
 * the front-end's store and kept by content: a second machine from the same image downloads
 * nothing, and a file is only ever named by the hash it was verified against.
 */
export class ArtifactCache {
  private readonly log = new Logger('ArtifactCache');
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(
    private readonly dataDir: string,
    private readonly frontend: FrontendClient,
    private readonly qemuImg = process.env['VIRTUOSO_QEMU_IMG'] ?? 'qemu-img',
  ) {}

  image(name: string, sha256: string): Promise<string> {
    return this.fetch('images', name, sha256, '.img');
  }

  media(id: string, sha256: string): Promise<string> {
    return this.fetch('media', id, sha256, '.iso');
  }

  private fetch(kind: 'images' | 'media', name: string, sha256: string, ext: string): Promise<string> {
    if (typeof sha256 !== 'string' || !SHA256.test(sha256.toLowerCase())) throw new Error(`sha256 must be 64 hex digits (got ${JSON.stringify(sha256)})`);
    const sha = sha256.toLowerCase();
    const dir = path.join(this.dataDir, kind);
    const file = path.join(dir, `${sha}${ext}`);
    if (existsSync(file)) return Promise.resolve(file);
    const key = `${kind}/${sha}`;
    let p = this.inflight.get(key);
    if (!p) {
      p = (async () => {
        mkdirSync(dir, { recursive: true });
        const t0 = Date.now();
        const r = await this.frontend.download(kind, name, sha, dir, ext);
        try {
          if (kind === 'images') await this.checkImage(r.path);
        } catch (e) {
          rmSync(r.path, { force: true });
          throw e;
        }
        this.log.log(`fetched ${kind} ${name} (${r.bytes} bytes, sha256 ${sha.slice(0, 12)}…) in ${Date.now() - t0} ms`);
        return r.path;
      })().finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  /** A disk image must not point at other files of this host (backing or external data files). */
  private async checkImage(file: string): Promise<void> {
    if (statSync(file).size === 0) throw new Error('image is empty');
    const { stdout } = await execFileP(this.qemuImg, ['info', '-U', '--output=json', file]);
    const info = JSON.parse(stdout) as {
      format?: string;
      'backing-filename'?: string;
      'format-specific'?: { data?: { 'data-file'?: string } };
    };
    if (info.format !== 'qcow2' && info.format !== 'raw') throw new Error(`image format ${info.format} not accepted (qcow2 or raw)`);
    if (info['backing-filename']) throw new Error(`image refers to a backing file (${info['backing-filename']}): refused`);
    if (info['format-specific']?.data?.['data-file']) throw new Error('image refers to an external data file: refused');
  }
}
