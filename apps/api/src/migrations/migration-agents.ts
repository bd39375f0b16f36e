import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { AgentCommands, OFFERED_MIGRATION_METHODS, type MigrationStatusResult } from '@virtuoso/contracts';
import { type VmmpMethod, parseVmmp, renderVmmp } from '@virtuoso/domain';
import { Repository } from 'typeorm';
import { Agent } from '../agents/agent.entity';
import { AgentGateway } from '../agents/agent.gateway';
import { APP_CONFIG, AppConfig } from '../config';
import { AgentTarget, AgentUnavailableError } from '../machines/host-agent.gateway';
import { Host } from '../providers/host.entity';

/** Bound on a migration QUERY (fig. 20: hosts that do not answer in time are listed without methods). */
export const QUERY_BOUND_MS = 2_000;

/** What a destination answered to a VMMP QUERY. */
export interface QueryAnswer {
  methods: VmmpMethod[];
  /** The exchange in the report's text form. */
  vmmp: string[];
  /** Why it offers nothing (no answer, offline, …); absent when it answered with methods. */
  unavailable?: string;
}

/** The agents of a migration's two hosts, as the orchestrator talks to them. */
@Injectable()
export class MigrationAgents {
  constructor(
    readonly gateway: AgentGateway,
    @InjectRepository(Host) private readonly hosts: Repository<Host>,
    @InjectRepository(Agent) private readonly agents: Repository<Agent>,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The host's target for the gateway; AgentUnavailableError when the host is gone. */
  async target(hostId: string, hostName = hostId): Promise<AgentTarget> {
    const host = await this.hosts.findOneBy({ id: hostId });
    if (!host) throw new AgentUnavailableError(`host ${hostName} is gone`);
    return { hostId: host.id, hostName: host.name, agentId: host.agentId };
  }

  /** The agent row serving a host, or null. */
  async agentOf(host: Pick<Host, 'agentId'>): Promise<Agent | null> {
    return host.agentId ? this.agents.findOneBy({ id: host.agentId }) : null;
  }

  /** `<VMMP 1.0 QUERY id METHODS>` to the host's agent, answered within QUERY_BOUND_MS or counted as no answer. */
  async query(hostId: string, machineId: string): Promise<QueryAnswer> {
    const text = renderVmmp({ kind: 'QUERY', machineId });
    let timer: NodeJS.Timeout | undefined;
    try {
      const target = await this.target(hostId);
      const bound = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`its agent did not answer within ${QUERY_BOUND_MS / 1000} s`)), QUERY_BOUND_MS);
      });
      const answer = await Promise.race([this.gateway.migrationCommand(target, AgentCommands.migrationQuery, { vmmp: text }, QUERY_BOUND_MS), bound]);
      const parsed = parseVmmp(answer.vmmp);
      if (!parsed.ok) return { methods: [], vmmp: [text, answer.vmmp], unavailable: `its agent answered what is not VMMP 1.0: ${parsed.reason}` };
      if (parsed.message.kind !== 'RESULTS' || parsed.message.machineId !== machineId) {
        return { methods: [], vmmp: [text, answer.vmmp], unavailable: 'its agent answered another message than RESULTS for this machine' };
      }
      const methods = parsed.message.methods.filter((method) => (OFFERED_MIGRATION_METHODS as readonly string[]).includes(method));
      return methods.length > 0
        ? { methods, vmmp: [text, answer.vmmp] }
        : { methods, vmmp: [text, answer.vmmp], unavailable: 'its agent offers none of the methods this market supports (SCP, RSYNC)' };
    } catch (error) {
      return { methods: [], vmmp: [text], unavailable: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
  }

  /** migration.status of one side, or null when it could not be asked (recovery treats that as unknown). */
  async status(hostId: string, migrationId: string, machineId: string): Promise<MigrationStatusResult | null> {
    try {
      return await this.gateway.migrationCommand(await this.target(hostId), AgentCommands.migrationStatus, { migrationId, machineId });
    } catch {
      return null;
    }
  }

  /** The REQ's central endpoint: this API's own address (VIRTUOSO_PUBLIC_URL's host and port, else VIRTUOSO_HOST and VIRTUOSO_PORT). */
  central(): { host: string; port: number } {
    if (this.config.publicUrl) {
      const url = new URL(this.config.publicUrl);
      const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
      return { host: url.hostname.replace(/^\[|\]$/g, ''), port };
    }
    const host = this.config.host === '0.0.0.0' || this.config.host === '::' ? '127.0.0.1' : this.config.host;
    return { host, port: this.config.port };
  }
}
