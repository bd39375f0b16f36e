import { Injectable } from '@nestjs/common';
import type { StatementEntryDto, StatementPageDto, StatementQueryDto } from '@virtuoso/contracts';
import { moneyToUnits } from '@virtuoso/domain';
import type { EntityManager } from 'typeorm';
import { LedgerEntry, userAccount } from '../accounts/ledger-entry.entity';
import { AuthUser } from '../common/auth.decorators';
import { isoOf } from '../common/clock';
import { csvAmount, csvText } from '../common/csv';
import { Database } from '../common/database.service';
import { badRequest } from '../common/errors';
import { Sql, select } from '../common/sql';
import { arrivalsByChargeKeys, hostNamesByIds, machinesByIds } from './account-reads';

const MAX_CSV_ROWS = 1_000_000;

/** The statement: a user's ledger entries, newest first, filtered, as pages or as one CSV file; each entry signed for the user and described in words. */
@Injectable()
export class StatementService {
  constructor(private readonly db: Database) {}

  /** The user's ledger entries, newest first, filtered; a page of them. */
  async statement(user: AuthUser, query: StatementQueryDto): Promise<StatementPageDto> {
    const limit = query.limit ?? 100;
    const offset = query.offset ?? 0;
    const em = this.db.manager;
    const count = this.filtered(em, user.id, query);
    const [{ total }] = await select<{ total: number | string }>(em, `SELECT COUNT(*) AS "total" FROM "ledger_entries" WHERE ${count.where}`, count.sql.params);
    const page = this.filtered(em, user.id, query);
    const rows = await select<LedgerEntry>(
      em,
      `SELECT * FROM "ledger_entries" WHERE ${page.where} ORDER BY "at" DESC, "key" DESC LIMIT ${page.sql.p(limit)} OFFSET ${page.sql.p(offset)}`,
      page.sql.params,
    );
    return { total: Number(total), limit, offset, items: await this.toStatement(em, user.id, rows) };
  }

  /** The same entries as CSV (every matching entry, newest first), with a header row. */
  async statementCsv(user: AuthUser, query: StatementQueryDto): Promise<string> {
    const lines = ['at,kind,amount,machine,host,description,key'];
    const em = this.db.manager;
    for (let offset = 0; offset < MAX_CSV_ROWS; offset += 1000) {
      const page = this.filtered(em, user.id, query);
      const rows = await select<LedgerEntry>(
        em,
        `SELECT * FROM "ledger_entries" WHERE ${page.where} ORDER BY "at" DESC, "key" DESC LIMIT ${page.sql.p(1000)} OFFSET ${page.sql.p(offset)}`,
        page.sql.params,
      );
      for (const entry of await this.toStatement(em, user.id, rows)) {
        // Names come from other users (a provider names the host): text cells are neutralised; the amount stays a number.
        const { at, kind, amount, machineName, hostName, description, key } = entry;
        lines.push([csvText(at), csvText(kind), csvAmount(amount), ...[machineName ?? '', hostName ?? '', description, key].map(csvText)].join(','));
      }
      if (rows.length < 1000) break;
    }
    return `${lines.join('\r\n')}\r\n`;
  }

  private filtered(em: EntityManager, userId: string, query: StatementQueryDto): { sql: Sql; where: string } {
    const sql = new Sql(em);
    const account = userAccount(userId);
    const clauses = [`("debitAccount" = ${sql.p(account)} OR "creditAccount" = ${sql.p(account)})`];
    const from = query.from === undefined ? undefined : Date.parse(query.from);
    const to = query.to === undefined ? undefined : Date.parse(query.to);
    if (from !== undefined && to !== undefined && to < from) throw badRequest('to', 'to must not be before from');
    if (from !== undefined) clauses.push(`"at" >= ${sql.p(from)}`);
    if (to !== undefined) clauses.push(`"at" < ${sql.p(to)}`);
    if (query.kind) clauses.push(query.kind === 'topUp' ? `"kind" IN (${sql.p('topUp')}, ${sql.p('topup')})` : `"kind" = ${sql.p(query.kind)}`);
    if (query.machineId) clauses.push(`"machineId" = ${sql.p(query.machineId)}`);
    return { sql, where: clauses.join(' AND ') };
  }

  /** Ledger rows as statement entries of the user: signed (negative = debited from the user), with names and a description. */
  async toStatement(em: EntityManager, userId: string, rows: LedgerEntry[]): Promise<StatementEntryDto[]> {
    const account = userAccount(userId);
    const machines = await machinesByIds(
      em,
      rows.map((row) => row.machineId).filter((id): id is string => !!id),
    );
    const hostNames = await hostNamesByIds(
      em,
      rows.map((row) => row.hostId),
    );
    const arrivals = await arrivalsByChargeKeys(
      em,
      rows.filter((row) => row.kind === 'storage').map((row) => row.key),
    );
    return rows.map((row) => {
      const debited = row.debitAccount === account;
      const machineName = row.machineId ? (machines.get(row.machineId)?.name ?? null) : null;
      const hostName = row.hostId ? (hostNames.get(row.hostId) ?? null) : null;
      const kind = (row.kind as string) === 'topup' ? 'topUp' : row.kind;
      return {
        key: row.key,
        kind,
        at: isoOf(Number(row.at)),
        amount: debited && moneyToUnits(row.amount) !== 0n ? `-${row.amount}` : row.amount,
        machineId: row.machineId,
        machineName,
        hostName,
        description: describe(kind, row.key, machineName, hostName, arrivals.get(row.key)),
      };
    });
  }
}

/** A statement line in words, from the movement's kind and key (libs/domain's key formats). */
function describe(kind: string, key: string, machine: string | null, host: string | null, arrivedFrom?: string): string {
  const name = machine ?? 'a machine';
  const on = host ? ` on ${host}` : '';
  const parts = key.split(':');
  switch (kind) {
    case 'fee':
      return `registration fee for ${name}`;
    case 'storage':
      // A migration charges a new period on arrival and refunds nothing of the origin's (report §5.1.6).
      if (arrivedFrom !== undefined) return `storage of ${name}${on}, period 1, charged on arrival from ${arrivedFrom} (the unused part there is not refunded)`;
      return `storage of ${name}${on}, period ${Number(parts[3]) + 1}`;
    case 'running':
      return `running of ${name}${on}, slice ${Number(parts[2]) + 1}`;
    case 'topUp':
      return key.startsWith('signup:') ? 'sign-up credit' : 'top-up';
    case 'refund':
      // refund:<charge key> (libs/domain refundKey): what it gives back of which charge.
      if (key.startsWith('refund:storage:')) return `refund of unused storage of ${name}${on} (host removed by its provider)`;
      if (key.startsWith('refund:running:')) return `refund of unused running time of ${name}${on} (host removed by its provider)`;
      return `refund${machine ? ` for ${name}` : ''}`;
    default:
      return kind;
  }
}
