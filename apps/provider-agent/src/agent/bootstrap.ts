import { mkdirSync } from 'node:fs';
import { CommandScopedLogger, setCommandLogLevels } from './command-log';
import * as path from 'node:path';
import { Logger, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import type { INestMicroservice } from '@nestjs/common';
import type { AgentConfig } from '../config';
import { QemuDriver } from '../vmm/qemu/qemu-driver';
import { AGENT_VERSION } from '../version';
import { AgentModule } from './agent.module';
import { ArtifactCache } from './artifact-cache';
import { CommandAuth } from './command-auth';
import { ConsoleRelay } from './console-relay';
import { EventQueue } from './event-queue';
import { FrontendClient } from './frontend-client';
import { HeartbeatLoop } from './heartbeat';
import { ensureJoined, markRetired, type AgentFile } from './identity';
import { LocalState } from './local-state';
import { MachinesService } from './machines.service';
import { AuthorizedKeys } from '../migration/authorized-keys';
import { MachineCaches } from '../migration/caches';
import { MigrationDestination } from '../migration/destination';
import { MigrationService } from '../migration/migration.service';
import { MigrationOrigin } from '../migration/origin';
import { RestHashes } from '../migration/rest-hashes';
import { readTransferEndpoint, TransferSshd } from '../migration/transfer-sshd';
import type { TransferEndpoint } from '@virtuoso/contracts';
import { PortAllocator } from '../network/ports';
import { VnetService } from '../network/vnet.service';

export interface RunningAgent {
  config: AgentConfig;
  identity: AgentFile;
  driver: QemuDriver;
  machines: MachinesService;
  relay: ConsoleRelay;
  heartbeat: HeartbeatLoop;
  /** The private transfer sshd, when the agent runs one (--ssh-port without the system sshd). */
  sshd?: TransferSshd;
  migrations: MigrationService;
  vnet: VnetService;
  app: INestMicroservice;
  /** Graceful shutdown: heartbeats and servers stop, VMs keep running (driver.detachAll). */
  close(): Promise<void>;
}

export const LOG_LEVELS: LogLevel[] = ['log', 'warn', 'error', 'fatal'];

/**
 * Start the provider agent: VMM driver and accelerator, machines found running again, command
 * port (NestJS microservice over TCP) and console port, join (first start) or agent.json, then
 * heartbeats. Used by main.ts; tests may call it in-process.
 */
export async function startAgent(config: AgentConfig, opts: { logLevels?: LogLevel[] } = {}): Promise<RunningAgent> {
  const log = new Logger('Agent');
  if (config.imageDir) process.env['VIRTUOSO_IMAGE_DIR'] = config.imageDir; // the accelerator probe's guest
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const machinesDir = path.join(config.dataDir, 'machines');
  mkdirSync(machinesDir, { recursive: true });
  log.log(`provider agent ${AGENT_VERSION} (pid ${process.pid}), data ${config.dataDir}`);

  const driver = new QemuDriver({ machinesDir, accel: config.accel });
  const accel = await driver.accelerator();
  log.log(`accelerator ${accel.accel} (${accel.reason})`);

  const events = new EventQueue(config.dataDir);
  const state = new LocalState(config.dataDir);
  const frontend = new FrontendClient(config.frontendUrl ?? '');
  const cache = new ArtifactCache(config.dataDir, frontend);
  const auth = new CommandAuth();

  // Migration (docs/ARCHITECTURE.md §7): the transfer sshd an origin serves exports through (ours,
  // or the system's with the operator's authorized_keys file), caches, the two roles.
  let sshd: TransferSshd | undefined;
  let transfer: TransferEndpoint | undefined;
  let keys: AuthorizedKeys | undefined;
  if (config.transfer?.system) {
    keys = new AuthorizedKeys(config.transfer.system.authorizedKeysFile);
    transfer = await readTransferEndpoint(config.transfer.system.hostKeyFile, config.transfer.sshPort);
    log.log(`transfers through the system sshd on port ${transfer.sshPort}, keys in ${keys.file}, host key ${transfer.fingerprint}`);
  } else if (config.transfer) {
    sshd = new TransferSshd({ dataDir: config.dataDir, listenHost: config.listenHost, port: config.transfer.sshPort });
    await sshd.start();
    transfer = sshd.endpoint();
    keys = new AuthorizedKeys(sshd.authorizedKeysFile);
  }
  const caches = new MachineCaches(config.dataDir);
  // A machine's files hashed once it comes to rest (stored, stopped, suspended, arrived), so an
  // export need not hash them while the buyer waits (docs/ARCHITECTURE.md §7). Only an agent that
  // can send machines (a transfer endpoint) exports: the others never hash.
  const restHashes = transfer
    ? new RestHashes({
        machineDir: (id) => driver.machineDir(id),
        filesAtRest: async (id) => (await driver.migrationFiles(id).catch(() => null))?.files ?? null,
      })
    : undefined;
  const atRest = (id: string) => restHashes?.schedule(id);
  driver.events.on('exited', (e: { id: string; reason: string }) => {
    if (e.reason !== 'deleted') atRest(e.id);
  });
  const origin = new MigrationOrigin({ dataDir: config.dataDir, driver, state, caches, keys, cacheLimitBytes: config.cacheLimitBytes, restHashes });
  origin.recover();
  const reported = new Set<string>();
  const destination = new MigrationDestination({
    dataDir: config.dataDir,
    driver,
    state,
    caches,
    report: (r) => {
      // VMMP HEARTBEATs come every few seconds during a transfer: only the other messages are
      // journalled, once each (a report is retried until the front-end takes it).
      const key = `${r.migrationId} ${r.vmmp}`;
      if (!r.vmmp.includes(' HEARTBEAT ') && !reported.has(key)) {
        reported.add(key);
        events.note('vmmp', `sent ${r.vmmp}`, undefined, { migrationId: r.migrationId });
      }
      return frontend.migrationReport(r);
    },
    transferLimitKBps: config.transferLimitKBps,
    atRest,
  });
  destination.recover();
  const migrations = new MigrationService(origin, destination);

  // Guest networking (docs/ARCHITECTURE.md §11): forwarded ports from the provider's range.
  const ports = new PortAllocator(config.network.portRange);
  const vnet = new VnetService({ dataDir: config.dataDir, keys, segmentUse: () => machines.segmentUse() });
  const machines: MachinesService = new MachinesService(
    driver,
    state,
    cache,
    events,
    config.dataDir,
    accel.accel,
    { caches, transfer, atRest },
    {
      config: config.network,
      ports,
      switchFor: vnet.available() ? (networkId) => vnet.switchFor(networkId) : undefined,
      vnetAvailable: () => vnet.available(),
      onSegmentsChanged: () => vnet.segmentsChanged(),
    },
  );
  machines.watchDriver();
  const { stopped } = await machines.reattachAll();
  for (const id of stopped) atRest(id);
  // The private segments of the last vnet.sync: switches found again, uplinks made again.
  if (vnet.available()) await vnet.recover().catch((e) => log.error(`vnet: the last sync could not be applied again: ${(e as Error).message}`));
  if (events.size) log.log(`${events.size} journal entr${events.size === 1 ? 'y' : 'ies'} queued for the front-end`);

  const relay = new ConsoleRelay({ isRunning: (id) => machines.isRunning(id), vncSocketPath: (id) => driver.vncSocketPath(id) });
  let app: INestMicroservice | undefined;
  let heartbeat: HeartbeatLoop | undefined;
  let closing = false;
  const shutdown = async () => {
    closing = true;
    restHashes?.close();
    await heartbeat?.stop();
    await app?.close().catch((e) => log.error(`closing the command port: ${(e as Error).message}`));
    await relay.close();
    await driver.detachAll();
    vnet.close();
    // Pulls run in their own process group; a graceful stop ends them (the next start's recover() discards their copies).
    destination.close();
    await sshd?.stop();
  };
  // The front-end deleted this agent's host (agent.retire): record it so that a restart does not
  // serve again, stop heartbeating and close consoles; the process stays up and refuses commands.
  const onRetire = async (reason: string) => {
    // Recorded before it is said: whoever reads the line may read agent.json at once.
    markRetired(config.dataDir, reason);
    log.warn(`retired by the front-end: ${reason}; refusing every command and sending no more heartbeats (to serve a host again, join with a new join token)`);
    await heartbeat?.stop();
    await relay.close().catch(() => undefined);
  };
  setCommandLogLevels(opts.logLevels ?? LOG_LEVELS);
  try {
    app = await NestFactory.createMicroservice<MicroserviceOptions>(
      AgentModule.register({ auth, machines, relay, consolePort: config.consolePort, onRetire, migrations, vnet, journal: events }),
      {
        transport: Transport.TCP,
        options: { host: config.listenHost, port: config.port },
        logger: new CommandScopedLogger({ logLevels: opts.logLevels ?? LOG_LEVELS }),
      },
    );
    await app.listen();
    await relay.listen(config.listenHost, config.consolePort);
    log.log(`commands on ${config.listenHost}:${config.port}, consoles on ${config.listenHost}:${config.consolePort} (advertised as ${config.advertiseHost})`);

    const identity = await ensureJoined(config, () => machines.facts(), { shouldStop: () => closing });
    auth.setCredentials(identity);
    frontend.setIdentity(identity);
    heartbeat = new HeartbeatLoop(identity.agentId, frontend, machines, events, config.heartbeatMs);
    machines.onEvent = () => heartbeat?.kick();
    heartbeat.start();
    log.log(`ready: agent ${identity.agentId}, heartbeats to ${identity.frontendUrl} every ${config.heartbeatMs} ms`);
    return { config, identity, driver, machines, relay, heartbeat, sshd, migrations, vnet, app, close: shutdown };
  } catch (e) {
    await shutdown();
    throw e;
  }
}
