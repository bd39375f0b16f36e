import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '../config';
import { ADVISORY_LOCKS, REPLICA_LOCK_NAMESPACE, replicaLockKey } from '../database/advisory-locks';

export { ADVISORY_LOCKS };

/** A lost connection is noticed within this long even if no packet says so (TCP keepalive, query timeout). */
const CONNECTION_CHECK_MS = 5_000;

/**
 * Which replica runs the daemons (docs/ARCHITECTURE.md §12). On PostgreSQL, the leader is the
 * replica that holds the session advisory lock ADVISORY_LOCKS.leader on a connection of its own:
 * every VIRTUOSO_LEADER_POLL_SECONDS a follower tries `pg_try_advisory_lock` and the leader checks
 * that its connection still answers. The lock lives exactly as long as that session, so a leader
 * that dies (even SIGKILL: its socket closes) frees it at once and a follower takes it at its next
 * try; a leader whose connection fails steps down at once (the server ends the session and frees
 * the lock as it notices). On SQLite there is one process on the file: it is always the leader.
 *
 * Listeners are told when this replica becomes the leader (Daemons runs the boot work of each
 * daemon then) and when it stops being it.
 *
 * On the same connection each replica also holds a lock of its own, (REPLICA_LOCK_NAMESPACE,
 * replicaLockKey(its id)), taken again whenever that connection is made anew: another replica
 * finds it alive by that lock in pg_locks (isAlive), e.g. the leader deciding whether a migration's
 * orchestrator is gone.
 */
@Injectable()
export class Leadership implements OnApplicationShutdown {
  /** This process's id among the replicas (random at boot; in the log and GET /api/health). */
  readonly replicaId = randomUUID();
  private readonly logger = new Logger('Leadership');
  private leading = false;
  private campaigning = false;
  private client: pg.Client | null = null;
  /** Whether `client`'s session holds this replica's own lock (see isAlive). */
  private present = false;
  private timer: NodeJS.Timeout | null = null;
  private trying: Promise<void> | null = null;
  private readonly elected: Array<() => void> = [];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /** True while this replica runs the daemons. */
  get leader(): boolean {
    return this.leading;
  }

  /** Whether replicas share the database (PostgreSQL) and so compete for the lead; false on SQLite. */
  get shared(): boolean {
    return !!this.config.databaseUrl;
  }

  /**
   * Whether the replica `replicaId` is alive: this process's own id always is; on PostgreSQL
   * another's is while a session holds its replica lock (granted, in this database — a replica
   * holds it from its first try to lead until its process or its connection ends); on SQLite there
   * is no other process, so no other id is.
   */
  async isAlive(replicaId: string): Promise<boolean> {
    if (replicaId === this.replicaId) return true;
    if (!this.config.databaseUrl) return false;
    const rows = (await this.dataSource.query(
      `SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database
        WHERE l.locktype = 'advisory' AND l.classid = $1::int4::oid AND l.objid = $2::int4::oid AND l.objsubid = 2
          AND l.granted AND d.datname = current_database()
        LIMIT 1`,
      [REPLICA_LOCK_NAMESPACE, replicaLockKey(replicaId)],
    )) as unknown[];
    return rows.length > 0;
  }

  /** `listener` is called each time this replica becomes the leader. */
  onElected(listener: () => void): void {
    this.elected.push(listener);
  }

  /**
   * Starts trying to lead (once, after the boot work every replica does, e.g. the seed); resolves
   * after the first try (on SQLite at once, as the leader).
   */
  async campaign(): Promise<void> {
    if (this.campaigning) return;
    this.campaigning = true;
    this.logger.log(`replica ${this.replicaId}`);
    if (!this.config.databaseUrl) {
      this.become(true);
      return;
    }
    const tick = () => (this.trying ??= this.tryToLead().finally(() => (this.trying = null)));
    this.timer = setInterval(tick, this.config.leaderPollSeconds * 1000);
    this.timer.unref();
    await tick();
  }

  async onApplicationShutdown(): Promise<void> {
    this.campaigning = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.trying?.catch(() => undefined);
    // Ending the session frees the lock: another replica takes over at its next try.
    await this.dropConnection();
    this.leading = false;
  }

  /**
   * `work` under the session advisory lock `key` (PostgreSQL; it waits for another replica's turn),
   * or just `work` on SQLite. The lock is held on a connection of its own for the duration.
   */
  async exclusively<T>(key: string, work: () => Promise<T>): Promise<T> {
    if (!this.config.databaseUrl) return work();
    const client = new pg.Client({ connectionString: this.config.databaseUrl });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [key]);
      return await work();
    } finally {
      // Closing the session frees the lock even if the unlock were not sent.
      await client.end().catch(() => undefined);
    }
  }

  /**
   * `work` under the session advisory lock `key` if no other replica holds it (PostgreSQL), else
   * `busy` at once without waiting; just `work` on SQLite.
   */
  async whenFree<T>(key: string, work: () => Promise<T>, busy: T): Promise<T> {
    if (!this.config.databaseUrl) return work();
    const client = new pg.Client({ connectionString: this.config.databaseUrl });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const [row] = (await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [key])).rows;
      return row?.locked ? await work() : busy;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private async tryToLead(): Promise<void> {
    try {
      if (!this.client) {
        const client = new pg.Client({
          connectionString: this.config.databaseUrl!,
          application_name: `virtuoso leader ${this.replicaId}`,
          keepAlive: true,
          query_timeout: CONNECTION_CHECK_MS,
          connectionTimeoutMillis: CONNECTION_CHECK_MS,
        });
        client.on('error', (error) => this.connectionLost(client, error));
        client.on('end', () => this.connectionLost(client, new Error('the connection ended')));
        await client.connect();
        if (!this.campaigning) {
          await client.end().catch(() => undefined);
          return;
        }
        this.client = client;
        this.present = false;
      }
      if (!this.present) {
        // Not waited for: a session of ours the server has not yet seen die may hold it a little longer (next try).
        const [own] = (
          await this.client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS locked', [
            REPLICA_LOCK_NAMESPACE,
            replicaLockKey(this.replicaId),
          ])
        ).rows;
        this.present = !!own?.locked;
      }
      if (this.leading) {
        // Still the same session, so still the lock's holder; a failure here steps down (connectionLost).
        await this.client.query('SELECT 1');
        return;
      }
      const [row] = (await this.client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [ADVISORY_LOCKS.leader])).rows;
      if (row?.locked && this.campaigning) this.become(true);
    } catch (error) {
      if (this.client) this.connectionLost(this.client, error);
      else this.logger.warn(`cannot reach the database to take the lead: ${messageOf(error)}`);
    }
  }

  private connectionLost(client: pg.Client, error: unknown): void {
    if (this.client !== client) return;
    this.client = null;
    void client.end().catch(() => undefined);
    if (this.leading) this.logger.error(`the leader's connection failed (${messageOf(error)}): stepping down`);
    this.become(false);
  }

  private async dropConnection(): Promise<void> {
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private become(leading: boolean): void {
    if (this.leading === leading) return;
    this.leading = leading;
    if (!leading) return;
    this.logger.log(`replica ${this.replicaId} is the leader: it runs the daemons`);
    for (const listener of this.elected) listener();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
