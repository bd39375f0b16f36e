import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createOrAdoptSchema } from './adopt-synchronized-schema';

/** The statements of an empty database; createOrAdoptSchema runs them or adopts a database made by synchronize. */
const STATEMENTS = [
  `CREATE TABLE "ledger_entries" ("key" varchar(120) PRIMARY KEY NOT NULL, "kind" varchar(10) NOT NULL, "debitAccount" varchar(60) NOT NULL, "creditAccount" varchar(60) NOT NULL, "amount" varchar(40) NOT NULL, "machineId" varchar(36), "hostId" varchar(36), "at" bigint NOT NULL DEFAULT (0), "createdAt" varchar(30) NOT NULL)`,
  `CREATE INDEX "IDX_49549db9692768e12a74fd165a" ON "ledger_entries" ("creditAccount", "at") `,
  `CREATE INDEX "IDX_04f9d2435c353ccb25e6f2f68e" ON "ledger_entries" ("debitAccount", "at") `,
  `CREATE TABLE "agents" ("id" varchar(36) PRIMARY KEY NOT NULL, "providerId" varchar(36) NOT NULL, "secret" varchar(128) NOT NULL, "agentHost" varchar(255) NOT NULL, "agentPort" integer NOT NULL, "consolePort" integer NOT NULL, "joinedFrom" varchar(64), "facts" varchar(2000) NOT NULL, "vms" text NOT NULL DEFAULT ('[]'), "lastHeartbeatAt" varchar(30), "transferSshPort" integer, "transferSshUser" varchar(32), "transferHostKey" varchar(800), "transferFingerprint" varchar(100), "joinedAt" varchar(30) NOT NULL)`,
  `CREATE INDEX "IDX_e927e225423f493fb58dc146cf" ON "agents" ("providerId") `,
  `CREATE TABLE "agent_nonces" ("agentId" varchar(36) NOT NULL, "nonce" varchar(64) NOT NULL, "at" bigint NOT NULL, PRIMARY KEY ("agentId", "nonce"))`,
  `CREATE INDEX "IDX_4dbf2f97a9fc3905c79e0b324b" ON "agent_nonces" ("at") `,
  `CREATE TABLE "join_tokens" ("id" varchar(36) PRIMARY KEY NOT NULL, "providerId" varchar(36) NOT NULL, "tokenHash" varchar(64) NOT NULL, "hostId" varchar(36), "expiresAt" varchar(30) NOT NULL, "usedAt" varchar(30), "agentId" varchar(36), "agentPort" integer, "consolePort" integer, "createdAt" varchar(30) NOT NULL)`,
  `CREATE INDEX "IDX_a8cf7d35d3ff4176f77ecfefef" ON "join_tokens" ("providerId") `,
  `CREATE UNIQUE INDEX "IDX_cfe3a365cc75aa706d2b8e5db3" ON "join_tokens" ("tokenHash") `,
  `CREATE TABLE "users" ("id" varchar(36) PRIMARY KEY NOT NULL, "handle" varchar(40) NOT NULL, "handleKey" varchar(40) NOT NULL, "email" varchar(200) NOT NULL, "emailKey" varchar(200), "passwordHash" varchar(100) NOT NULL, "role" varchar(10) NOT NULL, "balance" varchar(40) NOT NULL, "createdAt" varchar(30) NOT NULL)`,
  `CREATE UNIQUE INDEX "IDX_184017bafb7cd4fa58f5c3572d" ON "users" ("handleKey") `,
  `CREATE UNIQUE INDEX "IDX_ae137787c1f782e4c09ccc797b" ON "users" ("emailKey") `,
  `CREATE TABLE "api_tokens" ("id" varchar(36) PRIMARY KEY NOT NULL, "userId" varchar(36) NOT NULL, "name" varchar(80) NOT NULL, "prefix" varchar(16) NOT NULL, "tokenHash" varchar(64) NOT NULL, "createdAt" varchar(30) NOT NULL, "lastUsedAt" varchar(30))`,
  `CREATE INDEX "IDX_2a2ce819bd75cc0193bfb2692b" ON "api_tokens" ("userId") `,
  `CREATE UNIQUE INDEX "IDX_cdac8e064e6e9c2e0835d1c1b8" ON "api_tokens" ("tokenHash") `,
  `CREATE TABLE "sessions" ("id" varchar(36) PRIMARY KEY NOT NULL, "tokenHash" varchar(64) NOT NULL, "userId" varchar(36) NOT NULL, "createdAt" varchar(30) NOT NULL, "expiresAt" varchar(30) NOT NULL, "lastUsedAt" varchar(30), "userAgent" varchar(200))`,
  `CREATE UNIQUE INDEX "IDX_bace6c68efc156fddac9b14bda" ON "sessions" ("tokenHash") `,
  `CREATE INDEX "IDX_57de40bc620f456c7311aa3a1e" ON "sessions" ("userId") `,
  `CREATE TABLE "signin_failures" ("id" varchar(36) PRIMARY KEY NOT NULL, "address" varchar(64) NOT NULL, "handleKey" varchar(200) NOT NULL, "at" bigint NOT NULL)`,
  `CREATE INDEX "IDX_ffa628fe9f421a03c92147af35" ON "signin_failures" ("at") `,
  `CREATE INDEX "IDX_0156a97ab94adf81eea3476d27" ON "signin_failures" ("address", "at") `,
  `CREATE INDEX "IDX_6325b2c839c050b7107ba6ccba" ON "signin_failures" ("handleKey", "at") `,
  `CREATE TABLE "notifications" ("id" varchar(36) PRIMARY KEY NOT NULL, "key" varchar(160) NOT NULL, "userId" varchar(36) NOT NULL, "kind" varchar(20) NOT NULL, "subject" varchar(200) NOT NULL, "body" varchar(4000) NOT NULL, "machineId" varchar(36), "createdAt" varchar(30) NOT NULL, "readAt" varchar(30), "emailTo" varchar(200), "emailStatus" varchar(10) NOT NULL, "emailedAt" varchar(30), "emailError" varchar(500))`,
  `CREATE UNIQUE INDEX "IDX_d51d565cc502858700f2107167" ON "notifications" ("key") `,
  `CREATE INDEX "IDX_27034dd8e3a8189389536b2119" ON "notifications" ("emailStatus") `,
  `CREATE INDEX "IDX_21e65af2f4f242d4c85a92aff4" ON "notifications" ("userId", "createdAt") `,
  `CREATE TABLE "machines" ("id" varchar(36) PRIMARY KEY NOT NULL, "ownerId" varchar(36) NOT NULL, "name" varchar(60) NOT NULL, "processor" varchar(60) NOT NULL, "speed" integer NOT NULL, "os" varchar(60) NOT NULL, "memory" integer NOT NULL, "disk" integer NOT NULL, "preconfigured" boolean NOT NULL, "image" varchar(200), "configurationId" varchar(36), "state" varchar(20) NOT NULL, "previousState" varchar(20), "version" integer NOT NULL, "revision" integer NOT NULL DEFAULT (0), "askedStoragePerMonth" varchar(40) NOT NULL, "askedRunningPerHour" varchar(40) NOT NULL, "hostId" varchar(36), "storagePrice" varchar(40), "storageAmount" integer, "runningPrice" varchar(40), "runningUnitAmount" integer, "macAddress" varchar(17) NOT NULL, "registrationFee" varchar(40) NOT NULL, "lastError" varchar(500), "mediaId" varchar(36), "storedAt" varchar(30), "transientSince" varchar(30), "privateAddress" varchar(15), "forwardPorts" text NOT NULL DEFAULT ('[]'), "forwards" text NOT NULL DEFAULT ('[]'), "lastHostPorts" text NOT NULL DEFAULT ('[]'), "createdAt" varchar(30) NOT NULL, "updatedAt" varchar(30) NOT NULL)`,
  `CREATE INDEX "IDX_20fc0ad58e9d2311c731cbc2f9" ON "machines" ("ownerId") `,
  `CREATE INDEX "IDX_cd2118a161f9f97736bfa81fca" ON "machines" ("state") `,
  `CREATE INDEX "IDX_8dedaff6cad6b694acf08b4e2b" ON "machines" ("hostId") `,
  `CREATE UNIQUE INDEX "IDX_bf17c5ae32c18bd7aac6709043" ON "machines" ("macAddress") `,
  `CREATE INDEX "IDX_22f193aa21f149a9f4c1982ed1" ON "machines" ("mediaId") `,
  `CREATE UNIQUE INDEX "IDX_2837d84abe6f17bad6a21c632b" ON "machines" ("ownerId", "privateAddress") `,
  `CREATE TABLE "hosts" ("id" varchar(36) PRIMARY KEY NOT NULL, "ownerId" varchar(36) NOT NULL, "name" varchar(60) NOT NULL, "processor" varchar(60) NOT NULL, "speed" integer NOT NULL, "speedUnit" integer NOT NULL, "speedUnitPrice" varchar(40) NOT NULL, "memory" integer NOT NULL, "memoryUnit" integer NOT NULL, "memoryUnitPrice" varchar(40) NOT NULL, "runningUnitAmount" integer NOT NULL, "storage" integer NOT NULL, "storageUnit" integer NOT NULL, "storageUnitPrice" varchar(40) NOT NULL, "storageAmount" integer NOT NULL, "connectionSpeed" varchar(40) NOT NULL, "agentHost" varchar(255) NOT NULL, "agentPort" integer NOT NULL, "agentId" varchar(36), "reservedSpeed" integer NOT NULL DEFAULT (0), "reservedMemory" integer NOT NULL DEFAULT (0), "reservedStorage" integer NOT NULL DEFAULT (0), "createdAt" varchar(30) NOT NULL, "updatedAt" varchar(30) NOT NULL)`,
  `CREATE INDEX "IDX_bd785efe585a9eeac3ba1b260a" ON "hosts" ("ownerId") `,
  `CREATE UNIQUE INDEX "IDX_65ae57d0cd28910a916638044a" ON "hosts" ("agentId") `,
  `CREATE UNIQUE INDEX "IDX_8e1262c15b955d54ea4afec18e" ON "hosts" ("ownerId", "name") `,
  `CREATE TABLE "idempotency_keys" ("userId" varchar(36) NOT NULL, "key" varchar(200) NOT NULL, "requestHash" varchar(64) NOT NULL, "request" varchar(300) NOT NULL, "status" integer, "body" text, "createdAt" varchar(30) NOT NULL, PRIMARY KEY ("userId", "key"))`,
  `CREATE INDEX "IDX_39829cdd18d40184d32a8a4abe" ON "idempotency_keys" ("createdAt") `,
  `CREATE TABLE "buyer_standings" ("userId" varchar(36) PRIMARY KEY NOT NULL, "lowSince" bigint, "overdrawnSince" bigint, "required" varchar(40) NOT NULL, "heldAt" bigint, "updatedAt" bigint NOT NULL)`,
  `CREATE INDEX "IDX_7c4ba4dc0da56efd5052650979" ON "buyer_standings" ("lowSince") `,
  `CREATE INDEX "IDX_bcdde8161e165ada8f7cd7149a" ON "buyer_standings" ("overdrawnSince") `,
  `CREATE INDEX "IDX_459af0cf9383a51872870b296c" ON "buyer_standings" ("heldAt") `,
  `CREATE TABLE "host_incomes" ("hostId" varchar(36) PRIMARY KEY NOT NULL, "providerId" varchar(36) NOT NULL, "hostName" varchar(60), "income" varchar(40) NOT NULL, "updatedAt" varchar(30) NOT NULL)`,
  `CREATE INDEX "IDX_af1d9cfa817a63c11a63b0732c" ON "host_incomes" ("providerId") `,
  `CREATE TABLE "machine_meters" ("machineId" varchar(36) PRIMARY KEY NOT NULL, "buyerId" varchar(36) NOT NULL, "providerId" varchar(36) NOT NULL, "hostId" varchar(36), "storagePrice" varchar(40) NOT NULL, "storageAmountDays" integer NOT NULL, "runningPrice" varchar(40) NOT NULL, "runningUnitSeconds" integer NOT NULL, "storedAt" bigint NOT NULL, "storagePeriodsCharged" integer NOT NULL, "slicesCharged" integer NOT NULL, "prepaidMsLeft" bigint NOT NULL, "runningSince" bigint, "asOf" bigint NOT NULL, "removedAt" bigint, "nextDueAt" bigint, "nextDebits" varchar(40) NOT NULL, "revision" integer NOT NULL) WITHOUT ROWID`,
  `CREATE INDEX "IDX_ee5f0c61acf18c86362f9b1e23" ON "machine_meters" ("buyerId") `,
  `CREATE INDEX "IDX_c52940846f9957f930c1ec8a7a" ON "machine_meters" ("providerId") `,
  `CREATE INDEX "IDX_d0a4ae83f4af615ed1fe728d01" ON "machine_meters" ("hostId") `,
  `CREATE INDEX "IDX_312be0f1cc0830ca4aa47300e8" ON "machine_meters" ("nextDueAt") `,
  `CREATE TABLE "billing_status" ("id" varchar(20) PRIMARY KEY NOT NULL, "lastPassAt" bigint NOT NULL, "lastPassMeters" integer NOT NULL, "lastPassCharges" integer NOT NULL, "lastPassMs" integer NOT NULL, "passes" integer NOT NULL)`,
  `CREATE TABLE "configurations" ("id" varchar(36) PRIMARY KEY NOT NULL, "name" varchar(60) NOT NULL, "position" integer NOT NULL, "processor" varchar(60) NOT NULL, "speed" integer NOT NULL, "os" varchar(60) NOT NULL, "memory" integer NOT NULL, "disk" integer NOT NULL, "preconfigured" boolean NOT NULL, "image" varchar(200), "averageStoragePerMonth" varchar(40), "averageRunningPerHour" varchar(40), "averagesUpdatedAt" varchar(30))`,
  `CREATE UNIQUE INDEX "IDX_d8473217e1bad80a1746b987ca" ON "configurations" ("name") `,
  `CREATE TABLE "console_tickets" ("tokenHash" varchar(64) PRIMARY KEY NOT NULL, "userId" varchar(36) NOT NULL, "machineId" varchar(36) NOT NULL, "expiresAt" bigint NOT NULL, "usedAt" bigint)`,
  `CREATE INDEX "IDX_0e0a0e92d3dc2775080b598b89" ON "console_tickets" ("expiresAt") `,
  `CREATE TABLE "console_viewers" ("machineId" varchar(36) PRIMARY KEY NOT NULL, "viewerId" varchar(36) NOT NULL, "replicaId" varchar(36) NOT NULL, "openedAt" bigint NOT NULL)`,
  `CREATE TABLE "media" ("id" varchar(36) PRIMARY KEY NOT NULL, "ownerId" varchar(36) NOT NULL, "name" varchar(120) NOT NULL, "size" integer NOT NULL, "sha256" varchar(64) NOT NULL, "createdAt" varchar(30) NOT NULL)`,
  `CREATE INDEX "IDX_138d7762e76b7fee9de6db0f8e" ON "media" ("ownerId") `,
  `CREATE TABLE "media_grants" ("id" varchar(36) PRIMARY KEY NOT NULL, "agentId" varchar(36) NOT NULL, "mediaId" varchar(36) NOT NULL, "grantedAt" bigint NOT NULL)`,
  `CREATE INDEX "IDX_e972981652d040dc7acf79cc86" ON "media_grants" ("agentId", "mediaId") `,
  `CREATE TABLE "network_agents" ("networkId" varchar(36) NOT NULL, "agentId" varchar(36) NOT NULL, "uplinkPublicKey" varchar(16384), "syncedAt" varchar(30) NOT NULL, PRIMARY KEY ("networkId", "agentId"))`,
  `CREATE TABLE "private_networks" ("id" varchar(36) PRIMARY KEY NOT NULL, "userId" varchar(36) NOT NULL, "index" integer NOT NULL, "hubAgentId" varchar(36), "createdAt" varchar(30) NOT NULL)`,
  `CREATE UNIQUE INDEX "IDX_13c4dad6b564739286778ce11d" ON "private_networks" ("userId") `,
  `CREATE UNIQUE INDEX "IDX_8124023f358285f0b13ff9e0d0" ON "private_networks" ("index") `,
  `CREATE TABLE "ssh_keys" ("id" varchar(36) PRIMARY KEY NOT NULL, "userId" varchar(36) NOT NULL, "name" varchar(80) NOT NULL, "publicKey" varchar(16384) NOT NULL, "type" varchar(40) NOT NULL, "fingerprint" varchar(60) NOT NULL, "createdAt" varchar(30) NOT NULL)`,
  `CREATE INDEX "IDX_fae80a5537b86c178814adcb9f" ON "ssh_keys" ("userId") `,
  `CREATE UNIQUE INDEX "IDX_9e673a24b9c1ccd83b3d4efe0d" ON "ssh_keys" ("userId", "fingerprint") `,
  `CREATE TABLE "migrations" ("id" varchar(36) PRIMARY KEY NOT NULL, "machineId" varchar(36) NOT NULL, "ownerId" varchar(36) NOT NULL, "fromHostId" varchar(36) NOT NULL, "toHostId" varchar(36) NOT NULL, "fromHostName" varchar(60) NOT NULL, "toHostName" varchar(60) NOT NULL, "method" varchar(10) NOT NULL, "phase" varchar(20) NOT NULL, "previousState" varchar(20) NOT NULL, "fromVersion" integer NOT NULL, "toVersion" integer, "bytesDone" integer NOT NULL DEFAULT (0), "bytesTotal" integer NOT NULL DEFAULT (0), "bytesPerSecond" integer NOT NULL DEFAULT (0), "bytesTransferred" integer, "transferMs" integer, "transferringSince" varchar(30), "lastHeartbeatAt" varchar(30), "lastHeartbeatVmmp" varchar(200), "error" varchar(500), "storagePrice" varchar(40) NOT NULL, "storageAmount" integer NOT NULL, "runningPrice" varchar(40) NOT NULL, "runningUnitAmount" integer NOT NULL, "arrivalChargeKey" varchar(120), "orchestratorReplicaId" varchar(36), "cleanedUp" boolean NOT NULL DEFAULT (0), "startedAt" varchar(30) NOT NULL, "finishedAt" varchar(30), "log" text NOT NULL DEFAULT ('[]'))`,
  `CREATE INDEX "IDX_ceb5fbdb2b7851eb7616a68abb" ON "migrations" ("ownerId") `,
  `CREATE INDEX "IDX_d23eaaa7c8c593b7afb19090f1" ON "migrations" ("phase") `,
  `CREATE INDEX "IDX_f9e88fe9fc9d0917ff194c836d" ON "migrations" ("machineId", "startedAt") `,
  `CREATE TABLE "price_points" ("configurationId" varchar(36) NOT NULL, "at" bigint NOT NULL, "storagePerMonth" varchar(40) NOT NULL, "runningPerHour" varchar(40) NOT NULL, "hostCount" integer NOT NULL, PRIMARY KEY ("configurationId", "at"))`,
  `CREATE TABLE "resource_price_points" ("at" bigint PRIMARY KEY NOT NULL, "speedPer1000BogomipsPerSecond" varchar(60) NOT NULL, "memoryPerMbPerSecond" varchar(60) NOT NULL, "storagePer100MbPerDay" varchar(60) NOT NULL, "hostCount" integer NOT NULL)`,
];

