import { BeforeApplicationShutdown, Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { finalizeStatements } from './sql';

/**
 * One door for writes. SQLite through TypeORM has a single connection that every query shares, so
 * two transactions in flight would interleave on it; we queue them here. On PostgreSQL each
 * transaction gets its own connection and the queue is skipped (row-level compare-and-set in the
 * services keeps concurrent writers honest there).
 */
@Injectable()
export class Database implements BeforeApplicationShutdown, OnModuleInit {
  private tail: Promise<unknown> = Promise.resolve();
  /** SQLite: transactions run one at a time (queued here); PostgreSQL runs them side by side. */
  readonly oneAtATime: boolean;

  constructor(@InjectDataSource() readonly dataSource: DataSource) {
    this.oneAtATime = dataSource.options.type === 'sqlite' || dataSource.options.type === 'better-sqlite3';
  }

  /**
   * SQLite settings of the one connection, before anything else uses it. TypeORM has put a file
   * database in WAL mode (enableWAL); in WAL mode synchronous=NORMAL syncs the log at checkpoints
   * instead of at every commit. Still atomic and consistent: a killed process (even SIGKILL) loses
   * nothing committed, since the log is in the OS's page cache and is read back on open; only a
   * power loss or OS crash may roll back the last few commits — a whole transaction each, never
   * part of one, and the billing pass redoes them to the same keys. (FULL is kept off WAL, e.g. an
   * in-memory database, where it makes no difference.) A checkpoint every 10,000 log pages (40 MiB)
   * rather than 1,000: a billing batch dirties a few thousand pages, so the default checkpointed
   * (and synced) after nearly every batch; the log is cut back to 64 MiB after a checkpoint.
   * temp_store in memory for sorts and temporary b-trees; a 64 MiB page cache so the ledger's and
   * meters' indexes stay in memory.
   */
  async onModuleInit(): Promise<void> {
    if (this.dataSource.options.type !== 'sqlite') return;
    const [mode] = (await this.dataSource.query('PRAGMA journal_mode')) as Array<{ journal_mode: string }>;
    if (mode?.journal_mode === 'wal') {
      await this.dataSource.query('PRAGMA synchronous = NORMAL');
      await this.dataSource.query('PRAGMA wal_autocheckpoint = 10000');
      await this.dataSource.query('PRAGMA journal_size_limit = 67108864');
    }
    await this.dataSource.query('PRAGMA temp_store = MEMORY');
    await this.dataSource.query('PRAGMA cache_size = -65536');
  }

  /** For reads outside a transaction. */
  get manager(): EntityManager {
    return this.dataSource.manager;
  }

  /** The hot paths' prepared statements go before the connection closes (after every module's onModuleDestroy). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.tail.catch(() => undefined);
    await finalizeStatements(this.dataSource.manager);
  }

  /**
   * One statement, atomic by itself, in the queue of transactions but without BEGIN and COMMIT
   * around it: on SQLite two trips fewer to sqlite3's thread for what a hot path writes alone (a
   * group of heartbeats' nonces). PostgreSQL runs it on a pooled connection of its own.
   */
  alone<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.queued(() => work(this.dataSource.manager));
  }

  transaction<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    return this.queued(() => this.dataSource.transaction(work));
  }

  /** `run` after what is queued before it (SQLite); at once on PostgreSQL. */
  private queued<T>(run: () => Promise<T>): Promise<T> {
    if (!this.oneAtATime) return run();
    const result = this.tail.then(run);
    // The queue continues whether this one succeeds or fails.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
