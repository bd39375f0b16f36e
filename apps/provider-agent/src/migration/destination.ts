import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { Logger } from '@nestjs/common';
import type {
  ManifestFile,
  MigrationFinishCommand,
  MigrationFinishResult,
  MigrationPrepareCommand,
  MigrationPrepareResult,
  MigrationQueryCommand,
  MigrationQueryResult,
  MigrationRequestCommand,
  MigrationRequestResult,
  MigrationStatusCommand,
  MigrationStatusResult,
} from '@virtuoso/contracts';
import { parseVmmp, renderVmmp, type VmmpMethod } from '@virtuoso/domain';
import { CommandError } from '../agent/errors';
import type { LocalState } from '../agent/local-state';
import type { VmmDriver } from '../vmm/vmm-driver';
import type { MachineCaches } from './caches';
import { DestinationJobs, type DestinationJob } from './jobs';
import { keyFiles, makeKeyPair, readPublicKey, removeKeyPair, writeKnownHosts } from './keys';
import { killLeftoverPulls, Pull } from './pull';
import { MigrationReporter, type ReportFn } from './reports';
import { verifyCopy } from './verify';

export interface MigrationDestinationDeps {
  dataDir: string;
  driver: VmmDriver;
  state: LocalState;
  caches: MachineCaches;
  report: ReportFn;
  /** The provider's cap on each incoming transfer, KiB/s (--transfer-limit-kbps). */
  transferLimitKBps?: number;
  /** An arrived machine is at rest here (its files are hashed in the background: rest-hashes.ts). */
  atRest?: (machineId: string) => void;
  /** Tests: heartbeat period and RESP retry pace. */
  heartbeatMs?: number;
  respBackoffMs?: number;
}

/** The binaries each method needs on the destination (report §7.2: SCP and RSYNC over SSH). */
const METHOD_TOOLS: Partial<Record<VmmpMethod, string[]>> = { SCP: ['scp', 'ssh', 'ssh-keygen'], RSYNC: ['rsync', 'ssh', 'ssh-keygen'] };

const hasBinary = (name: string) => spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;

/** A pull in this process: the child, the reports, and its background job. */
interface Running {
  pull?: Pull;
  reporter: MigrationReporter;
  aborting: boolean;
  job: Promise<void>;
}

/**
 * The destination of a migration (report §7.2; docs/ARCHITECTURE.md §7): answers the QUERY,
 * makes the one-time key, pulls the machine on the REQ into <data>/migrations/<id>/staging,
 * verifies it against the origin's manifest, records it at version + 1 (still not a machine of
 * this host: never listed nor startable), reports HEARTBEATs then the RESP, and on
 * `migration.finish` commit moves it into the machines directory, or on abort discards it.
 */
export class MigrationDestination {
  private readonly log = new Logger('MigrationDestination');
  private readonly jobs: DestinationJobs;
  private readonly running = new Map<string, Running>();
  private methods?: VmmpMethod[];

  constructor(private readonly deps: MigrationDestinationDeps) {
    this.jobs = new DestinationJobs(deps.dataDir);
  }

  /** QUERY → RESULTS with the methods whose tools are installed here. */
  query(cmd: MigrationQueryCommand): MigrationQueryResult {
    const parsed = parseVmmp(cmd.vmmp);
    if (!parsed.ok) throw new CommandError('refused', parsed.reason);
    if (parsed.message.kind !== 'QUERY') throw new CommandError('refused', `expected a VMMP QUERY, got ${parsed.message.kind}`);
    // Looked up once per process: a QUERY must answer within the front-end's short bound.
    this.methods ??= (Object.keys(METHOD_TOOLS) as VmmpMethod[]).filter((m) => METHOD_TOOLS[m]!.every(hasBinary));
    const methods = this.methods;
    return { vmmp: renderVmmp({ kind: 'RESULTS', machineId: parsed.message.machineId, methods }) };
  }

