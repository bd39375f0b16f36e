import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
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
export class Database implements BeforeApplicationShutdown {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly serialize: boolean;

  constructor(@InjectDataSource() readonly dataSource: DataSource) {
    this.serialize = dataSource.options.type === 'sqlite' || dataSource.options.type === 'better-sqlite3';
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

  transaction<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    if (!this.serialize) return this.dataSource.transaction(work);
    const run = this.tail.then(() => this.dataSource.transaction(work));
    // The queue continues whether this transaction commits or fails.
    this.tail = run.catch(() => undefined);
    return run;
  }
}
