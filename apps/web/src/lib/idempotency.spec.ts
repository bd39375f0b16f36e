import { describe, expect, it } from 'vitest';
import { ApiRequestError } from './api';
import { idempotencyHeader, keyForAttempt, newIdempotencyKey, outcomeUnknown } from './idempotency';

describe('keyForAttempt', () => {
  let n = 0;
  const make = () => `k${++n}`;
  it('makes a new key for a first attempt', () => {
    expect(keyForAttempt(null, '{"a":1}', make)).toEqual({ request: '{"a":1}', key: 'k1' });
  });
  it('reuses the key when the same request is retried', () => {
    const first = keyForAttempt(null, 'same', make);
    expect(keyForAttempt(first, 'same', make).key).toBe(first.key);
  });
  it('makes a new key when the request changed (another action)', () => {
    const first = keyForAttempt(null, 'one', make);
    expect(keyForAttempt(first, 'two', make).key).not.toBe(first.key);
  });
});

describe('outcomeUnknown', () => {
  const error = (status: number, message = 'x') => new ApiRequestError(status, { statusCode: status, error: 'E', message });
  it('keeps the key when no answer came back', () => {
    expect(outcomeUnknown(new TypeError('Failed to fetch'))).toBe(true);
  });
  it('keeps the key while the first request with it is still in flight', () => {
    expect(outcomeUnknown(error(409, 'A request with this Idempotency-Key is still in progress'))).toBe(true);
  });
  it('drops it after a definite refusal: nothing was done', () => {
    expect(outcomeUnknown(error(400))).toBe(false);
    expect(outcomeUnknown(error(402))).toBe(false);
    expect(outcomeUnknown(error(409, 'Cannot start a machine that is running'))).toBe(false);
    // A server failure is an answer too: the API would repeat it for the same key.
    expect(outcomeUnknown(error(503))).toBe(false);
  });
});

describe('keys', () => {
  it('are UUIDs, different each time, sent as Idempotency-Key', () => {
    const a = newIdempotencyKey();
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(newIdempotencyKey()).not.toBe(a);
    expect(idempotencyHeader(a)).toEqual({ 'Idempotency-Key': a });
  });
});
