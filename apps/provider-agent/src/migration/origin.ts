import { existsSync, linkSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { Logger } from '@nestjs/common';
import type {
  ManifestFile,
  MigrationExportCommand,
  MigrationExportResult,
  MigrationFinishCommand,
  MigrationFinishResult,
  MigrationStatusCommand,
  MigrationStatusResult,
} from '@virtuoso/contracts';
import { CommandError } from '../agent/errors';
import { readJson, writeJsonAtomic } from '../agent/json-file';
import type { LocalState } from '../agent/local-state';
import type { VmmDriver } from '../vmm/vmm-driver';
import { InvalidPublicKeyError, isExportMethod, type AuthorizedKeys, type ExportMethod } from './authorized-keys';
import type { MachineCaches } from './caches';
import { buildManifest } from './export-manifest';
import type { RestHashes } from './rest-hashes';

export interface MigrationOriginDeps {
  dataDir: string;
  driver: VmmDriver;
  state: LocalState;
  caches: MachineCaches;
  /** The transfer sshd's authorized_keys; absent when the agent serves no transfers (no --ssh-port). */
  keys?: AuthorizedKeys;
  /** Size limit of the caches (--cache-limit-mb): the oldest go when a new one would exceed it. */
  cacheLimitBytes?: number;
  /** sha256 of the machines' files recorded at rest: an export reuses those still unchanged. */
  restHashes?: RestHashes;
}

/** What an export leaves beside the served directory (never inside it: the key reads only that). */
interface ExportRecord {
  migrationId: string;
  machineId: string;
  result: MigrationExportResult;
}

/**
 * The origin's side of a migration (report §7.2; docs/ARCHITECTURE.md §7): export makes the machine
 * migratable (stopped or suspended, flagged in LocalState so nothing starts it, its files
 * hard-linked into <data>/exports/<migrationId>/<machineId>/ with a manifest) and authorises the
 * destination's one-time key for that directory alone; finish removes the key and the export, and
 * on commit turns the machine's directory into a cache (it lives on at the destination).
 */
export class MigrationOrigin {
  private readonly log = new Logger('MigrationOrigin');
  private readonly exportsRoot: string;

  constructor(private readonly deps: MigrationOriginDeps) {
    this.exportsRoot = path.join(deps.dataDir, 'exports');
  }

  /** The directory the one-time key reads. */
  exportDir(migrationId: string, machineId: string): string {
    return path.join(this.exportsRoot, migrationId, machineId);
  }

  async export(cmd: MigrationExportCommand): Promise<MigrationExportResult> {
    const { driver, state, keys } = this.deps;
    if (!keys) throw new CommandError('refused', 'this agent serves no transfers: it was started without --ssh-port');
    const method = cmd.method;
    if (!isExportMethod(method)) throw new CommandError('refused', `method ${method} is not served here (SCP, RSYNC)`);
    const served: ExportMethod = method;
    return driver.exclusive(cmd.machineId, async () => {
      const current = state.get(cmd.machineId)?.migration;
      if (current && current.id !== cmd.migrationId) {
        throw new CommandError('conflict', `machine ${cmd.machineId} is being migrated (migration ${current.id} since ${current.since})`);
      }
      const st = await driver.status(cmd.machineId);
      if (st.version !== cmd.version) {
        throw new CommandError(
          'conflict',
          `cannot migrate machine ${cmd.machineId}: the agent holds version ${st.version}, the command is for version ${cmd.version}`,
        );
      }
      if (st.state !== 'stopped' && st.state !== 'suspended') {
        throw new CommandError('conflict', `cannot migrate machine ${cmd.machineId}: it is ${st.state} (stop or suspend it first)`);
      }
      const dir = this.exportDir(cmd.migrationId, cmd.machineId);
      const recordFile = path.join(this.exportsRoot, cmd.migrationId, 'export.json');
      // A retried export (its reply was lost) answers the manifest it made.
      const done = current ? readJson<ExportRecord | null>(recordFile, null) : null;
      let result: MigrationExportResult;
      if (done && done.machineId === cmd.machineId && existsSync(dir)) {
        result = done.result;
        this.log.log(`machine ${cmd.machineId}: export of migration ${cmd.migrationId} retried; same manifest`);
      } else {
        // Flag first: from here on nothing starts the machine, and a crash leaves a record to clean up.
        state.update(cmd.machineId, (r) => (r.migration = { id: cmd.migrationId, role: 'origin', since: new Date().toISOString() }));
        try {
          const { status, files } = await driver.migrationFiles(cmd.machineId);
          const t0 = Date.now();
          // Hashes recorded at rest, checked against the files' identity BEFORE they are linked
          // (a link changes the ctime); a background hashing under way is waited for, not redone.
          await this.deps.restHashes?.settled(cmd.machineId);
          const known = this.deps.restHashes?.lookup(cmd.machineId, files) ?? new Map<string, string>();
          rmSync(path.dirname(dir), { recursive: true, force: true });
          mkdirSync(dir, { recursive: true, mode: 0o700 });
          for (const f of files) linkSync(f.path, path.join(dir, f.name));
          const manifest: ManifestFile[] = await buildManifest(
            files.map((f) => ({ name: f.name, path: path.join(dir, f.name) })),
            known,
          );
          result = { migrationId: cmd.migrationId, machineId: cmd.machineId, version: status.version, state: status.state, files: manifest };
          writeJsonAtomic(recordFile, { migrationId: cmd.migrationId, machineId: cmd.machineId, result } satisfies ExportRecord);
          this.log.log(
            `machine ${cmd.machineId}: exported for migration ${cmd.migrationId} (${status.state}, version ${status.version}; ${manifest
              .map((m) => `${m.name} ${m.size} B`)
              .join(', ')}; manifest in ${Date.now() - t0} ms${known.size ? `, sha256 of ${[...known.keys()].join(', ')} recorded at rest` : ''})`,
          );
        } catch (e) {
          this.clear(cmd.migrationId, cmd.machineId);
          throw e;
        }
      }
      try {
        keys.add(cmd.migrationId, served, dir, cmd.publicKey);
      } catch (e) {
        this.clear(cmd.migrationId, cmd.machineId);
        if (e instanceof InvalidPublicKeyError) throw new CommandError('refused', `publicKey: ${e.message}`);
        throw e;
      }
      return result;
    });
  }

  /** null: this agent is not (or no longer) the origin of that migration. */
  status(cmd: MigrationStatusCommand): MigrationStatusResult | null {
    if (this.deps.state.get(cmd.machineId)?.migration?.id !== cmd.migrationId) return null;
    return { migrationId: cmd.migrationId, machineId: cmd.machineId, role: 'origin', phase: 'exported' };
  }

  /** Idempotent; null when this agent does not hold the migration as its origin. */
  async finish(cmd: MigrationFinishCommand): Promise<MigrationFinishResult | null> {
    const { driver, state, caches, keys } = this.deps;
    // The key and the export go whatever the outcome, and whatever is left of them.
    keys?.remove(cmd.migrationId);
    rmSync(path.join(this.exportsRoot, cmd.migrationId), { recursive: true, force: true });
    return driver.exclusive(cmd.machineId, async () => {
      if (state.get(cmd.machineId)?.migration?.id !== cmd.migrationId) return null;
      if (cmd.outcome === 'commit') {
        // The machine lives on at the destination; its old directory is kept as a cache (the rsync
        // basis when it comes back), never listed or started as a machine.
        const dir = driver.machineDir(cmd.machineId);
        if (existsSync(dir)) caches.adopt(cmd.machineId, dir);
        state.delete(cmd.machineId);
        this.reclaimCaches();
        this.log.log(`machine ${cmd.machineId}: migration ${cmd.migrationId} committed; the machine left, its files are now a cache`);
      } else {
        state.update(cmd.machineId, (r) => delete r.migration);
        // The export's links came and went (each changed the files' ctime): hash them at rest again.
        this.deps.restHashes?.schedule(cmd.machineId);
        this.log.log(`machine ${cmd.machineId}: migration ${cmd.migrationId} aborted${cmd.reason ? ` (${cmd.reason})` : ''}; the machine stays here as it was`);
      }
      return { migrationId: cmd.migrationId, machineId: cmd.machineId, role: 'origin', outcome: cmd.outcome };
    });
  }

  /** At start: keys and exports of migrations no machine is flagged with any more (a crash mid-way). */
  recover(): void {
    const live = new Set(
      this.deps.state
        .ids()
        .map((id) => this.deps.state.get(id)?.migration?.id)
        .filter((m): m is string => !!m),
    );
    for (const m of this.deps.keys?.migrations() ?? []) if (!live.has(m)) this.deps.keys!.remove(m);
    this.deps.caches.sweep();
    this.reclaimCaches();
    if (!existsSync(this.exportsRoot)) return;
    for (const m of readdirSync(this.exportsRoot)) {
      if (!live.has(m)) rmSync(path.join(this.exportsRoot, m), { recursive: true, force: true });
    }
  }

  /** Keep the caches under the size limit, oldest first (report §7.2.3). */
  reclaimCaches(): void {
    if (this.deps.cacheLimitBytes === undefined) return;
    const removed = this.deps.caches.reclaim(this.deps.cacheLimitBytes);
    if (removed.length) this.log.log(`caches over the ${this.deps.cacheLimitBytes}-byte limit: removed ${removed.join(', ')}`);
  }

  /** Undo a failed export: no key, no export directory, no flag. */
  private clear(migrationId: string, machineId: string): void {
    this.deps.keys?.remove(migrationId);
    rmSync(path.join(this.exportsRoot, migrationId), { recursive: true, force: true });
    if (this.deps.state.get(machineId)?.migration?.id === migrationId) this.deps.state.update(machineId, (r) => delete r.migration);
  }
}