  /** A job and its one-time key pair. Idempotent for the same migration while prepared. */
  async prepare(cmd: MigrationPrepareCommand): Promise<MigrationPrepareResult> {
    if (!METHOD_TOOLS[cmd.method]) throw new CommandError('refused', `method ${cmd.method} is not offered here (SCP, RSYNC)`);
    const existing = this.jobs.get(cmd.migrationId);
    if (existing) {
      if (
        existing.phase === 'prepared' &&
        existing.machineId === cmd.machineId &&
        existing.method === cmd.method &&
        existsSync(keyFiles(this.jobs.dir(cmd.migrationId)).pub)
      ) {
        return { migrationId: cmd.migrationId, publicKey: readPublicKey(this.jobs.dir(cmd.migrationId)) };
      }
      throw new CommandError('conflict', `migration ${cmd.migrationId} is already ${existing.phase} here`);
    }
    if (existsSync(path.join(this.deps.dataDir, 'machines', cmd.machineId))) {
      throw new CommandError('conflict', `machine ${cmd.machineId} already lives on this host`);
    }
    const other = this.jobs.all().find((j) => j.machineId === cmd.machineId && ['prepared', 'pulling', 'verified'].includes(j.phase));
    if (other) throw new CommandError('conflict', `machine ${cmd.machineId} is already arriving here (migration ${other.migrationId}, ${other.phase})`);
    const now = new Date().toISOString();
    const job: DestinationJob = {
      migrationId: cmd.migrationId,
      machineId: cmd.machineId,
      method: cmd.method,
      phase: 'prepared',
      createdAt: now,
      updatedAt: now,
    };
    this.jobs.save(job);
    const publicKey = await makeKeyPair(this.jobs.dir(cmd.migrationId), cmd.migrationId);
    this.log.log(`migration ${cmd.migrationId}: prepared to receive machine ${cmd.machineId} by ${cmd.method}`);
    return { migrationId: cmd.migrationId, publicKey };
  }

  /** REQ: checked, then the pull starts in the background; the answer is at once. */
  async request(cmd: MigrationRequestCommand): Promise<MigrationRequestResult> {
    const parsed = parseVmmp(cmd.vmmp);
    if (!parsed.ok) throw new CommandError('refused', parsed.reason);
    const req = parsed.message;
    if (req.kind !== 'REQ') throw new CommandError('refused', `expected a VMMP REQ, got ${req.kind}`);
    const job = this.jobs.get(cmd.migrationId);
    if (!job) throw new CommandError('not-found', `migration ${cmd.migrationId} was not prepared here`);
    if (req.machineId !== job.machineId)
      throw new CommandError('refused', `the REQ names machine ${req.machineId}, migration ${cmd.migrationId} was prepared for ${job.machineId}`);
    if (req.method !== job.method)
      throw new CommandError('refused', `the REQ asks for ${req.method}, migration ${cmd.migrationId} was prepared for ${job.method}`);
    if (job.phase === 'pulling' || job.phase === 'verified') return { migrationId: cmd.migrationId, accepted: true }; // a retried REQ
    if (job.phase !== 'prepared') throw new CommandError('conflict', `migration ${cmd.migrationId} is ${job.phase} here${job.error ? `: ${job.error}` : ''}`);
    checkManifest(cmd.files);

    const dir = this.jobs.dir(job.migrationId);
    writeKnownHosts(this.jobs.knownHosts(job.migrationId), req.origin.host, req.origin.port, cmd.origin.hostKey);
    job.phase = 'pulling';
    job.fromVersion = req.version;
    this.jobs.save(job);

    const total = cmd.files.reduce((n, f) => n + f.size, 0);
    const run: Running = {
      aborting: false,
      reporter: new MigrationReporter({
        migrationId: job.migrationId,
        machineId: job.machineId,
        report: this.deps.report,
        heartbeatMs: this.deps.heartbeatMs,
        backoffMs: this.deps.respBackoffMs,
        progress: () => run.pull?.progress() ?? { bytesDone: 0, bytesTotal: total, bytesPerSecond: 0 },
      }),
      job: Promise.resolve(),
    };
    this.running.set(job.migrationId, run);
    run.reporter.start();
    run.job = this.pullAndVerify(job, cmd, { host: req.origin.host, port: req.origin.port }, total, dir, run).finally(() =>
      this.running.delete(job.migrationId),
    );
    this.log.log(`migration ${job.migrationId}: pulling machine ${job.machineId} v${req.version} from ${req.origin.host}:${req.origin.port} by ${job.method}`);
    return { migrationId: cmd.migrationId, accepted: true };
  }

