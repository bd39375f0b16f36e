import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { MigrationDto, MigrationPhase } from '@virtuoso/contracts';
import { secondsLeft } from '@virtuoso/domain';
import { EntityManager, In, Repository } from 'typeorm';
import { Clock, WALL_CLOCK } from '../common/clock';
import { Database } from '../common/database.service';
import { notFound } from '../common/errors';
import { nowIso } from '../common/time';
import { Migration, MigrationLogLine } from './migration.entity';

/** A log holds the VMMP exchange and the front-end's steps, not every heartbeat: this is plenty. */
const LOG_MAX_LINES = 200;

export const ACTIVE: MigrationPhase[] = ['preparing', 'transferring', 'committing'];

/** Reads and writes of migration rows: lookups, the log, compare-and-set of the phase, and the DTO. */
@Injectable()
export class MigrationRecords {
  constructor(
    private readonly db: Database,
    @InjectRepository(Migration) readonly rows: Repository<Migration>,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
  ) {}

  now(): string {
    return nowIso(this.wallClock);
  }

  async get(id: string): Promise<Migration> {
    const row = await this.rows.findOneBy({ id });
    if (!row) throw notFound('migration');
    return row;
  }

  /** The machine's newest migration, or null. */
  latest(machineId: string): Promise<Migration | null> {
    return this.rows.findOne({ where: { machineId }, order: { startedAt: 'DESC', id: 'DESC' } });
  }

  list(machineId: string): Promise<Migration[]> {
    return this.rows.find({ where: { machineId }, order: { startedAt: 'DESC', id: 'DESC' } });
  }

  active(): Promise<Migration[]> {
    return this.rows.findBy({ phase: In(ACTIVE) });
  }

  /** Appends lines to the log, each stamped now. */
  async log(em: EntityManager | null, id: string, texts: string[]): Promise<void> {
    if (texts.length === 0) return;
    const write = async (m: EntityManager) => {
      const row = await m.findOne(Migration, { where: { id }, select: { id: true, log: true } });
      if (!row) return;
      const at = this.now();
      const lines = [...parseLog(row.log), ...texts.map((text) => ({ at, text: text.slice(0, 1000) }))].slice(-LOG_MAX_LINES);
      await m.update(Migration, { id }, { log: JSON.stringify(lines) });
    };
    await (em ? write(em) : this.db.transaction(write));
  }

  /** Moves the phase only from one of `from`; false when another writer moved it first. */
  async movePhase(em: EntityManager, id: string, from: MigrationPhase[], changes: Partial<Migration>): Promise<boolean> {
    const result = await em.update(Migration, { id, phase: In(from) }, changes);
    return result.affected === 1;
  }

  toDto(row: Migration): MigrationDto {
    const progress = { bytesDone: row.bytesDone, bytesTotal: row.bytesTotal, bytesPerSecond: row.bytesPerSecond };
    return {
      id: row.id,
      machineId: row.machineId,
      fromHostId: row.fromHostId,
      fromHostName: row.fromHostName,
      toHostId: row.toHostId,
      toHostName: row.toHostName,
      method: row.method,
      phase: row.phase,
      cleanedUp: row.cleanedUp,
      previousState: row.previousState,
      fromVersion: row.fromVersion,
      toVersion: row.toVersion,
      ...progress,
      secondsLeft: row.phase === 'transferring' || row.phase === 'preparing' ? secondsLeft(progress) : null,
      bytesTransferred: row.bytesTransferred,
      transferMs: row.transferMs,
      lastHeartbeatAt: row.lastHeartbeatAt,
      error: row.error,
      storagePrice: row.storagePrice,
      storageAmount: row.storageAmount,
      runningPrice: row.runningPrice,
      runningUnitAmount: row.runningUnitAmount,
      startedAt: row.startedAt,
      finishedAt: row.finishedAt,
      log: parseLog(row.log),
    };
  }
}

export function parseLog(text: string): MigrationLogLine[] {
  try {
    const lines = JSON.parse(text) as MigrationLogLine[];
    return Array.isArray(lines) ? lines : [];
  } catch {
    return [];
  }
}
