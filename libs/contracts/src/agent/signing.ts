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
}

function signature(secret: string, channel: string, ts: number, nonce: string, body: string): string {
  return createHmac('sha256', secret).update(`${channel}\n${ts}\n${nonce}\n${body}`).digest('hex');
}

export function sign(secret: string, agentId: string, channel: string, payload: unknown, now = Date.now()): SignedEnvelope {
  const body = JSON.stringify(payload ?? null);
  const nonce = randomBytes(16).toString('hex');
  return { agentId, ts: now, nonce, body, sig: signature(secret, channel, now, nonce, body) };
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
): { ok: true; body: unknown; agentId: string } | { ok: false; reason: VerifyFailure } {
  const e = envelope as Partial<SignedEnvelope> | null;
  if (
    !e ||
    typeof e !== 'object' ||
    typeof e.ts !== 'number' ||
    typeof e.nonce !== 'string' ||
    typeof e.body !== 'string' ||
    typeof e.sig !== 'string' ||
    typeof e.agentId !== 'string'
  ) {
    return { ok: false, reason: 'malformed' };
  }
  const expected = Buffer.from(signature(secret, channel, e.ts, e.nonce, e.body), 'hex');
  const given = Buffer.from(e.sig, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad-signature' };
  if (Math.abs(now - e.ts) > MAX_SKEW_MS) return { ok: false, reason: 'stale' };
  if (!nonces.remember(e.nonce, now)) return { ok: false, reason: 'replayed' };
  try {
    return { ok: true, body: JSON.parse(e.body), agentId: e.agentId };
  } catch {
    return { ok: false, reason: 'malformed' };
  }
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