  status(cmd: MigrationStatusCommand): MigrationStatusResult | null {
    const job = this.jobs.get(cmd.migrationId);
    if (!job || job.machineId !== cmd.machineId) return null;
    return {
      migrationId: job.migrationId,
      machineId: job.machineId,
      role: 'destination',
      phase: job.phase,
      ...(job.version !== undefined && (job.phase === 'verified' || job.outcome === 'commit') ? { version: job.version } : {}),
      ...(job.error ? { error: job.error } : {}),
    };
  }

  /** commit: the verified copy becomes the machine; abort: whatever arrived is discarded. Idempotent. */
  async finish(cmd: MigrationFinishCommand): Promise<MigrationFinishResult | null> {
    const job = this.jobs.get(cmd.migrationId);
    if (!job || job.machineId !== cmd.machineId) return null;
    const done: MigrationFinishResult = { migrationId: job.migrationId, machineId: job.machineId, role: 'destination', outcome: cmd.outcome };
    if (job.phase === 'finished') {
      if (job.outcome === cmd.outcome) return done;
      throw new CommandError('conflict', `migration ${job.migrationId} was already finished here by ${job.outcome}`);
    }
    return cmd.outcome === 'commit' ? this.commit(job, done) : this.abort(job, done, cmd.reason);
  }

  /** Agent start: a copy in progress cannot be resumed (its pull died with the old process). */
  recover(): void {
    for (const job of this.jobs.all()) {
      if (job.phase !== 'prepared' && job.phase !== 'pulling') continue;
      const wasPulling = job.phase === 'pulling';
      killLeftoverPulls(keyFiles(this.jobs.dir(job.migrationId)).key);
      rmSync(this.jobs.stagingDir(job.migrationId), { recursive: true, force: true });
      removeKeyPair(this.jobs.dir(job.migrationId));
      job.phase = 'failed';
      job.error = 'the destination agent restarted mid-copy';
      this.jobs.save(job);
      this.log.warn(`migration ${job.migrationId}: partial copy of machine ${job.machineId} discarded (${job.error})`);
      if (wasPulling && job.fromVersion !== undefined) {
        // Best effort: the front-end also learns it from migration.status or the missing heartbeats.
        const reporter = new MigrationReporter({
          migrationId: job.migrationId,
          machineId: job.machineId,
          report: this.deps.report,
          progress: () => ({ bytesDone: 0, bytesTotal: 0, bytesPerSecond: 0 }),
          backoffMs: this.deps.respBackoffMs,
        });
        void reporter.respond({ version: job.fromVersion, outcome: 'FAIL', reason: job.error });
      }
    }
  }

  /**
   * Agent shutdown: the running pulls are killed and their reports stop; their jobs stay `pulling`
   * on disk, so the next start's recover() discards them (a copy is never resumed half-way).
   */
  close(): void {
    for (const run of this.running.values()) {
      run.aborting = true;
      run.reporter.stop();
      run.pull?.abort();
    }
  }

  /** Tests: the background job of a migration, if one runs. */
  settled(migrationId: string): Promise<void> {
    return this.running.get(migrationId)?.job ?? Promise.resolve();
  }

  // -----------------------------------------------------------------------------------------------

