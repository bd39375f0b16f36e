/**
 * Migration between providers (report §7; docs/ARCHITECTURE.md §7): the agent commands of a
 * migration and what the destination reports back. VMMP 1.0 messages travel in their text form
 * (libs/domain vmmp.ts renders and parses them) inside the signed envelopes of the agent protocol.
 *
 * The front-end drives it (agents trust only the front-end they joined, so one provider never
 * commands another):
 *   1. migration.query    destination: <VMMP 1.0 QUERY id METHODS> → <VMMP 1.0 RESULTS id n …>
 *   2. migration.prepare  destination: makes a one-time ssh key pair for this migration → public key
 *   3. migration.export   origin: checks version and state, makes the machine migratable (not
 *                         running, files quiescent, linked into an export directory), authorises
 *                         the public key read-only for that directory only → manifest
 *   4. migration.request  destination: <VMMP 1.0 REQ …> with the origin's transfer endpoint, host
 *                         key and manifest → accepted; the pull runs in the background and the
 *                         destination POSTs MIGRATION_REPORT_PATH: a HEARTBEAT with progress at
 *                         least every MIGRATION_HEARTBEAT_MS, then one RESP (SUCCESS: verified
 *                         and recorded at version + 1, not startable until committed; FAIL: why)
 *   5. the front-end commits (one database transaction) or rolls back, then
 *      migration.finish   both sides, outcome commit or abort (idempotent; retried until answered):
 *                         destination commit → the copy becomes the machine; abort → discarded.
 *                         origin commit → the machine becomes a cache; abort → the machine as it
 *                         was. Either way the one-time key is removed.
 *   migration.status      either side, any time (recovery after a front-end restart).
 */

import type { VmmpMethod } from '@virtuoso/domain';

/** The destination reports at least this often while it works (report §7.2.1 HEARTBEAT). */
export const MIGRATION_HEARTBEAT_MS = 1_000;
/** Where the destination POSTs its HEARTBEATs and its RESP; also the channel they are signed on. */
export const MIGRATION_REPORT_PATH = '/api/agents/migrations';

/** The files that travel, by name inside the machine's directory. */
export const MIGRATION_FILES = ['machine.json', 'disk.qcow2', 'state.bin'] as const;
export type MigrationFileName = (typeof MIGRATION_FILES)[number];

/** How an origin serves its machines' files: its transfer sshd (reported in HostFacts.transfer). */
export interface TransferEndpoint {
  /** Port of the transfer sshd (the agent's --ssh-port); the host is the agent's advertised host. */
  sshPort: number;
  /** The user the destination logs in as (the one the agent runs as). */
  sshUser: string;
  /** The sshd's public host key, `ssh-ed25519 AAAA…` (given to destinations: no trust on first use). */
  hostKey: string;
  /** Its SHA256 fingerprint, `SHA256:…`, as ssh-keygen -l prints it (shown to operators). */
  fingerprint: string;
}

export interface ManifestFile {
  name: MigrationFileName;
  size: number;
  sha256: string;
}

export interface MigrationQueryCommand {
  /** `<VMMP 1.0 QUERY <machine-id> METHODS>` */
  vmmp: string;
}
export interface MigrationQueryResult {
  /** `<VMMP 1.0 RESULTS <machine-id> <n> <method>…>` */
  vmmp: string;
}

export interface MigrationPrepareCommand {
  migrationId: string;
  machineId: string;
  method: VmmpMethod;
}
export interface MigrationPrepareResult {
  migrationId: string;
  /** One line of an authorized_keys file without options: `ssh-ed25519 AAAA… virtuoso-migration-<id>`. */
  publicKey: string;
}

export interface MigrationExportCommand {
  migrationId: string;
  machineId: string;
  /** The version the front-end holds; a mismatch is refused (report §7.1.5). */
  version: number;
  method: VmmpMethod;
  /** The destination's one-time public key (MigrationPrepareResult.publicKey). */
  publicKey: string;
}
export interface MigrationExportResult {
  migrationId: string;
  machineId: string;
  version: number;
  /** The machine's state at the origin: stored or stopped machines are 'stopped' to the agent. */
  state: 'stopped' | 'suspended';
  files: ManifestFile[];
}

export interface MigrationRequestCommand {
  migrationId: string;
  /** `<VMMP 1.0 REQ <machine-id> <version> <origin-host> <origin-ssh-port> <central-host> <central-port> <method>>` */
  vmmp: string;
  /** The origin's transfer sshd: its login user and host key (the REQ has its host and port). */
  origin: { sshUser: string; hostKey: string };
  /** What the origin exported; the copy is verified against it. */
  files: ManifestFile[];
  /** The machine's hardware as the front-end registered it. */
  machine: { mac: string; vcpus: number; memoryMb: number; diskMb: number };
}
export interface MigrationRequestResult {
  migrationId: string;
  accepted: true;
}

export interface MigrationStatusCommand {
  migrationId: string;
  machineId: string;
}

/**
 * What an agent holds of a migration:
 *   origin:      exported (the machine is quiescent and its key authorised) | finished | none
 *   destination: prepared | pulling | verified (the copy is recorded at `version`, awaiting
 *                finish) | failed (`error`) | finished | none (never heard of it, or a partial
 *                copy discarded after a restart)
 */
export type MigrationAgentPhase = 'prepared' | 'exported' | 'pulling' | 'verified' | 'failed' | 'finished' | 'none';

export interface MigrationStatusResult {
  migrationId: string;
  machineId: string;
  role: 'origin' | 'destination' | 'none';
  phase: MigrationAgentPhase;
  /** destination, verified: the version it recorded (the front-end's + 1). */
  version?: number;
  error?: string;
}

export interface MigrationFinishCommand {
  migrationId: string;
  machineId: string;
  outcome: 'commit' | 'abort';
  /** abort: why (for the agent's log). */
  reason?: string;
}
export interface MigrationFinishResult {
  migrationId: string;
  machineId: string;
  role: 'origin' | 'destination' | 'none';
  outcome: 'commit' | 'abort';
}

/** The body of POST MIGRATION_REPORT_PATH (signed like a heartbeat). */
export interface MigrationReport {
  agentId: string;
  migrationId: string;
  /** `<VMMP 1.0 HEARTBEAT <id> <bytes-done> <bytes-total> <bytes-per-second>>` or `<VMMP 1.0 RESP <id> <version'> SUCCESS|FAIL [reason]>` */
  vmmp: string;
  /** With the RESP: what crossed the wire (rsync's or scp's count of bytes received) and how long the copy took. */
  transfer?: { bytesReceived: number; durationMs: number };
}
