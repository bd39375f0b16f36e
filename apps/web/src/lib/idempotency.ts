// One Idempotency-Key per user action (README "Through the API": the API answers a repeated key
// with the first answer, without acting twice). The key is kept for a retry of the same action and
// dropped once the server has answered definitely.
import { ApiRequestError } from './api';

/** A fresh key: a UUID (1–200 visible ASCII characters, as the API accepts). */
export function newIdempotencyKey(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The key of the last attempt that may have acted without the browser knowing, with what it sent. */
export interface PendingAttempt {
  request: string;
  key: string;
}

/**
 * The key for an attempt sending `request` (the action's variables, serialised): the previous
 * attempt's key when this is a retry of the very same request whose outcome is unknown, else a new one.
 */
export function keyForAttempt(previous: PendingAttempt | null, request: string, make: () => string = newIdempotencyKey): PendingAttempt {
  return previous && previous.request === request ? previous : { request, key: make() };
}

/**
 * Whether the outcome of a failed attempt is unknown, so that a retry must reuse its key: no
 * answer reached the browser (network), or the API said a request with this key is still in
 * flight. Any other answer is definite (the API keeps it for the key and would only repeat it):
 * the next attempt is a new action with a new key.
 */
export function outcomeUnknown(error: unknown): boolean {
  if (!(error instanceof ApiRequestError)) return true;
  return error.status === 409 && /idempotency/i.test(error.body.message);
}

/** The header to send with a request that creates something or costs money. */
export function idempotencyHeader(key: string): { 'Idempotency-Key': string } {
  return { 'Idempotency-Key': key };
}
