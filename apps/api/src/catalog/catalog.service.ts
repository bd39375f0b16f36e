import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { ConfigurationDto } from '@virtuoso/contracts';
import { randomUUID } from 'node:crypto';
import { Repository } from 'typeorm';
import { Database } from '../common/database.service';
import { CATALOG } from './catalog.seed';
import { Configuration } from './configuration.entity';

@Injectable()
export class CatalogService {
  constructor(
    private readonly db: Database,
    @InjectRepository(Configuration) private readonly configurations: Repository<Configuration>,
  ) {}

  /** Standard configurations first, then preconfigured machines, each in catalog order. */
  async list(): Promise<ConfigurationDto[]> {
    return (await this.all()).map((entry) => this.toDto(entry));
  }

  all(): Promise<Configuration[]> {
    return this.configurations.find({ order: { preconfigured: 'ASC', position: 'ASC', name: 'ASC' } });
  }

  findById(id: string): Promise<Configuration | null> {
    return this.configurations.findOneBy({ id });
  }

  /** Seeds the catalog when it is empty; returns how many entries were added. */
  async seedIfEmpty(): Promise<number> {
    return this.db.transaction(async (em) => {
      if ((await em.count(Configuration)) > 0) return 0;
      const rows = CATALOG.map((entry, position) =>
        em.create(Configuration, { ...entry, id: randomUUID(), position, averageStoragePerMonth: null, averageRunningPerHour: null, averagesUpdatedAt: null }),
      );
      await em.insert(Configuration, rows);
      return rows.length;
    });
  }

  async setAverages(id: string, averages: { storagePerMonth: string; runningPerHour: string }, at: string): Promise<void> {
    await this.db.transaction((em) =>
      em.update(
        Configuration,
        { id },
        { averageStoragePerMonth: averages.storagePerMonth, averageRunningPerHour: averages.runningPerHour, averagesUpdatedAt: at },
      ),
    );
  }

  toDto(entry: Configuration): ConfigurationDto {
    return {
      id: entry.id,
      name: entry.name,
      processor: entry.processor,
      speed: entry.speed,
      os: entry.os,
      memory: entry.memory,
      disk: entry.disk,
      preconfigured: entry.preconfigured,
      image: entry.image,
      averageStoragePerMonth: entry.averageStoragePerMonth,
      averageRunningPerHour: entry.averageRunningPerHour,
      averagesUpdatedAt: entry.averagesUpdatedAt,
    };
  }
}
