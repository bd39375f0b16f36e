import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { CreateHostDto, HostDto, MarketHostDto, ResourceAmountsDto, UpdateHostDto } from '@virtuoso/contracts';
import { type HostCapacity, type HostPrices, type MachineSize, type MachineState, type MarketHost, fits, freeResources, release, reserve } from '@virtuoso/domain';
import { randomUUID } from 'node:crypto';
import { EntityManager, In, Not, Repository } from 'typeorm';
import { AccountsService } from '../accounts/accounts.service';
import { AuthUser } from '../common/auth.decorators';
import { Database } from '../common/database.service';
import { ApiError, conflict, explainUnknownProperties, notFound, withoutUndefined } from '../common/errors';
import { exactAmount } from '../common/money';
import { nowIso } from '../common/time';
import { Machine } from '../machines/machine.entity';
import { Host } from './host.entity';

const CREATE_FIELDS = [
  'name', 'processor', 'speed', 'speedUnit', 'speedUnitPrice', 'memory', 'memoryUnit', 'memoryUnitPrice', 'runningUnitAmount',
  'storage', 'storageUnit', 'storageUnitPrice', 'storageAmount', 'connectionSpeed', 'agentHost', 'agentPort',
] as const;
const PRICE_FIELDS = ['speedUnitPrice', 'memoryUnitPrice', 'storageUnitPrice'] as const;

// Report §5.2.3: only units, unit prices and periods may change once a host is added.
explainUnknownProperties(UpdateHostDto, (property) =>
  (CREATE_FIELDS as readonly string[]).includes(property) ? `${property} cannot be changed after the host is added` : undefined,
);

/** A host as the market rules of libs/domain see it, with its row and its owner's handle. */
export interface MarketHostRow extends MarketHost {
  row: Host;
  owner: string;
}

export const pricesOf = (host: Host): HostPrices => ({
  speedUnit: host.speedUnit,
  speedUnitPrice: host.speedUnitPrice,
  memoryUnit: host.memoryUnit,
  memoryUnitPrice: host.memoryUnitPrice,
  runningUnitAmount: host.runningUnitAmount,
  storageUnit: host.storageUnit,
  storageUnitPrice: host.storageUnitPrice,
  storageAmount: host.storageAmount,
});
export const totalOf = (host: Host): HostCapacity => ({ speed: host.speed, memory: host.memory, storage: host.storage });
export const reservedOf = (host: Host): HostCapacity => ({ speed: host.reservedSpeed, memory: host.reservedMemory, storage: host.reservedStorage });
export const freeOf = (host: Host): ResourceAmountsDto => freeResources(totalOf(host), reservedOf(host));

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

@Injectable()
export class HostsService {
  constructor(
    private readonly db: Database,
    private readonly accounts: AccountsService,
    @InjectRepository(Host) private readonly hosts: Repository<Host>,
    @InjectRepository(Machine) private readonly machines: Repository<Machine>,
  ) {}

  async listMine(user: AuthUser): Promise<HostDto[]> {
    const rows = await this.hosts.find({ where: { ownerId: user.id }, order: { createdAt: 'ASC', name: 'ASC' } });
    const counts = await this.machineCounts(rows.map((row) => row.id));
    return rows.map((row) => this.toDto(row, user.handle, counts.get(row.id) ?? 0));
  }

  async getMine(user: AuthUser, id: string): Promise<HostDto> {
    const row = await this.ownHost(user, id);
    return this.toDto(row, user.handle, await this.machineCount(row.id));
  }

  async create(user: AuthUser, dto: CreateHostDto): Promise<HostDto> {
    const now = nowIso();
    const row: Host = {
      id: randomUUID(),
      ownerId: user.id,
      ...Object.fromEntries(CREATE_FIELDS.map((field) => [field, dto[field]])),
      ...this.canonicalPrices(dto),
      reservedSpeed: 0,
      reservedMemory: 0,
      reservedStorage: 0,
      createdAt: now,
      updatedAt: now,
    } as Host;
    await this.db.transaction(async (em) => {
      if (await em.existsBy(Host, { ownerId: user.id, name: dto.name })) {
        const message = `you already have a host named ${dto.name}`;
        throw new ApiError(409, message, { fields: { name: [message] } });
      }
      await em.insert(Host, row);
    });
    return this.toDto(row, user.handle, 0);
  }

  /** Units, unit prices and periods only; machines already stored keep the prices fixed when they were stored. */
  async update(user: AuthUser, id: string, dto: UpdateHostDto): Promise<HostDto> {
    const row = await this.ownHost(user, id);
    const changes: Partial<Host> = { ...withoutUndefined(dto), ...this.canonicalPrices(dto), updatedAt: nowIso() };
    await this.db.transaction((em) => em.update(Host, { id: row.id, ownerId: user.id }, changes));
    return this.getMine(user, id);
  }

  async remove(user: AuthUser, id: string): Promise<void> {
    const row = await this.ownHost(user, id);
    await this.db.transaction(async (em) => {
      const stored = await em.countBy(Machine, { hostId: row.id, state: Not<MachineState>('deleted') });
      if (stored > 0) throw conflict(`host ${row.name} still stores ${plural(stored, 'machine')}; they must leave first`);
      // Only while nothing is reserved: a machine being stored concurrently makes this delete nothing.
      const result = await em.delete(Host, { id: row.id, reservedSpeed: 0, reservedMemory: 0, reservedStorage: 0 });
      if (result.affected !== 1) throw conflict(`host ${row.name} is receiving a machine; try again later`);
      await em.update(Machine, { hostId: row.id, state: 'deleted' }, { hostId: null });
    });
  }

