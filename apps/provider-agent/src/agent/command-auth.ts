import { Inject, Injectable, Logger, createParamDecorator, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { TcpContext } from '@nestjs/microservices';
import { NonceCache, verify, type AgentFailure } from '@virtuoso/contracts';
import { CommandError } from './errors';

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

  check(pattern: string, envelope: unknown, peer?: string): { ok: true; body: unknown; requestId?: string } | { ok: false; reply: AgentFailure } {
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
    if (r.agentId !== this.creds.agentId) return refuse(`wrong-agent (envelope for ${JSON.stringify(r.agentId).slice(0, 80)})`);
    return { ok: true, body: r.body, requestId: r.requestId };
  }
}

/** A command the guard refused; CommandAuth has logged it already. */
export class CommandRefusedError extends CommandError {}

/** The verified body of each message, by its TcpContext (one per message), for @SignedBody. */
const verifiedBodies = new WeakMap<object, unknown>();
/** The API request id a verified message carried (signed with it), for the command log. */
const verifiedRequestIds = new WeakMap<object, string>();

export const requestIdOf = (tcp: TcpContext): string | undefined => verifiedRequestIds.get(tcp);

function peerOf(ctx: TcpContext | undefined): string | undefined {
  try {
    const s = ctx?.getSocketRef()?.socket;
    return s ? `${s.remoteAddress}:${s.remotePort}` : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Lets a command through only when CommandAuth accepts its envelope on channel = its pattern;
 * hands the verified body over to @SignedBody. A refusal becomes the reply's failure (see
 * AgentReplyFilter), so the front-end reads it like any other.
 */
@Injectable()
export class SignedCommandGuard implements CanActivate {
  constructor(@Inject(CommandAuth) private readonly auth: CommandAuth) {}

  canActivate(context: ExecutionContext): boolean {
    const rpc = context.switchToRpc();
    const tcp = rpc.getContext<TcpContext>();
    const checked = this.auth.check(tcp.getPattern(), rpc.getData(), peerOf(tcp));
    if (!checked.ok) throw new CommandRefusedError(checked.reply.code, checked.reply.error);
    verifiedBodies.set(tcp, checked.body);
    if (checked.requestId) verifiedRequestIds.set(tcp, checked.requestId);
    return true;
  }
}

/** The verified body of a command (undefined before SignedCommandGuard let it through). */
export const verifiedBody = (tcp: TcpContext): unknown => verifiedBodies.get(tcp);

/** The body of the command once SignedCommandGuard verified its signature; `data` is the command's pattern (for CommandBodyPipe). */
export const SignedBody = createParamDecorator((_pattern: string, context: ExecutionContext) =>
  verifiedBodies.get(context.switchToRpc().getContext<TcpContext>()),
);
