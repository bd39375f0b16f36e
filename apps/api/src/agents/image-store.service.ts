import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CATALOG } from '../catalog/catalog.seed';
import { CatalogService } from '../catalog/catalog.service';
import { ApiError } from '../common/errors';
import { APP_CONFIG, AppConfig } from '../config';

export interface StoredImage {
  name: string;
  path: string;
  size: number;
  sha256: string;
}

interface Manifest {
  files?: Record<string, { sha256?: string; bytes?: number }>;
}

/** Names that can be files of the store: no path separators, no dot-dot (the agent's own rule). */
const IMAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** The image store has no such image file (not built yet): nothing was sent to an agent. 503. */
export class ImageUnavailableError extends Error {
  readonly status = 503;
  constructor(message: string) {
    super(message);
    this.name = 'ImageUnavailableError';
  }
}

/**
 * The front-end's preconfigured images (report §6.3.1: a preconfigured machine is moved from the
 * front-end's storage to the provider). Files live in VIRTUOSO_IMAGE_DIR (default
 * <repo>/.cache/guest-image, built by tools/guest-image/build.sh); agents fetch them by the
 * catalog's image name. Each file's sha256 comes from the directory's manifest.json when its size
 * matches, else it is computed once and cached.
 */
@Injectable()
export class ImageStore implements OnApplicationBootstrap {
  private readonly logger = new Logger('ImageStore');
  private readonly hashes = new Map<string, { key: string; sha256: Promise<string> }>();

  constructor(
    private readonly catalog: CatalogService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  get dir(): string {
    return this.config.imageDir;
  }

  /** Says at boot whether the images of the catalog's preconfigured machines are there. */
  onApplicationBootstrap(): void {
    const names = CATALOG.map((entry) => entry.image).filter((image): image is string => !!image);
    const present = names.filter((name) => existsSync(join(this.dir, name)));
    const missing = names.filter((name) => !present.includes(name));
    if (missing.length) {
      this.logger.warn(`image store ${this.dir} lacks ${missing.join(', ')}: storing such machines fails until it is built (bash tools/guest-image/build.sh)`);
    } else if (names.length) {
      this.logger.log(
        `image store ${this.dir}: ${present.map((name) => `${name} (${Math.round(statSync(join(this.dir, name)).size / 1048576)} MB)`).join(', ')}`,
      );
    }
  }

  /** A catalog image, with its size and sha256; 404 for a name no catalog entry uses, 503 when its file is missing. */
  async describe(name: string): Promise<StoredImage> {
    if (!IMAGE_NAME.test(name) || name.includes('..') || !(await this.catalogImages()).includes(name)) {
      throw new ApiError(404, `no catalog image is named ${name}`);
    }
    const path = join(this.dir, name);
    let size: number;
    let mtimeMs: number;
    try {
      ({ size, mtimeMs } = statSync(path));
    } catch {
      throw new ImageUnavailableError(`the image store has no ${name} in ${this.dir} (build it: bash tools/guest-image/build.sh)`);
    }
    return { name, path, size, sha256: await this.sha256Of(name, path, size, mtimeMs) };
  }

  open(image: StoredImage) {
    return createReadStream(image.path);
  }

  private async catalogImages(): Promise<string[]> {
    return (await this.catalog.all()).map((entry) => entry.image).filter((image): image is string => !!image);
  }

  private sha256Of(name: string, path: string, size: number, mtimeMs: number): Promise<string> {
    const key = `${size}:${mtimeMs}`;
    const cached = this.hashes.get(name);
    if (cached?.key === key) return cached.sha256;
    const fromManifest = this.manifest().files?.[name];
    const sha256 =
      fromManifest?.sha256 && /^[0-9a-f]{64}$/.test(fromManifest.sha256) && fromManifest.bytes === size ? Promise.resolve(fromManifest.sha256) : hashFile(path);
    this.hashes.set(name, { key, sha256 });
    sha256.catch(() => this.hashes.delete(name));
    return sha256;
  }

  private manifest(): Manifest {
    try {
      return JSON.parse(readFileSync(join(this.dir, 'manifest.json'), 'utf8')) as Manifest;
    } catch {
      return {};
    }
  }
}

export function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
