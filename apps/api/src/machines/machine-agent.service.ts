import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AgentVmState } from '@virtuoso/contracts';
import { ImageStore, ImageUnavailableError } from '../agents/image-store.service';
import { vcpusFor } from '@virtuoso/domain';
import { ApiError } from '../common/errors';
import { APP_CONFIG, AppConfig } from '../config';
import { NetworkService } from '../network/network.service';
import { HostsService } from '../providers/hosts.service';
import { ActionOptions, AgentAction, CreateFacts, agentCallFor, sendAgentCall } from './agent-commands';
import { AgentNoAnswerError, AgentRefusedError, AgentTarget, AgentUnavailableError, HOST_AGENT_GATEWAY, HostAgentGateway } from './host-agent.gateway';
import { Machine } from './machine.entity';

/** A failure the agent gateway (or the image store) reports, as an HTTP status and whether anything may have happened. */
export function failureOf(error: unknown): { status: number; message: string; unknown: boolean } {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof AgentNoAnswerError) return { status: 504, message, unknown: true };
  if (error instanceof AgentUnavailableError || error instanceof ImageUnavailableError) return { status: 503, message, unknown: false };
  if (error instanceof AgentRefusedError) return { status: 502, message, unknown: false };
  if (error instanceof ApiError)
    return { status: error.getStatus(), message: (error.getResponse() as { message?: string }).message ?? message, unknown: false };
  return { status: 502, message, unknown: false };
}

/**
 * A machine's host agent as the machines context uses it: where a machine's commands go, the
 * command of a lifecycle action (agent-commands.ts) with what only the host knows (vCPUs from the
 * agent's facts, the image's digest), and how its failures read.
 */
@Injectable()
export class MachineAgent {
  private readonly logger = new Logger('Machines');

  constructor(
    private readonly hosts: HostsService,
    private readonly images: ImageStore,
    private readonly network: NetworkService,
    @Inject(HOST_AGENT_GATEWAY) readonly gateway: HostAgentGateway,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The host of a stored machine and its agent, for the gateway. */
  async targetOf(hostId: string | null): Promise<AgentTarget> {
    const host = hostId ? await this.hosts.findById(hostId) : null;
    if (!host) throw new AgentUnavailableError('its host is gone');
    return { hostId: host.id, hostName: host.name, agentId: host.agentId };
  }

  /** One command to the agent for a lifecycle action, with the version it holds (create: the version once stored). */
  async carryOut(action: AgentAction, target: AgentTarget, machine: Machine, nextVersion: number, options: ActionOptions): Promise<AgentVmState> {
    const create = action === 'store' ? await this.createFacts(target, machine) : undefined;
    // A start or resume makes a new VMM process: its network (address, forwarded ports, keys) goes with it.
    const network = action === 'start' || action === 'resume' ? await this.network.vmNetworkConfig(machine) : undefined;
    return sendAgentCall(
      this.gateway,
      target,
      agentCallFor(action, machine, nextVersion, options, { stopTimeoutMs: this.config.stopTimeoutMs, create, network }),
    );
  }

  private async createFacts(target: AgentTarget, machine: Machine): Promise<CreateFacts> {
    const image = machine.image ? await this.images.describe(machine.image) : null;
    const facts = (await this.hosts.agentStatus([{ id: target.hostId, agentId: target.agentId }])).get(target.hostId)?.facts ?? null;
    return { vcpus: vcpusFor(machine.speed, facts), image: image ? { name: image.name, sha256: image.sha256 } : null };
  }

  /** The agent's version differs from the lifecycle's: the lifecycle's stands (logged; the reconciler aligns them). */
  checkAgentVersion(machine: Machine, action: string, seen: AgentVmState | undefined, expected: number): void {
    if (seen && typeof seen.version === 'number' && seen.version !== expected) {
      this.logger.warn(
        `${machine.name} (${machine.id}): after ${action} the agent holds version ${seen.version}, the lifecycle says ${expected}; keeping ${expected}, the reconciler aligns them`,
      );
    }
  }

  /** An agent failure outside the lifecycle (media, keys, restarts): nothing changed here; 503/502/504 with the reason. */
  failure(machine: Machine, what: string, error: unknown): ApiError {
    if (error instanceof ApiError) return error;
    const failure = failureOf(error);
    return new ApiError(failure.status, `could not ${what} ${machine.name}: ${failure.message}`.slice(0, 500));
  }
}
