import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { InjectRepository } from '@nestjs/typeorm';
import { heartbeatOverdue, migrationOrphaned, recoveryDecision } from '@virtuoso/domain';
import { In, Repository } from 'typeorm';
import { Clock, WALL_CLOCK } from '../common/clock';
import { Daemons, SinglePass } from '../common/daemons';
import { Leadership } from '../common/leadership';
import { APP_CONFIG, AppConfig } from '../config';
import { MachineDeleted } from '../machines/machine.events';
import { Migration } from './migration.entity';
import { MigrationAgents } from './migration-agents';
import { MigrationOrchestrator } from './migration-orchestrator.service';

/** The watchdog's pass, and the retries of finish: every this many seconds. */
const WATCH_INTERVAL_SECONDS = 2;
/** Longest wait between two finishes to an agent that does not answer. */
const FINISH_RETRY_MAX_MS = 300_000;

/**
 * What keeps migrations from staying unfinished (report §7.1.6), run by the leader of the replicas
 * (docs/ARCHITECTURE.md §12). A migration is driven by the replica that created it
 * (orchestratorReplicaId: its prepare → export → REQ run in that process); while that replica is
 * alive (Leadership.isAlive) nothing here touches a `preparing` migration of it.
 * - the heartbeat watchdog: a transfer whose destination is silent longer than
 *   VIRTUOSO_MIGRATION_HEARTBEAT_TIMEOUT_S rolls back, and a commit that did not complete within
 *   that window is settled from the agents — whoever orchestrated them (any replica takes the
 *   destination's reports);
 * - orphans (libs/domain migrationOrphaned), settled from migration.status of both agents
 *   (libs/domain recoveryDecision: commit only when the destination verified a copy at
 *   fromVersion + 1): on becoming the leader (at boot on SQLite), every unfinished migration whose
 *   orchestrator is gone — a killed front-end, a dead replica; at each watch pass, a `preparing`
 *   one whose orchestrator died (nothing else would move it);
 * - migration.finish retried until both agents acknowledged (cleanedUp);
 * - a deleted machine's caches on its former hosts dropped (vm.delete, best effort).
 */
@Injectable()
export class MigrationWatch implements OnApplicationBootstrap {
  private readonly logger = new Logger('Migrations');
  private readonly passes = new SinglePass<number>();

  constructor(
    private readonly orchestrator: MigrationOrchestrator,
    private readonly agents: MigrationAgents,
    private readonly daemons: Daemons,
    private readonly leadership: Leadership,
    @InjectRepository(Migration) private readonly migrations: Repository<Migration>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    // On the replica that becomes the leader (docs/ARCHITECTURE.md §12): the migrations a killed
    // front-end — or a dead replica — left unfinished (not those a living replica still drives).
    // Not awaited: agents may take seconds to answer, and the API serves meanwhile (the machines
    // stay migrating until settled).
    this.daemons.onLeadership('migration-recovery', async () => {
      void this.recover().catch((error: unknown) => this.logger.error(`recovery failed: ${error instanceof Error ? error.message : String(error)}`));
    });
    this.daemons.every('migration-watch', WATCH_INTERVAL_SECONDS, () => this.watchPass().then(() => this.finishPass()));
  }

  /** Each unfinished migration whose orchestrating replica is gone, settled from what the agents say; returns how many. */
  async recover(): Promise<number> {
    const unfinished = await this.migrations.findBy({ phase: In(['preparing', 'transferring', 'committing']) });
    const orphans = await this.orphans(unfinished, 'taking-the-lead');
    for (const m of orphans) {
      this.logger.log(`migration ${m.id} was ${m.phase} when the front-end orchestrating it stopped: settling it from the agents`);
      await this.orchestrator.settleFromAgents(m, (destination, origin) => recoveryDecision(m.fromVersion, destination, origin));
    }
    await this.finishPass();
    return orphans.length;
  }

