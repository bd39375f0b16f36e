import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * How the front-end and a provider agent authenticate each other (docs/ARCHITECTURE.md §5; the report's
 * provider trusted the front-end blindly, §6.2.3 footnote 26). Both ends share a per-host secret
 * handed to the agent when it joins. Every message carries a timestamp, a nonce and an
 * HMAC-SHA256 over `${channel}\n${ts}\n${nonce}\n${body}`, where `body` is the exact JSON text
 * sent (so both ends sign the same bytes). The receiver refuses a bad signature, a timestamp
 * more than MAX_SKEW_MS away from its clock, and a nonce it has already seen in that window.
 */
export const MAX_SKEW_MS = 60_000;

export interface SignedEnvelope {
  /** The agent the secret belongs to (the signer's id for the agent's messages, the addressee's for commands). */
  agentId: string;
  /** Milliseconds since the epoch, sender's clock. */
  ts: number;
  /** 16 random bytes, hex. */
  nonce: string;
  /** The message body as JSON text — signed as is. */
  body: string;
  /** HMAC-SHA256, hex. */
  sig: string;
  /**
   * The API request that sent a command (its X-Request-Id), for the agent's log lines
   * (docs/ARCHITECTURE.md, Operating). Signed with the rest when present.
   */
  requestId?: string;
}

/** What a request id may be: short, printable, no spaces (an X-Request-Id we honour, or our UUID). */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;

// The request id, when there is one, is signed after the body: an envelope without one signs what
// it always did (body is JSON, which holds no raw newline, so the two forms cannot be confused).
function signature(secret: string, channel: string, ts: number, nonce: string, body: string, requestId?: string): string {
  return createHmac('sha256', secret)
    .update(`${channel}\n${ts}\n${nonce}\n${body}${requestId === undefined ? '' : `\n${requestId}`}`)
    .digest('hex');
}

export function sign(secret: string, agentId: string, channel: string, payload: unknown, now = Date.now(), requestId?: string): SignedEnvelope {
  const body = JSON.stringify(payload ?? null);
  const nonce = randomBytes(16).toString('hex');
  if (requestId !== undefined && !REQUEST_ID_PATTERN.test(requestId)) requestId = undefined;
  const sig = signature(secret, channel, now, nonce, body, requestId);
  return requestId === undefined ? { agentId, ts: now, nonce, body, sig } : { agentId, ts: now, nonce, body, sig, requestId };
}

export type VerifyFailure = 'malformed' | 'bad-signature' | 'stale' | 'replayed';

/** Where a receiver remembers the nonces it has accepted: false when `nonce` was already seen inside the window. */
export interface NonceStore {
  remember(nonce: string, now?: number): boolean;
}

/** Remembers nonces for the skew window, in memory, so that a captured message cannot be replayed. */
export class NonceCache implements NonceStore {
  private readonly seen = new Map<string, number>();

  /** false when the nonce was already used inside the window. */
  remember(nonce: string, now = Date.now()): boolean {
    for (const [n, at] of this.seen) if (now - at > 2 * MAX_SKEW_MS) this.seen.delete(n);
    if (this.seen.has(nonce)) return false;
    this.seen.set(nonce, now);
    return true;
  }
}

export function verify(
  secret: string,
  channel: string,
  envelope: unknown,
  nonces: NonceStore,
  now = Date.now(),
): { ok: true; body: unknown; agentId: string; requestId?: string } | { ok: false; reason: VerifyFailure } {
  const e = envelope as Partial<SignedEnvelope> | null;
  if (
    !e ||
    typeof e !== 'object' ||
    typeof e.ts !== 'number' ||
    typeof e.nonce !== 'string' ||
    typeof e.body !== 'string' ||
    typeof e.sig !== 'string' ||
    typeof e.agentId !== 'string' ||
    (e.requestId !== undefined && (typeof e.requestId !== 'string' || !REQUEST_ID_PATTERN.test(e.requestId)))
  ) {
    return { ok: false, reason: 'malformed' };
  }
  const expected = Buffer.from(signature(secret, channel, e.ts, e.nonce, e.body, e.requestId), 'hex');
  const given = Buffer.from(e.sig, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad-signature' };
  if (Math.abs(now - e.ts) > MAX_SKEW_MS) return { ok: false, reason: 'stale' };
  if (!nonces.remember(e.nonce, now)) return { ok: false, reason: 'replayed' };
  try {
    const body: unknown = JSON.parse(e.body);
    return e.requestId === undefined ? { ok: true, body, agentId: e.agentId } : { ok: true, body, agentId: e.agentId, requestId: e.requestId };
  } catch {
    return { ok: false, reason: 'malformed' };
  }
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
