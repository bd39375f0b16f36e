import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import type { VmmpMethod } from '@virtuoso/domain';
import { readJson, writeJsonAtomic } from '../agent/json-file';

export type DestinationPhase = 'prepared' | 'pulling' | 'verified' | 'failed' | 'finished';

/** job.json of a migration this agent is the destination of (persisted at every phase change). */
export interface DestinationJob {
  migrationId: string;
  machineId: string;
  method: VmmpMethod;
  phase: DestinationPhase;
  /** The version the REQ named (the front-end's). */
  fromVersion?: number;
  /** verified (and finished by commit): the version recorded in the copy, fromVersion + 1. */
  version?: number;
  outcome?: 'commit' | 'abort';
  error?: string;
  transfer?: { bytesReceived: number; durationMs: number };
  createdAt: string;
  updatedAt: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * <data>/migrations/<migrationId>/: job.json, the one-time key pair, known_hosts and
 * staging/<machineId>/ where the copy lands (docs/ARCHITECTURE.md §7).
 */
export class DestinationJobs {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = path.join(path.resolve(dataDir), 'migrations');
  }

  dir(migrationId: string): string {
    if (!UUID.test(migrationId)) throw new Error(`not a migration id: ${migrationId}`);
    return path.join(this.root, migrationId);
  }

  stagingDir(migrationId: string): string {
    return path.join(this.dir(migrationId), 'staging');
  }

  knownHosts(migrationId: string): string {
    return path.join(this.dir(migrationId), 'known_hosts');
  }

  get(migrationId: string): DestinationJob | undefined {
    if (!UUID.test(migrationId)) return undefined;
    return readJson<DestinationJob | undefined>(path.join(this.dir(migrationId), 'job.json'), undefined);
  }

  save(job: DestinationJob): DestinationJob {
    mkdirSync(this.dir(job.migrationId), { recursive: true, mode: 0o700 });
    job.updatedAt = new Date().toISOString();
    writeJsonAtomic(path.join(this.dir(job.migrationId), 'job.json'), job);
    return job;
  }

  all(): DestinationJob[] {
    if (!existsSync(this.root)) return [];
    return readdirSync(this.root)
      .filter((n) => UUID.test(n))
      .map((n) => this.get(n))
      .filter((j): j is DestinationJob => !!j);
  }
}
