import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { InjectRepository } from '@nestjs/typeorm';
import type { VnetDesired } from '@virtuoso/contracts';
import { NETWORK_LIVE_STATES, type NetworkAgent, type NetworkPlan, canBeHub, desiredVnet, uplinkKeyOf } from '@virtuoso/domain';
import { In, IsNull, Not, Repository } from 'typeorm';
import { AgentGateway } from '../agents/agent.gateway';
import { Agent } from '../agents/agent.entity';
import { isOnline, parseFacts } from '../agents/online';
import { Clock, WALL_CLOCK } from '../common/clock';
import { Daemons } from '../common/daemons';
import { Database } from '../common/database.service';
import { nowIso } from '../common/time';
import { APP_CONFIG, AppConfig } from '../config';
import { Machine } from '../machines/machine.entity';
import { Host } from '../providers/host.entity';
import { NetworkAgentRow } from './network-agent.entity';
import { NetworkChanged } from './network.events';
import { PrivateNetwork } from './private-network.entity';
import { SshKey } from './ssh-key.entity';

/** What one pass found and did, for logs and tests. */
export interface SyncPassResult {
  /** Agents that acknowledged their vnet.sync, by id. */
  synced: string[];
  /** Agents whose sync failed (logged; the next pass tries again). */
  failed: string[];
  /** Rounds run: 2 when a spoke reported an uplink key the hub did not admit yet. */
  rounds: number;
}

interface Plan {
  desired: Map<string, VnetDesired[]>;
  hubs: Map<string, string | null>;
  networks: PrivateNetwork[];
  agents: Map<string, Agent>;
  netAgents: Map<string, NetworkAgent>;
  rows: NetworkAgentRow[];
  hostOfAgent: Map<string, Host>;
}

/** The agent row as the network rules see it. */
export function networkAgentOf(agent: Agent, online: boolean): NetworkAgent {
  const facts = parseFacts(agent.facts);
  return {
    id: agent.id,
    online,
    vnet: facts?.network?.vnet === true,
    host: agent.agentHost,
    transfer:
      agent.transferSshPort && agent.transferSshUser && agent.transferHostKey
        ? { sshPort: agent.transferSshPort, sshUser: agent.transferSshUser, hostKey: agent.transferHostKey }
        : null,
  };
}

/**
 * The one routine that tells agents what private networks to hold (docs/ARCHITECTURE.md §11):
 * from the database (where the buyers' machines may run, the hubs, the spokes' uplink keys, the
 * buyers' keys) it computes each agent's desired state (libs/domain desiredVnet) and sends it as
 * vnet.sync to every agent involved, and an empty one to an agent that held a network and should
 * no longer. A spoke's uplink key seen for the first time makes a second round, so the hub admits
 * it at once. It runs after every change (NetworkChanged) and every
 * VIRTUOSO_NETWORK_SYNC_INTERVAL_SECONDS, so a restarted agent or a failed sync heals; a failure is
 * logged, never thrown into a buyer's request. Idempotent: replicas may run it at the same time.
 */
@Injectable()
export class NetworkSync implements OnApplicationBootstrap {
  private readonly logger = new Logger('NetworkSync');
  private current: Promise<SyncPassResult> | null = null;
  private again = false;