/** SQLite: Initial. Generated by `npm run db:migration -- Initial` (tools/db/migration.mjs) from the entities. */
export class Initial1796522456940 implements MigrationInterface {
  name = 'Initial1796522456940';
  async up(queryRunner: QueryRunner): Promise<void> {
    await createOrAdoptSchema(queryRunner, STATEMENTS);
  }
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "resource_price_points"`);
    await queryRunner.query(`DROP TABLE "price_points"`);
    await queryRunner.query(`DROP INDEX "IDX_f9e88fe9fc9d0917ff194c836d"`);
    await queryRunner.query(`DROP INDEX "IDX_d23eaaa7c8c593b7afb19090f1"`);
    await queryRunner.query(`DROP INDEX "IDX_ceb5fbdb2b7851eb7616a68abb"`);
    await queryRunner.query(`DROP TABLE "migrations"`);
    await queryRunner.query(`DROP INDEX "IDX_9e673a24b9c1ccd83b3d4efe0d"`);
    await queryRunner.query(`DROP INDEX "IDX_fae80a5537b86c178814adcb9f"`);
    await queryRunner.query(`DROP TABLE "ssh_keys"`);
    await queryRunner.query(`DROP INDEX "IDX_8124023f358285f0b13ff9e0d0"`);
    await queryRunner.query(`DROP INDEX "IDX_13c4dad6b564739286778ce11d"`);
    await queryRunner.query(`DROP TABLE "private_networks"`);
    await queryRunner.query(`DROP TABLE "network_agents"`);
    await queryRunner.query(`DROP INDEX "IDX_e972981652d040dc7acf79cc86"`);
    await queryRunner.query(`DROP TABLE "media_grants"`);
    await queryRunner.query(`DROP INDEX "IDX_138d7762e76b7fee9de6db0f8e"`);
    await queryRunner.query(`DROP TABLE "media"`);
    await queryRunner.query(`DROP TABLE "console_viewers"`);
    await queryRunner.query(`DROP INDEX "IDX_0e0a0e92d3dc2775080b598b89"`);
    await queryRunner.query(`DROP TABLE "console_tickets"`);
    await queryRunner.query(`DROP INDEX "IDX_d8473217e1bad80a1746b987ca"`);
    await queryRunner.query(`DROP TABLE "configurations"`);
    await queryRunner.query(`DROP TABLE "billing_status"`);
    await queryRunner.query(`DROP INDEX "IDX_312be0f1cc0830ca4aa47300e8"`);
    await queryRunner.query(`DROP INDEX "IDX_d0a4ae83f4af615ed1fe728d01"`);
    await queryRunner.query(`DROP INDEX "IDX_c52940846f9957f930c1ec8a7a"`);
    await queryRunner.query(`DROP INDEX "IDX_ee5f0c61acf18c86362f9b1e23"`);
    await queryRunner.query(`DROP TABLE "machine_meters"`);
    await queryRunner.query(`DROP INDEX "IDX_af1d9cfa817a63c11a63b0732c"`);
    await queryRunner.query(`DROP TABLE "host_incomes"`);
    await queryRunner.query(`DROP INDEX "IDX_459af0cf9383a51872870b296c"`);
    await queryRunner.query(`DROP INDEX "IDX_bcdde8161e165ada8f7cd7149a"`);
    await queryRunner.query(`DROP INDEX "IDX_7c4ba4dc0da56efd5052650979"`);
    await queryRunner.query(`DROP TABLE "buyer_standings"`);
    await queryRunner.query(`DROP INDEX "IDX_39829cdd18d40184d32a8a4abe"`);
    await queryRunner.query(`DROP TABLE "idempotency_keys"`);
    await queryRunner.query(`DROP INDEX "IDX_8e1262c15b955d54ea4afec18e"`);
    await queryRunner.query(`DROP INDEX "IDX_65ae57d0cd28910a916638044a"`);
    await queryRunner.query(`DROP INDEX "IDX_bd785efe585a9eeac3ba1b260a"`);
    await queryRunner.query(`DROP TABLE "hosts"`);
    await queryRunner.query(`DROP INDEX "IDX_2837d84abe6f17bad6a21c632b"`);
    await queryRunner.query(`DROP INDEX "IDX_22f193aa21f149a9f4c1982ed1"`);
    await queryRunner.query(`DROP INDEX "IDX_bf17c5ae32c18bd7aac6709043"`);
    await queryRunner.query(`DROP INDEX "IDX_8dedaff6cad6b694acf08b4e2b"`);
    await queryRunner.query(`DROP INDEX "IDX_cd2118a161f9f97736bfa81fca"`);
    await queryRunner.query(`DROP INDEX "IDX_20fc0ad58e9d2311c731cbc2f9"`);
    await queryRunner.query(`DROP TABLE "machines"`);
    await queryRunner.query(`DROP INDEX "IDX_21e65af2f4f242d4c85a92aff4"`);
    await queryRunner.query(`DROP INDEX "IDX_27034dd8e3a8189389536b2119"`);
    await queryRunner.query(`DROP INDEX "IDX_d51d565cc502858700f2107167"`);
    await queryRunner.query(`DROP TABLE "notifications"`);
    await queryRunner.query(`DROP INDEX "IDX_6325b2c839c050b7107ba6ccba"`);
    await queryRunner.query(`DROP INDEX "IDX_0156a97ab94adf81eea3476d27"`);
    await queryRunner.query(`DROP INDEX "IDX_ffa628fe9f421a03c92147af35"`);
    await queryRunner.query(`DROP TABLE "signin_failures"`);
    await queryRunner.query(`DROP INDEX "IDX_57de40bc620f456c7311aa3a1e"`);
    await queryRunner.query(`DROP INDEX "IDX_bace6c68efc156fddac9b14bda"`);
    await queryRunner.query(`DROP TABLE "sessions"`);
    await queryRunner.query(`DROP INDEX "IDX_cdac8e064e6e9c2e0835d1c1b8"`);
    await queryRunner.query(`DROP INDEX "IDX_2a2ce819bd75cc0193bfb2692b"`);
    await queryRunner.query(`DROP TABLE "api_tokens"`);
    await queryRunner.query(`DROP INDEX "IDX_ae137787c1f782e4c09ccc797b"`);
    await queryRunner.query(`DROP INDEX "IDX_184017bafb7cd4fa58f5c3572d"`);
    await queryRunner.query(`DROP TABLE "users"`);
    await queryRunner.query(`DROP INDEX "IDX_cfe3a365cc75aa706d2b8e5db3"`);
    await queryRunner.query(`DROP INDEX "IDX_a8cf7d35d3ff4176f77ecfefef"`);
    await queryRunner.query(`DROP TABLE "join_tokens"`);
    await queryRunner.query(`DROP INDEX "IDX_4dbf2f97a9fc3905c79e0b324b"`);
    await queryRunner.query(`DROP TABLE "agent_nonces"`);
    await queryRunner.query(`DROP INDEX "IDX_e927e225423f493fb58dc146cf"`);
    await queryRunner.query(`DROP TABLE "agents"`);
    await queryRunner.query(`DROP INDEX "IDX_04f9d2435c353ccb25e6f2f68e"`);
    await queryRunner.query(`DROP INDEX "IDX_49549db9692768e12a74fd165a"`);
    await queryRunner.query(`DROP TABLE "ledger_entries"`);
  }
}