  private async pullAndVerify(
    job: DestinationJob,
    cmd: MigrationRequestCommand,
    origin: { host: string; port: number },
    total: number,
    dir: string,
    run: Running,
  ): Promise<void> {
    const staging = this.jobs.stagingDir(job.migrationId);
    const copy = path.join(staging, job.machineId);
    const fromVersion = job.fromVersion!;
    try {
      rmSync(staging, { recursive: true, force: true });
      mkdirSync(staging, { recursive: true, mode: 0o700 });
      const useCache = job.method === 'RSYNC' && this.deps.caches.has(job.machineId);
      run.pull = new Pull({
        method: job.method as 'SCP' | 'RSYNC',
        user: cmd.origin.sshUser,
        host: origin.host,
        port: origin.port,
        keyFile: keyFiles(dir).key,
        knownHostsFile: this.jobs.knownHosts(job.migrationId),
        machineId: job.machineId,
        stagingDir: staging,
        cacheDir: useCache ? this.deps.caches.dir(job.machineId) : undefined,
        totalBytes: total,
        limitKBps: this.deps.transferLimitKBps,
      });
      const transfer = await run.pull.done;
      if (run.aborting) return;
      const verifyStart = Date.now();
      await verifyCopy(copy, cmd.files);
      const verifyMs = Date.now() - verifyStart;
      if (run.aborting) return;
      const version = await this.deps.driver.acceptArrival(copy, { id: job.machineId, version: fromVersion, machine: cmd.machine });
      if (run.aborting) return;
      Object.assign(job, { phase: 'verified', version, transfer });
      this.jobs.save(job);
      this.log.log(
        `migration ${job.migrationId}: machine ${job.machineId} verified at version ${version} (${transfer.bytesReceived} bytes received in ${transfer.durationMs} ms${useCache ? ', from the cache' : ''}; verified in ${verifyMs} ms)`,
      );
      void run.reporter.respond({ version, outcome: 'SUCCESS', transfer });
    } catch (e) {
      if (run.aborting) return;
      rmSync(staging, { recursive: true, force: true });
      removeKeyPair(dir);
      const reason = (e as Error).message;
      Object.assign(job, { phase: 'failed', error: reason });
      this.jobs.save(job);
      this.log.warn(`migration ${job.migrationId}: failed: ${reason}`);
      void run.reporter.respond({ version: fromVersion, outcome: 'FAIL', reason });
    }
  }

  private async commit(job: DestinationJob, done: MigrationFinishResult): Promise<MigrationFinishResult> {
    if (job.phase !== 'verified')
      throw new CommandError('conflict', `cannot commit migration ${job.migrationId}: it is ${job.phase} here${job.error ? ` (${job.error})` : ''}`);
    const copy = path.join(this.jobs.stagingDir(job.migrationId), job.machineId);
    const target = path.join(this.deps.dataDir, 'machines', job.machineId);
    // A commit interrupted after the rename finds the machine in place: carry on from there.
    if (existsSync(copy)) await this.deps.driver.adoptMachine(job.machineId, copy);
    else if (!existsSync(target)) throw new CommandError('failed', `the verified copy of machine ${job.machineId} is gone`);
    this.deps.state.set(job.machineId, { createdAt: new Date().toISOString(), media: null });
    this.deps.caches.remove(job.machineId);
    rmSync(this.jobs.stagingDir(job.migrationId), { recursive: true, force: true });
    removeKeyPair(this.jobs.dir(job.migrationId));
    Object.assign(job, { phase: 'finished', outcome: 'commit' });
    this.jobs.save(job);
    this.deps.atRest?.(job.machineId);
    this.log.log(`migration ${job.migrationId}: committed: machine ${job.machineId} lives here at version ${job.version}`);
    return done;
  }

  private async abort(job: DestinationJob, done: MigrationFinishResult, reason?: string): Promise<MigrationFinishResult> {
    const run = this.running.get(job.migrationId);
    if (run) {
      run.aborting = true;
      run.reporter.stop();
      run.pull?.abort();
      await run.job;
    }
    rmSync(this.jobs.stagingDir(job.migrationId), { recursive: true, force: true });
    removeKeyPair(this.jobs.dir(job.migrationId));
    Object.assign(job, { phase: 'finished', outcome: 'abort', ...(reason && !job.error ? { error: reason } : {}) });
    this.jobs.save(job);
    this.log.log(`migration ${job.migrationId}: aborted${reason ? ` (${reason})` : ''}: whatever arrived of machine ${job.machineId} is discarded`);
    return done;
  }
}

/** A manifest the destination can verify against: machine.json and disk.qcow2, each name once. */
function checkManifest(files: ManifestFile[]): void {
  const names = files.map((f) => f.name);
  if (new Set(names).size !== names.length) throw new CommandError('refused', 'the manifest lists a file twice');
  for (const need of ['machine.json', 'disk.qcow2'] as const) {
    if (!names.includes(need)) throw new CommandError('refused', `the manifest lacks ${need}`);
  }
}
