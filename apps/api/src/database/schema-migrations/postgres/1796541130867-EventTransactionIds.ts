import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * PostgreSQL: EventTransactionIds. Written by hand (no entity can describe it: schema-changes.ts):
 * each event keeps the id of the transaction that wrote it, so the log's readers show only events
 * of transactions older than the oldest still running (docs/ARCHITECTURE.md "Event log"). Rows
 * written before get 0 (a constant default fills them without rewriting the table): all visible.
 */
export class EventTransactionIds1796541130867 implements MigrationInterface {
  name = 'EventTransactionIds1796541130867';
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "events" ADD "txid" xid8 NOT NULL DEFAULT '0'`);
    await queryRunner.query(`ALTER TABLE "events" ALTER COLUMN "txid" SET DEFAULT pg_current_xact_id()`);
  }
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "events" DROP COLUMN "txid"`);
  }
}
