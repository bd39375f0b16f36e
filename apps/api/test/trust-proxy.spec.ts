import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';
import { joinSeenFrom, postFrom } from './client-address';
import { TestApp, startApp } from './helpers';

/** A failed sign-in from `from` claiming to forward for `forwardedFor`; returns the status. */
const failedSignIn = async (url: string, from: string, forwardedFor?: string) =>
  (
    await postFrom(
      url,
      '/api/auth/signin',
      { handle: `nobody-${Math.random().toString(36).slice(2)}`, password: 'wrong' },
      { from, headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} },
    )
  ).status;

describe('VIRTUOSO_TRUST_PROXY', () => {
  it('is off by default; takes addresses, CIDR blocks and loopback/linklocal/uniquelocal; refuses anything else, naming it', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ VIRTUOSO_TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ VIRTUOSO_TRUST_PROXY: ' 10.0.0.5, fd00::/8 ,loopback,uniquelocal' }).trustProxy).toEqual([
      '10.0.0.5',
      'fd00::/8',
      'loopback',
      'uniquelocal',
    ]);
    // "true" and hop counts would believe what a client that reaches a replica directly wrote.
    for (const bad of ['true', '1', '10.0.0.0/33', 'proxy.example.org', '10.0.0.1/8/2']) {
      expect(() => loadConfig({ VIRTUOSO_TRUST_PROXY: bad }), bad).toThrow(`VIRTUOSO_TRUST_PROXY: "${bad}" is not an IP address`);
    }
  });

  describe('on a listening API', () => {
    let t: TestApp | undefined;
    afterEach(async () => {
      await t?.close();
      t = undefined;
    });
    const limits = { signinMaxFailures: 100, signinMaxFailuresPerHandle: 100, signinMaxFailuresPerAddress: 2 };

    it('off: X-Forwarded-For is ignored — a client cannot dodge the per-address sign-in limit nor choose its join address', async () => {
      t = await startApp({ listen: true, config: limits });
      // Each try claims another address: all count against the socket's.
      expect(await failedSignIn(t.url, '127.0.0.2', '203.0.113.1')).toBe(401);
      expect(await failedSignIn(t.url, '127.0.0.2', '203.0.113.2')).toBe(401);
      expect(await failedSignIn(t.url, '127.0.0.2', '203.0.113.3')).toBe(429);
      // Another client is not affected.
      expect(await failedSignIn(t.url, '127.0.0.3')).toBe(401);
      const provider = await t.signUp('provider');
      const token = (await provider.post('/api/agents/join-tokens').send({})).body.token as string;
      expect(await joinSeenFrom(t.url, token, '127.0.0.2', { 'x-forwarded-for': '10.1.2.3' })).toBe('127.0.0.2');
    });

    it('set to the proxy: its X-Forwarded-For is the client; anyone else still counts as its own address', async () => {
      t = await startApp({ listen: true, config: { ...limits, trustProxy: ['127.0.0.1'] } });
      // Through the trusted proxy (127.0.0.1): two clients behind it are limited apart.
      expect(await failedSignIn(t.url, '127.0.0.1', '203.0.113.1')).toBe(401);
      expect(await failedSignIn(t.url, '127.0.0.1', '203.0.113.1')).toBe(401);
      expect(await failedSignIn(t.url, '127.0.0.1', '203.0.113.1')).toBe(429);
      expect(await failedSignIn(t.url, '127.0.0.1', '203.0.113.2')).toBe(401);
      // Not the proxy: its X-Forwarded-For is not believed.
      expect(await failedSignIn(t.url, '127.0.0.2', '203.0.113.5')).toBe(401);
      expect(await failedSignIn(t.url, '127.0.0.2', '203.0.113.6')).toBe(401);
      expect(await failedSignIn(t.url, '127.0.0.2', '203.0.113.7')).toBe(429);
      const provider = await t.signUp('provider');
      const tokens = await Promise.all([0, 1].map(async () => (await provider.post('/api/agents/join-tokens').send({})).body.token as string));
      expect(await joinSeenFrom(t.url, tokens[0], '127.0.0.1', { 'x-forwarded-for': '198.51.100.4' })).toBe('198.51.100.4');
      expect(await joinSeenFrom(t.url, tokens[1], '127.0.0.2', { 'x-forwarded-for': '198.51.100.4' })).toBe('127.0.0.2');
    });
  });
});
