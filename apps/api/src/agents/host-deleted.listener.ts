import { Inject, Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { HOST_AGENT_GATEWAY, HostAgentGateway } from '../machines/host-agent.gateway';
import { HostDeleted } from '../providers/host.events';
import { Agent } from './agent.entity';

/**
 * A deleted host's agent is told to stop serving (agent.retire: it refuses every later command,
 * stops heartbeating and records it on its disk), then forgotten, so that its secret no longer
 * works here and it can serve again only by joining with a new join token. Best effort, after the
 * answer: an unreachable agent is only logged (its heartbeats are refused from now on).
 */
@Injectable()
export class RetireDeletedHostAgent {
  private readonly logger = new Logger('Hosts');

  constructor(
    @InjectRepository(Agent) private readonly agents: Repository<Agent>,
    @Inject(HOST_AGENT_GATEWAY) private readonly gateway: HostAgentGateway,
  ) {}

  @OnEvent(HostDeleted.event)
  async retire({ hostId, hostName, agentId }: HostDeleted): Promise<void> {
    if (!agentId) return;
    await this.gateway
      .retireAgent({ hostId, hostName, agentId }, { reason: `its host ${hostName} was deleted from the market` })
      .then(() => this.logger.log(`the agent of the deleted host ${hostName} (${agentId}) stopped serving`))
      .catch((error: unknown) =>
        this.logger.warn(
          `could not tell the agent of the deleted host ${hostName} (${agentId}) to stop serving: ${error instanceof Error ? error.message : String(error)}`,
        ),
      )
      .then(() => this.agents.delete({ id: agentId }))
      .catch((error: unknown) =>
        this.logger.warn(`could not forget the agent ${agentId} of the deleted host ${hostName}: ${error instanceof Error ? error.message : String(error)}`),
      );
  }
}