  constructor(
    private readonly db: Database,
    private readonly gateway: AgentGateway,
    @InjectRepository(Machine) private readonly machines: Repository<Machine>,
    @InjectRepository(Host) private readonly hosts: Repository<Host>,
    @InjectRepository(Agent) private readonly agentRows: Repository<Agent>,
    @InjectRepository(PrivateNetwork) private readonly networks: Repository<PrivateNetwork>,
    @InjectRepository(SshKey) private readonly keys: Repository<SshKey>,
    @InjectRepository(NetworkAgentRow) private readonly rows: Repository<NetworkAgentRow>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WALL_CLOCK) private readonly wallClock: Clock,
    private readonly daemons: Daemons,
  ) {}

  onApplicationBootstrap(): void {
    this.daemons.every('network-sync', this.config.networkSyncIntervalSeconds, () => this.runPass());
  }

  @OnEvent(NetworkChanged.event)
  onChanged(change: NetworkChanged): void {
    this.logger.debug(`network sync after: ${change.why}`);
    void this.runPass().catch((error: unknown) => this.logger.warn(`network sync after ${change.why} failed: ${messageOf(error)}`));
  }

  /**
   * One pass (tests call it directly). A call while a pass runs gets a pass that starts after it
   * (what changed meanwhile is seen), never two at once.
   */
  runPass(): Promise<SyncPassResult> {
    if (this.current) {
      this.again = true;
      return this.current;
    }
    const run = async (): Promise<SyncPassResult> => {
      let result: SyncPassResult;
      do {
        this.again = false;
        result = await this.pass();
      } while (this.again);
      return result;
    };
    this.current = run().finally(() => {
      this.current = null;
    });
    return this.current;
  }

  /**
   * The hub a buyer's own computer plugs into now (join.sh): the network's hub when it can still
   * be one, else the one the next pass would choose; null when none of the buyer's machines runs
   * on a host that can be a hub.
   */
  async hubFor(network: PrivateNetwork): Promise<{ agent: Agent; host: Host } | null> {
    const plan = await this.plan([network.userId]);
    const hubId = plan.hubs.get(network.id) ?? null;
    const agent = hubId ? plan.agents.get(hubId) : undefined;
    const host = hubId ? plan.hostOfAgent.get(hubId) : undefined;
    return agent && host && canBeHub(plan.netAgents.get(agent.id)) ? { agent, host } : null;
  }

  private async pass(): Promise<SyncPassResult> {
    const synced = new Set<string>();
    const failed = new Set<string>();
    let rounds = 0;
    for (;;) {
      rounds++;
      const plan = await this.plan();
      await this.saveHubs(plan);
      const { newKeys, ok, bad } = await this.send(plan);
      ok.forEach((id) => synced.add(id));
      bad.forEach((id) => failed.add(id));
      if (!newKeys || rounds >= 2) break;
    }
    return { synced: [...synced], failed: [...failed], rounds };
  }

  /** Desired state of every network with machines that may run (of `userIds` only, when given). */
  private async plan(userIds?: string[]): Promise<Plan> {
    const now = this.wallClock.now();
    const live = await this.machines.find({
      select: { id: true, ownerId: true, hostId: true },
      where: {
        state: In([...NETWORK_LIVE_STATES]),
        hostId: Not(IsNull()),
        privateAddress: Not(IsNull()),
        ...(userIds ? { ownerId: In(userIds) } : {}),
      },
    });
    const owners = userIds ?? [...new Set(live.map((m) => m.ownerId))];
    const networks = await this.networks.find({
      where: userIds ? { userId: In(userIds) } : [{ userId: In(owners) }, { hubAgentId: Not(IsNull()) }],
    });
    const rows = await this.rows.find(userIds ? { where: { networkId: In(networks.map((n) => n.id)) } } : {});
    const machineHosts = await this.hosts.findBy({ id: In([...new Set(live.map((m) => m.hostId!))]) });
    const agentOfHost = new Map(machineHosts.map((h) => [h.id, h.agentId]));
    const agentIds = new Set<string>();
    for (const host of machineHosts) if (host.agentId) agentIds.add(host.agentId);
    for (const network of networks) if (network.hubAgentId) agentIds.add(network.hubAgentId);
    for (const row of rows) agentIds.add(row.agentId);
    const agents = new Map((agentIds.size ? await this.agentRows.findBy({ id: In([...agentIds]) }) : []).map((a) => [a.id, a]));
    const netAgents = new Map([...agents.values()].map((a) => [a.id, networkAgentOf(a, isOnline(a.lastHeartbeatAt, this.config.agentOfflineMs, now))]));
    const hostOfAgent = new Map((agents.size ? await this.hosts.findBy({ agentId: In([...agents.keys()]) }) : []).map((h) => [h.agentId!, h]));
    const keys = owners.length ? await this.keys.find({ where: { userId: In(owners) }, order: { createdAt: 'ASC', id: 'ASC' } }) : [];
    const plans: NetworkPlan[] = networks.map((network) => ({
      id: network.id,
      hubAgentId: network.hubAgentId,
      machineAgentIds: live
        .filter((m) => m.ownerId === network.userId)
        .map((m) => agentOfHost.get(m.hostId!))
        .filter((id): id is string => !!id && agents.has(id)),
      buyerKeys: keys.filter((k) => k.userId === network.userId).map((k) => ({ id: k.id, publicKey: k.publicKey })),
    }));
    const uplinkKeys = new Map(rows.filter((r) => r.uplinkPublicKey).map((r) => [uplinkKeyOf(r.networkId, r.agentId), r.uplinkPublicKey!]));
    const result = desiredVnet(plans, netAgents, uplinkKeys);
    return { desired: result.agents, hubs: result.hubs, networks, agents, netAgents, rows, hostOfAgent };
  }

  private async saveHubs(plan: Plan): Promise<void> {
    const changed = plan.networks.filter((n) => (plan.hubs.get(n.id) ?? null) !== n.hubAgentId);
    if (!changed.length) return;
    await this.db.transaction(async (em) => {
      for (const network of changed) await em.update(PrivateNetwork, { id: network.id }, { hubAgentId: plan.hubs.get(network.id) ?? null });
    });
    for (const network of changed) this.logger.log(`network ${network.id}: hub ${network.hubAgentId ?? 'none'} → ${plan.hubs.get(network.id) ?? 'none'}`);
  }

  /** vnet.sync to every involved agent that can take it; records what each acknowledged. */
  private async send(plan: Plan): Promise<{ newKeys: boolean; ok: string[]; bad: string[] }> {
    const targets = new Set<string>([...plan.desired.keys(), ...plan.rows.map((r) => r.agentId)]);
    let newKeys = false;
    const ok: string[] = [];
    const bad: string[] = [];
    await Promise.all(
      [...targets].map(async (agentId) => {
        const agent = plan.agents.get(agentId);
        const host = plan.hostOfAgent.get(agentId);
        const facts = plan.netAgents.get(agentId);
        // Offline agents are synced when they come back (NetworkChanged); agents without VDE (or
        // older than guest networking) hold no segment.
        if (!agent || !host || !facts?.online || !facts.vnet) return;
        const networks = plan.desired.get(agentId) ?? [];
        try {
          const result = await this.gateway.vnetSync({ hostId: host.id, hostName: host.name, agentId }, { networks });
          const known = new Map(plan.rows.filter((r) => r.agentId === agentId).map((r) => [r.networkId, r.uplinkPublicKey]));
          const held = new Map(result.networks.map((n) => [n.networkId, n]));
          const at = nowIso(this.wallClock);
          const wanted = networks.map((n) => n.networkId);
          await this.db.transaction(async (em) => {
            await em.delete(NetworkAgentRow, wanted.length ? { agentId, networkId: Not(In(wanted)) } : { agentId });
            for (const desired of networks) {
              const key = desired.uplink ? (held.get(desired.networkId)?.uplinkPublicKey ?? known.get(desired.networkId) ?? null) : null;
              if (desired.uplink && key && key !== known.get(desired.networkId)) newKeys = true;
              await em.upsert(NetworkAgentRow, { networkId: desired.networkId, agentId, uplinkPublicKey: key, syncedAt: at }, ['networkId', 'agentId']);
            }
          });
          ok.push(agentId);
        } catch (error) {
          bad.push(agentId);
          this.logger.warn(`vnet.sync to the agent of host ${host.name} (${agentId}) failed, retried by the next pass: ${messageOf(error)}`);
        }
      }),
    );
    return { newKeys, ok, bad };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
