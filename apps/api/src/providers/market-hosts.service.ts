import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { MarketHostDto } from '@virtuoso/contracts';
import type { MachineSize, MarketHost } from '@virtuoso/domain';
import { EntityManager, In, Repository } from 'typeorm';
import { AccountsService } from '../accounts/accounts.service';
import { User } from '../accounts/user.entity';
import { Agent } from '../agents/agent.entity';
import { onlineSince } from '../agents/online';
import { Clock, WALL_CLOCK } from '../common/clock';
import { Database } from '../common/database.service';
import { APP_CONFIG, AppConfig } from '../config';
import { Host } from './host.entity';
import { HostsService, freeOf, totalOf } from './hosts.service';
import { MarketHostReader, PACKED_FIELDS } from './market-host-reader';

/** An offer's host details besides its prices. */
export interface OfferDetails {
  processor: string;
  connectionSpeed: string;
  owner: string;
}

/**
 * Hosts as the market reads them: every host for the search and the market averages (raw and
 * packed, for speed), the online ones, an offer's details, and the public marketplace list.
 */
@Injectable()
export class MarketHosts {
  constructor(
    private readonly db: Database,
    private readonly accounts: AccountsService,
    private readonly hostsService: HostsService,
    @InjectRepository(Host) private readonly hosts: Repository<Host>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
  ) {}

  /**
   * Every host as the market rules see it; with a size, only rows whose free resources could hold
   * it are read (libs/domain still decides what fits). Read raw, not as entities, and packed: the
   * sqlite3 driver's cost is per value returned, so the fields come back as one text column per
   * row (10,000 rows: ~40 ms as 16 columns, ~12 ms packed). CAST and || mean the same on PostgreSQL.
   */
  async marketHosts(size?: MachineSize, em: EntityManager = this.db.manager, options: { onlineOnly?: boolean } = {}): Promise<MarketHost[]> {
    const query = em
      .getRepository(Host)
      .createQueryBuilder('host')
      .select(PACKED_FIELDS.map((field) => `CAST(host.${field} AS VARCHAR)`).join(" || ' ' || "), 'packed');
    if (size) {
      query
        .where('host.speed - host.reservedSpeed >= :speed', { speed: size.speed })
        .andWhere('host.memory - host.reservedMemory >= :memory', { memory: size.memory })
        .andWhere('host.storage - host.reservedStorage >= :disk', { disk: size.disk });
    }
    if (options.onlineOnly) {
      const since = onlineSince(this.config.agentOfflineMs, this.wallClock.now());
      query.innerJoin(Agent, 'agent', 'agent.id = host.agentId').andWhere('agent.lastHeartbeatAt >= :since', { since });
    }
    // Name then id: the order the search keeps between hosts equal on price and name.
    const rows = await query.orderBy('host.name', 'ASC').addOrderBy('host.id', 'ASC').getRawMany<{ packed: string }>();
    const reader = new MarketHostReader();
    return rows.map(({ packed }) => reader.read(packed));
  }

  /** Ids of the hosts whose agent is online (a heartbeat within agentOfflineMs), as marketHosts' onlineOnly reads them. */
  async onlineHostIds(em: EntityManager = this.db.manager): Promise<Set<string>> {
    const since = onlineSince(this.config.agentOfflineMs, this.wallClock.now());
    const rows = await em
      .getRepository(Host)
      .createQueryBuilder('host')
      .innerJoin(Agent, 'agent', 'agent.id = host.agentId')
      .select('host.id', 'id')
      .where('agent.lastHeartbeatAt >= :since', { since })
      .getRawMany<{ id: string }>();
    return new Set(rows.map((row) => row.id));
  }

  /** What an offer shows besides its price, for the few hosts on a page of search results. */
  async offerDetails(ids: readonly string[]): Promise<Map<string, OfferDetails>> {
    const details = new Map<string, OfferDetails>();
    // In chunks: databases cap the number of bound parameters in one statement.
    for (let start = 0; start < ids.length; start += 500) {
      const rows = await this.hosts
        .createQueryBuilder('host')
        .leftJoin(User, 'owner', 'owner.id = host.ownerId')
        .select('host.id', 'id')
        .addSelect('host.processor', 'processor')
        .addSelect('host.connectionSpeed', 'connectionSpeed')
        .addSelect('owner.handle', 'owner')
        .where({ id: In(ids.slice(start, start + 500)) })
        .getRawMany<{ id: string; processor: string; connectionSpeed: string; owner: string | null }>();
      for (const row of rows) details.set(row.id, { processor: row.processor, connectionSpeed: row.connectionSpeed, owner: row.owner ?? '?' });
    }
    return details;
  }

  async marketplace(): Promise<MarketHostDto[]> {
    const rows = await this.hosts.find({ order: { name: 'ASC', id: 'ASC' } });
    const owners = await this.accounts.handlesOf(rows.map((row) => row.ownerId));
    const status = await this.hostsService.agentStatus(rows);
    return rows.map((row) => ({
      id: row.id,
      owner: owners.get(row.ownerId) ?? '?',
      name: row.name,
      processor: row.processor,
      free: freeOf(row),
      total: totalOf(row),
      speedUnit: row.speedUnit,
      speedUnitPrice: row.speedUnitPrice,
      memoryUnit: row.memoryUnit,
      memoryUnitPrice: row.memoryUnitPrice,
      runningUnitAmount: row.runningUnitAmount,
      storageUnit: row.storageUnit,
      storageUnitPrice: row.storageUnitPrice,
      storageAmount: row.storageAmount,
      connectionSpeed: row.connectionSpeed,
      online: status.get(row.id)!.online,
      lastHeartbeatAt: status.get(row.id)!.lastHeartbeatAt,
    }));
  }
}
