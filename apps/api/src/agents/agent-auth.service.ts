import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { NonceCache, verify } from '@virtuoso/contracts';
import { Repository } from 'typeorm';
import { ApiError } from '../common/errors';
import { Agent } from './agent.entity';

/** Header carrying the signed envelope of an agent's download request (base64 of its JSON). */
export const AGENT_HEADER = 'x-virtuoso-agent';

/**
 * Verifies what agents send: a SignedEnvelope on the exact channel (the path), signed with the
 * agent's own secret, fresh, never seen before. Anything else is refused with 401, logged, and
 * changes nothing.
 */
@Injectable()
export class AgentAuth {
  private readonly logger = new Logger('AgentAuth');
  private readonly nonces = new NonceCache();

  constructor(@InjectRepository(Agent) private readonly agents: Repository<Agent>) {}

  /** An envelope sent as the request body (heartbeats). */
  async verifyBody(channel: string, envelope: unknown, from?: string): Promise<{ agent: Agent; body: unknown }> {
    const hostId = (envelope as { hostId?: unknown } | null)?.hostId;
    const agent = typeof hostId === 'string' && hostId.length <= 64 ? await this.agents.findOneBy({ id: hostId }) : null;
    if (!agent) throw this.refuse(channel, envelope && typeof envelope === 'object' && typeof hostId === 'string' ? 'unknown agent' : 'not a signed envelope', from);
    const result = verify(agent.secret, channel, envelope, this.nonces);
    if (!result.ok) throw this.refuse(channel, result.reason, from, agent.id);
    return { agent, body: result.body };
  }

  /** An envelope of `{ path }` in the x-virtuoso-agent header (downloads); the path must be the channel. */
  async verifyHeader(channel: string, header: string | undefined, from?: string): Promise<Agent> {
    let envelope: unknown = null;
    try {
      envelope = header ? JSON.parse(Buffer.from(header, 'base64').toString('utf8')) : null;
    } catch {
      envelope = null;
    }
    if (!envelope) throw this.refuse(channel, `no signed ${AGENT_HEADER} header`, from);
    const { agent, body } = await this.verifyBody(channel, envelope, from);
    if ((body as { path?: unknown } | null)?.path !== channel) throw this.refuse(channel, 'signed for another path', from, agent.id);
    return agent;
  }

  private refuse(channel: string, reason: string, from?: string, agentId?: string): ApiError {
    this.logger.warn(`refused ${channel}${from ? ` from ${from}` : ''}${agentId ? ` (agent ${agentId})` : ''}: ${reason}`);
    return new ApiError(401, `agent message refused: ${reason}`);
  }
}
