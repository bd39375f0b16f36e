import type { MachineMeter } from '@virtuoso/domain';
import type { EntityManager } from 'typeorm';
import { Sql, chunks, select } from '../common/sql';
import { meterOf } from './meter-rows';

/** What the account pages and the statement show of a machine. */
export interface MachineInfo {
  id: string;
  name: string;
  state: string;
  createdAt: string;
}

/** What the account pages show of a host, and what the agent status needs. */
export interface HostInfo {
  id: string;
  name: string;
  ownerId: string;
  agentId: string | null;
}

/** The live meters of a buyer's or a provider's machines, each with its host. */
export async function liveMeters(
  em: EntityManager,
  column: 'buyerId' | 'providerId',
  userId: string,
): Promise<Array<{ meter: MachineMeter; hostId: string | null }>> {
  const sql = new Sql(em);
  const rows = await select<Record<string, unknown>>(
    em,
    `SELECT * FROM "machine_meters" WHERE "${column}" = ${sql.p(userId)} AND "removedAt" IS NULL`,
    sql.params,
  );
  return rows.map((row) => ({ meter: meterOf(row), hostId: (row.hostId as string | null) ?? null }));
}

/** Oldest machine first (then by id), as both account pages list them. */
export function byAge<T extends { meter: MachineMeter }>(meters: T[], machines: Map<string, MachineInfo>): T[] {
  const created = (m: T) => machines.get(m.meter.machineId)?.createdAt ?? '';
  return [...meters].sort((a, b) => created(a).localeCompare(created(b)) || a.meter.machineId.localeCompare(b.meter.machineId));
}

export async function machinesByIds(em: EntityManager, ids: readonly string[]): Promise<Map<string, MachineInfo>> {
  const found = new Map<string, MachineInfo>();
  for (const part of chunks([...new Set(ids)], 500)) {
    const sql = new Sql(em);
    const rows = await select<MachineInfo>(em, `SELECT "id", "name", "state", "createdAt" FROM "machines" WHERE "id" IN ${sql.list(part)}`, sql.params);
    for (const row of rows) found.set(row.id, row);
  }
  return found;
}

export async function hostsByIds(em: EntityManager, ids: ReadonlyArray<string | null>): Promise<Map<string, HostInfo>> {
  const found = new Map<string, HostInfo>();
  for (const part of chunks([...new Set(ids.filter((id): id is string => !!id))], 500)) {
    const sql = new Sql(em);
    const rows = await select<HostInfo>(em, `SELECT "id", "name", "ownerId", "agentId" FROM "hosts" WHERE "id" IN ${sql.list(part)}`, sql.params);
    for (const row of rows) found.set(row.id, row);
  }
  return found;
}

/** Host names, of removed hosts too (kept with their income). */
export async function hostNamesByIds(em: EntityManager, ids: ReadonlyArray<string | null>): Promise<Map<string, string>> {
  const unique = [...new Set(ids.filter((id): id is string => !!id))];
  const names = new Map([...(await hostsByIds(em, unique)).values()].map((host) => [host.id, host.name]));
  const missing = unique.filter((id) => !names.has(id));
  for (const part of chunks(missing, 500)) {
    const sql = new Sql(em);
    const rows = await select<{ hostId: string; hostName: string | null }>(
      em,
      `SELECT "hostId", "hostName" FROM "host_incomes" WHERE "hostId" IN ${sql.list(part)}`,
      sql.params,
    );
    for (const row of rows) if (row.hostName) names.set(row.hostId, row.hostName);
  }
  return names;
}

/** Storage charged on arrival by a migration (report §5.1.6): the charge's ledger key → the host the machine came from. */
export async function arrivalsByChargeKeys(em: EntityManager, keys: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const part of chunks([...new Set(keys)], 500)) {
    const sql = new Sql(em);
    const rows = await select<{ arrivalChargeKey: string; fromHostName: string }>(
      em,
      `SELECT "arrivalChargeKey", "fromHostName" FROM "migrations" WHERE "arrivalChargeKey" IN ${sql.list(part)}`,
      sql.params,
    );
    for (const row of rows) found.set(row.arrivalChargeKey, row.fromHostName);
  }
  return found;
}
