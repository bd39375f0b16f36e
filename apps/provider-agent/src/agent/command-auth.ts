import { Logger } from '@nestjs/common';
import { NonceCache, verify, type AgentReply } from '@virtuoso/contracts';

export interface Credentials {
  agentId: string;
  secret: string;
}

/**
 * Commands are accepted only from the front-end the agent joined: an HMAC-signed envelope on
 * channel = pattern (libs/contracts signing.ts). Anything else is refused and logged, and does
 * nothing (report §6.2.3 footnote 26: the original provider trusted every message).
 */
export class CommandAuth {
  private readonly log = new Logger('CommandAuth');
  private readonly nonces = new NonceCache();
  private creds?: Credentials;
  /** Why this agent stopped serving (its host was deleted), once it did. */
  private retiredBecause?: string;

  setCredentials(c: Credentials): void {
    this.creds = c;
  }

  /** From now on every command is refused, even a correctly signed one (agent.retire). */
  retire(reason: string): void {
    this.retiredBecause = reason;
  }

  get retired(): boolean {
    return this.retiredBecause !== undefined;
  }

  check(pattern: string, envelope: unknown, peer?: string): { ok: true; body: unknown } | { ok: false; reply: AgentReply } {
    const refuse = (reason: string) => {
      this.log.warn(`refused ${pattern}${peer ? ` from ${peer}` : ''}: ${reason}`);
      return { ok: false as const, reply: { ok: false as const, code: 'unauthenticated' as const, error: `command refused: ${reason}` } };
    };
    if (this.retiredBecause !== undefined) {
      this.log.warn(`refused ${pattern}${peer ? ` from ${peer}` : ''}: this agent is retired (${this.retiredBecause})`);
      return { ok: false, reply: { ok: false, code: 'refused', error: `this agent no longer serves: ${this.retiredBecause}` } };
    }
    if (!this.creds) return refuse('not-joined (the agent has no secret yet)');
    const r = verify(this.creds.secret, pattern, envelope, this.nonces);
    if (!r.ok) return refuse(r.reason);
    if (r.hostId !== this.creds.agentId) return refuse(`wrong-host (envelope for ${JSON.stringify(r.hostId).slice(0, 80)})`);
    return { ok: true, body: r.body };
  }
}