  /** Every host for the market rules; with a size, only rows whose free resources could hold it are read. */
  async marketHosts(size?: MachineSize, em: EntityManager = this.db.manager): Promise<MarketHostRow[]> {
    const query = em.getRepository(Host).createQueryBuilder('host');
    if (size) {
      // Narrows the rows read; libs/domain still decides what fits.
      query
        .where('host.speed - host.reservedSpeed >= :speed', { speed: size.speed })
        .andWhere('host.memory - host.reservedMemory >= :memory', { memory: size.memory })
        .andWhere('host.storage - host.reservedStorage >= :disk', { disk: size.disk });
    }
    const rows = await query.orderBy('host.name', 'ASC').addOrderBy('host.id', 'ASC').getMany();
    const owners = await this.accounts.handlesOf(rows.map((row) => row.ownerId));
    return rows.map((row) => this.toMarketHost(row, owners.get(row.ownerId) ?? '?'));
  }

  async marketplace(): Promise<MarketHostDto[]> {
    return (await this.marketHosts()).map(({ row, owner }) => ({
      id: row.id,
      owner,
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
    }));
  }

  async findMarketHost(id: string, em: EntityManager = this.db.manager): Promise<MarketHostRow | null> {
    const row = await em.findOneBy(Host, { id });
    if (!row) return null;
    const owners = await this.accounts.handlesOf([row.ownerId]);
    return this.toMarketHost(row, owners.get(row.ownerId) ?? '?');
  }

  async findById(id: string): Promise<Host | null> {
    return this.hosts.findOneBy({ id });
  }

  findByIds(ids: string[]): Promise<Host[]> {
    return this.hosts.findBy({ id: In(ids) });
  }

  /**
   * Reserves a machine's size on the host inside the caller's transaction. The write is a
   * compare-and-set on the reservation read, so two concurrent stores cannot oversell a host.
   * Refuses with 409 naming the first resource that is short.
   */
  async reserve(em: EntityManager, hostId: string, size: MachineSize): Promise<Host> {
    const host = await em.findOneBy(Host, { id: hostId });
    if (!host) throw notFound('host');
    const free = freeOf(host);
    if (!fits(free, size)) throw conflict(this.shortage(host, free, size));
    const reserved = reserve(reservedOf(host), size, totalOf(host));
    await this.setReserved(em, host, reserved);
    return host;
  }

  async release(em: EntityManager, hostId: string, size: MachineSize): Promise<void> {
    const host = await em.findOneBy(Host, { id: hostId });
    if (!host) return;
    await this.setReserved(em, host, release(reservedOf(host), size));
  }

  private async setReserved(em: EntityManager, host: Host, reserved: HostCapacity): Promise<void> {
    const result = await em.update(
      Host,
      { id: host.id, reservedSpeed: host.reservedSpeed, reservedMemory: host.reservedMemory, reservedStorage: host.reservedStorage },
      { reservedSpeed: reserved.speed, reservedMemory: reserved.memory, reservedStorage: reserved.storage, updatedAt: nowIso() },
    );
    if (result.affected !== 1) throw conflict(`host ${host.name} changed while reserving; try again`);
  }

  private shortage(host: Host, free: HostCapacity, size: MachineSize): string {
    const short: Array<[string, number, number, string]> = [
      ['speed', free.speed, size.speed, 'bogomips'],
      ['memory', free.memory, size.memory, 'MB'],
      ['storage', free.storage, size.disk, 'MB'],
    ];
    const [resource, has, needs, unit] = short.find(([, has, needs]) => has < needs) ?? short[0];
    return `host ${host.name} no longer has enough ${resource}: ${has} ${unit} free, the machine needs ${needs} ${unit}`;
  }

  private async ownHost(user: AuthUser, id: string): Promise<Host> {
    const row = await this.hosts.findOneBy({ id, ownerId: user.id });
    if (!row) throw notFound('host');
    return row;
  }

  private async machineCount(hostId: string): Promise<number> {
    return this.machines.countBy({ hostId, state: Not<MachineState>('deleted') });
  }

  private async machineCounts(hostIds: string[]): Promise<Map<string, number>> {
    if (hostIds.length === 0) return new Map();
    const rows = await this.machines
      .createQueryBuilder('machine')
      .select('machine.hostId', 'hostId')
      .addSelect('COUNT(*)', 'count')
      .where({ hostId: In(hostIds), state: Not<MachineState>('deleted') })
      .groupBy('machine.hostId')
      .getRawMany<{ hostId: string; count: string | number }>();
    return new Map(rows.map((row) => [row.hostId, Number(row.count)]));
  }

  private canonicalPrices(dto: Partial<Pick<CreateHostDto, (typeof PRICE_FIELDS)[number]>>): Partial<Host> {
    const prices: Partial<Host> = {};
    for (const field of PRICE_FIELDS) {
      const value = dto[field];
      if (value !== undefined) prices[field] = exactAmount(field, value);
    }
    return prices;
  }

  private toMarketHost(row: Host, owner: string): MarketHostRow {
    return { id: row.id, name: row.name, prices: pricesOf(row), total: totalOf(row), reserved: reservedOf(row), row, owner };
  }

  toDto(row: Host, owner: string, machineCount: number): HostDto {
    return {
      id: row.id,
      owner,
      ...(Object.fromEntries(CREATE_FIELDS.map((field) => [field, row[field]])) as Pick<Host, (typeof CREATE_FIELDS)[number]>),
      free: freeOf(row),
      machineCount,
      createdAt: row.createdAt,
    };
  }
}
