import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { MIGRATION_FILES, type ManifestFile, type MigrationFileName } from '@virtuoso/contracts';

/** sha256 of a file, streamed (a disk may be many GB). */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), hash);
  return hash.digest('hex');
}

/**
 * The manifest of exported files (report §7.2.2: the destination verifies its copy against it).
 * `known`: sha256 already established for some names (recorded at rest and checked unchanged by
 * the caller, rest-hashes.ts); the other files are hashed here.
 */
export async function buildManifest(files: { name: string; path: string }[], known: ReadonlyMap<string, string> = new Map()): Promise<ManifestFile[]> {
  const out: ManifestFile[] = [];
  for (const f of files) {
    if (!(MIGRATION_FILES as readonly string[]).includes(f.name)) throw new Error(`${f.name} is not a file that travels`);
    out.push({ name: f.name as MigrationFileName, size: statSync(f.path).size, sha256: known.get(f.name) ?? (await sha256File(f.path)) });
  }
  return out;
}
