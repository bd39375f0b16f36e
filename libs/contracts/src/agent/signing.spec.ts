import { describe, expect, it } from 'vitest';
import { NonceCache, sign, verify } from './signing';

const secret = 'ab'.repeat(32);

describe('signed envelopes with a request id', () => {
  it('signs the request id with the rest: verified as sent, refused when changed, added or removed', () => {
    const withId = sign(secret, 'a1', 'vm.start', { machineId: 'm' }, Date.now(), 'req-1');
    expect(withId.requestId).toBe('req-1');
    expect(verify(secret, 'vm.start', withId, new NonceCache())).toEqual({ ok: true, body: { machineId: 'm' }, agentId: 'a1', requestId: 'req-1' });
    expect(verify(secret, 'vm.start', { ...withId, requestId: 'req-2' }, new NonceCache())).toEqual({ ok: false, reason: 'bad-signature' });
    const { requestId: _dropped, ...withoutId } = withId;
    expect(verify(secret, 'vm.start', withoutId, new NonceCache())).toEqual({ ok: false, reason: 'bad-signature' });
    const plain = sign(secret, 'a1', 'vm.start', { machineId: 'm' });
    expect(plain).not.toHaveProperty('requestId');
    expect(verify(secret, 'vm.start', { ...plain, requestId: 'req-1' }, new NonceCache())).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verify(secret, 'vm.start', plain, new NonceCache())).toEqual({ ok: true, body: { machineId: 'm' }, agentId: 'a1' });
  });

  it('leaves out a malformed request id when signing and refuses one when verifying', () => {
    expect(sign(secret, 'a1', 'vm.start', {}, Date.now(), 'two words')).not.toHaveProperty('requestId');
    const envelope = { ...sign(secret, 'a1', 'vm.start', {}), requestId: 'x'.repeat(65) };
    expect(verify(secret, 'vm.start', envelope, new NonceCache())).toEqual({ ok: false, reason: 'malformed' });
  });
});
