import type { MigrationInterface } from 'typeorm';
import { Initial1796522456940 } from './1796522456940-Initial';
import { EventLog1796531480659 } from './1796531480659-EventLog';
import { DropMeterHostIndex1796531586582 } from './1796531586582-DropMeterHostIndex';
import { EventUserIndex1796540904330 } from './1796540904330-EventUserIndex';
import { EventTransactionIds1796541130867 } from './1796541130867-EventTransactionIds';
import { BuyerBillingMarks1796564900060 } from './1796564900060-BuyerBillingMarks';
import { LedgerKeyedByPayer1796575264292 } from './1796575264292-LedgerKeyedByPayer';

/** The PostgreSQL schema migrations in the order they run. Written by `npm run db:migration` (tools/db/migration.mjs). */
export const POSTGRES_SCHEMA_MIGRATIONS: Array<new () => MigrationInterface> = [
  Initial1796522456940,
  EventLog1796531480659,
  DropMeterHostIndex1796531586582,
  EventUserIndex1796540904330,
  EventTransactionIds1796541130867,
  BuyerBillingMarks1796564900060,
  LedgerKeyedByPayer1796575264292,
];