  /** Those of `migrations` that are orphans at `moment` (libs/domain migrationOrphaned); each orchestrator asked about once. */
  private async orphans(migrations: Migration[], moment: 'taking-the-lead' | 'watch-pass'): Promise<Migration[]> {
    const alive = new Map<string, boolean>();
    const orphans: Migration[] = [];
    for (const m of migrations) {
      const id = m.orchestratorReplicaId;
      if (id !== null && !alive.has(id)) alive.set(id, await this.leadership.isAlive(id));
      if (migrationOrphaned({ phase: m.phase, orchestratorAlive: id !== null && alive.get(id)! }, moment)) orphans.push(m);
    }
    return orphans;
  }

  /**
   * Preparations whose orchestrator died and transfers silent past the window roll back (or commit,
   * if the agents say so); commits left half-way are settled from the agents. Returns how many ended.
   */
  watchPass(now = this.wallClock.now()): Promise<number> {
    return this.passes.run(async () => {
      let ended = 0;
      const windowMs = this.config.migrationHeartbeatTimeoutMs;
      const preparing = await this.migrations.findBy({ phase: 'preparing' });
      for (const m of await this.orphans(preparing, 'watch-pass')) {
        this.logger.log(`migration ${m.id} was preparing on replica ${m.orchestratorReplicaId ?? '(unknown)'}, which is gone: settling it from the agents`);
        if (await this.orchestrator.settleFromAgents(m, (destination, origin) => recoveryDecision(m.fromVersion, destination, origin))) ended++;
      }
      for (const m of await this.migrations.findBy({ phase: In(['transferring', 'committing']) })) {
        if (m.phase === 'committing') {
          // A RESP's commit runs within a second; one still here after the window did not complete.
          if (now - Date.parse(m.lastHeartbeatAt ?? m.transferringSince ?? m.startedAt) > windowMs) {
            await this.orchestrator.settleFromAgents(m, (destination, origin) => recoveryDecision(m.fromVersion, destination, origin));
            ended++;
          }
          continue;
        }
        const at = (text: string | null) => (text ? Date.parse(text) : null);
        if (heartbeatOverdue({ phase: m.phase, lastHeartbeatAt: at(m.lastHeartbeatAt), transferringSince: at(m.transferringSince) }, now, windowMs)) {
          const reason = `the destination sent no heartbeat for ${Math.round(windowMs / 1000)} s`;
          if (await this.orchestrator.rollback(m.id, reason, ['transferring'])) ended++;
        }
      }
      return ended;
    });
  }

  /**
   * migration.finish again to the agents of migrations that ended but were not acknowledged by
   * both; an agent that stays away is retried less and less often (2 s doubling up to 5 min).
   */
  async finishPass(now = this.wallClock.now()): Promise<void> {
    for (const m of await this.migrations.findBy({ phase: In(['committed', 'rolled-back']), cleanedUp: false })) {
      const retry = this.finishRetries.get(m.id);
      if (retry && now < retry.at) continue;
      if (await this.orchestrator.finishBoth(m.id)) {
        this.finishRetries.delete(m.id);
      } else {
        const attempts = (retry?.attempts ?? 0) + 1;
        this.finishRetries.set(m.id, { attempts, at: now + Math.min(WATCH_INTERVAL_SECONDS * 1000 * 2 ** (attempts - 1), FINISH_RETRY_MAX_MS) });
      }
    }
  }

  /** Migration id → failed finish attempts so far and when to try again. */
  private readonly finishRetries = new Map<string, { attempts: number; at: number }>();

  /** A deleted machine: its former hosts drop their caches of it (the agent removes a cache on vm.delete of its id). */
  @OnEvent(MachineDeleted.event)
  async machineDeleted(event: MachineDeleted): Promise<void> {
    const committed = await this.migrations.findBy({ machineId: event.machineId, phase: 'committed' });
    const former = new Map(committed.filter((m) => m.fromHostId !== event.hostId).map((m) => [m.fromHostId, m.fromHostName]));
    for (const [hostId, hostName] of former) {
      try {
        await this.agents.gateway.deleteVm(await this.agents.target(hostId, hostName), { machineId: event.machineId, version: event.version });
        this.logger.log(`machine ${event.machineId} deleted: host ${hostName} dropped its cache`);
      } catch (error) {
        this.logger.warn(
          `machine ${event.machineId} deleted: host ${hostName} could not be told to drop its cache: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
  }
}
