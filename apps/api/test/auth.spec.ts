import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestApp, startApp, uniqueHandle } from './helpers';

describe('accounts and sessions', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ config: { signinMaxFailures: 3, signinWindowSeconds: 60 } });
  });
  afterAll(() => t.close());

  it('signs up a buyer with the sign-up credit and sets an HttpOnly SameSite=Lax session cookie', async () => {
    const handle = uniqueHandle('alice');
    const agent = t.anonymous();
    const response = await agent.post('/api/auth/signup').send({ handle, email: 'alice@example.com', password: 'long enough', role: 'buyer' });
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ handle, email: 'alice@example.com', role: 'buyer', balance: '1000' });
    expect(response.body).not.toHaveProperty('passwordHash');
    const cookie = String(response.headers['set-cookie']);
    expect(cookie).toMatch(/virtuoso_session=[^;]+/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/);
    const me = await agent.get('/api/auth/me');
    expect(me.status).toBe(200);
    expect(me.body.handle).toBe(handle);
  });

  it('a provider starts at 0', async () => {
    const provider = await t.signUp('provider');
    expect((await provider.get('/api/auth/me')).body).toMatchObject({ role: 'provider', balance: '0' });
  });

  it('refuses a short password, a bad role (operator too: never by sign-up) and a bad email with 400 naming the field, creating nothing', async () => {
    const before = await t.snapshot();
    const base = { handle: uniqueHandle('bob'), email: 'bob@example.com', password: 'long enough', role: 'buyer' };
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ ...base, password: 'short' }, 'password', /at least 8 characters/],
      [{ ...base, role: 'admin' }, 'role', /buyer or provider/],
      [{ ...base, role: 'operator' }, 'role', /buyer or provider/],
      [{ ...base, email: 'nope' }, 'email', /valid email/],
      [{ ...base, handle: 'a b' }, 'handle', /handle must be/],
      [{ ...base, admin: true }, 'admin', /property admin should not exist/],
    ];
    for (const [body, field, message] of cases) {
      const response = await t.anonymous().post('/api/auth/signup').send(body);
      expect(response.status, field).toBe(400);
      expect(response.body.message).toMatch(message);
      expect(response.body.fields[field][0]).toMatch(message);
    }
    expect(await t.snapshot()).toEqual(before);
  });

  it('refuses a duplicate handle with 409, whatever its case', async () => {
    const handle = uniqueHandle('Carol');
    await t.signUp('buyer', handle);
    const response = await t
      .anonymous()
      .post('/api/auth/signup')
      .send({ handle: handle.toLowerCase(), email: 'c@example.com', password: 'long enough', role: 'provider' });
    expect(response.status).toBe(409);
    expect(response.body.message).toMatch(/is taken/);
    expect(response.body.fields.handle).toBeDefined();
  });

  it('refuses common, trivial and over-long passwords with 400 naming the password, creating nothing', async () => {
    const before = await t.snapshot();
    const handle = uniqueHandle('dave');
    const cases: Array<[string, RegExp]> = [
      ['12345678', /most common passwords/],
      ['Password1', /most common passwords/],
      ['          ', /only spaces/],
      ['xxxxxxxxxx', /one character repeated/],
      [handle.toUpperCase(), /your handle or email/],
      ['a'.repeat(73), /at most 72 bytes in UTF-8 \(this one is 73\)/],
      // 40 characters but 80 bytes: bcrypt would silently ignore the last 8.
      ['é'.repeat(40), /at most 72 bytes in UTF-8 \(this one is 80\)/],
    ];
    for (const [password, message] of cases) {
      const response = await t
        .anonymous()
        .post('/api/auth/signup')
        .send({ handle, email: `${handle}@example.com`, password, role: 'buyer' });
      expect(response.status, password).toBe(400);
      expect(response.body.message, password).toMatch(message);
      expect(Object.keys(response.body.fields), password).toEqual(['password']);
    }
    expect(await t.snapshot()).toEqual(before);
    // 72 bytes exactly is fine.
    const fine = await t
      .anonymous()
      .post('/api/auth/signup')
      .send({ handle, email: `${handle}@example.com`, password: 'é'.repeat(35) + 'ok', role: 'buyer' });
    expect(fine.status).toBe(201);
  });

  it('refuses a second account on one email address, whatever its case (409 naming email)', async () => {
    const first = uniqueHandle('erin');
    expect(
      (
        await t
          .anonymous()
          .post('/api/auth/signup')
          .send({ handle: first, email: `Erin.${first}@Example.com`, password: 'correct horse', role: 'buyer' })
      ).status,
    ).toBe(201);
    const before = await t.snapshot();
    const second = await t
      .anonymous()
      .post('/api/auth/signup')
      .send({ handle: uniqueHandle('erin'), email: `erin.${first.toLowerCase()}@example.COM`, password: 'correct horse', role: 'provider' });
    expect(second.status).toBe(409);
    expect(second.body.message).toMatch(/email address exists already/);
    expect(Object.keys(second.body.fields)).toEqual(['email']);
    expect(await t.snapshot()).toEqual(before);
  });

  it('signs in, signs out and switches user', async () => {
    const first = await t.signUp('buyer');
    const second = await t.signUp('provider');
    const browser = t.anonymous();
    let response = await browser.post('/api/auth/signin').send({ handle: first.handle, password: 'correct horse' });
    expect(response.status).toBe(200);
    expect(response.body.handle).toBe(first.handle);
    expect((await browser.get('/api/auth/me')).body.handle).toBe(first.handle);
    // Switch user: signing in again replaces the session.
    response = await browser.post('/api/auth/signin').send({ handle: second.handle, password: 'correct horse' });
    expect(response.status).toBe(200);
    expect((await browser.get('/api/auth/me')).body.handle).toBe(second.handle);
    response = await browser.post('/api/auth/signout');
    expect(response.status).toBe(204);
    expect(String(response.headers['set-cookie'])).toMatch(/virtuoso_session=;/);
    expect((await browser.get('/api/auth/me')).status).toBe(401);
  });

  it('a signed-out session cookie no longer works even if replayed', async () => {
    const user = await t.signUp('buyer');
    const login = await t.anonymous().post('/api/auth/signin').send({ handle: user.handle, password: 'correct horse' });
    const cookie = String(login.headers['set-cookie']).split(';')[0];
    expect((await t.anonymous().get('/api/auth/me').set('Cookie', cookie)).status).toBe(200);
    await t.anonymous().post('/api/auth/signout').set('Cookie', cookie);
    expect((await t.anonymous().get('/api/auth/me').set('Cookie', cookie)).status).toBe(401);
  });

  it('answers a wrong password or unknown handle with the same 401', async () => {
    const user = await t.signUp('buyer');
    const wrong = await t.anonymous().post('/api/auth/signin').send({ handle: user.handle, password: 'not the password' });
    const unknown = await t
      .anonymous()
      .post('/api/auth/signin')
      .send({ handle: uniqueHandle('ghost'), password: 'whatever1' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'handle or password is wrong' });
    expect(unknown.body).toEqual(wrong.body);
  });

  it('rate-limits sign-in per address and handle: 429 with Retry-After, even with the right password', async () => {
    const user = await t.signUp('buyer');
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect((await t.anonymous().post('/api/auth/signin').send({ handle: user.handle, password: 'wrong password' })).status).toBe(401);
    }
    const limited = await t.anonymous().post('/api/auth/signin').send({ handle: user.handle, password: 'correct horse' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(limited.body.message).toMatch(/too many failed sign-ins/);
    // Another handle from the same address is not affected.
    const other = await t.signUp('buyer');
    expect((await t.anonymous().post('/api/auth/signin').send({ handle: other.handle, password: 'correct horse' })).status).toBe(200);
  });

  describe('personal API tokens', () => {
    it('lets a third party use the API with a bearer token until it is revoked', async () => {
      const buyer = await t.signUp('buyer');
      const created = await buyer.post('/api/auth/tokens').send({ name: 'billing-script' });
      expect(created.status).toBe(201);
      const token: string = created.body.token;
      expect(token).toMatch(/^vt_[0-9a-f]{48}$/);
      expect(created.body).toMatchObject({ name: 'billing-script', prefix: token.slice(0, 7), lastUsedAt: null });

      const thirdParty = t.anonymous();
      const me = await thirdParty.get('/api/auth/me').set('Authorization', `Bearer ${token}`);
      expect(me.status).toBe(200);
      expect(me.body.handle).toBe(buyer.handle);
      const machines = await thirdParty.get('/api/machines').set('Authorization', `Bearer ${token}`);
      expect(machines.status).toBe(200);

      const list = await buyer.get('/api/auth/tokens');
      expect(list.body).toHaveLength(1);
      expect(list.body[0]).not.toHaveProperty('token');
      expect(list.body[0].lastUsedAt).not.toBeNull();

      // Another user cannot see or revoke it.
      const stranger = await t.signUp('buyer');
      expect((await stranger.get('/api/auth/tokens')).body).toEqual([]);
      expect((await stranger.delete(`/api/auth/tokens/${created.body.id}`)).status).toBe(404);

      expect((await buyer.delete(`/api/auth/tokens/${created.body.id}`)).status).toBe(204);
      const revoked = await thirdParty.get('/api/auth/me').set('Authorization', `Bearer ${token}`);
      expect(revoked.status).toBe(401);
      expect((await thirdParty.get('/api/auth/me').set('Authorization', 'Bearer vt_made_up')).status).toBe(401);
    });

    it('refuses a token without a name', async () => {
      const buyer = await t.signUp('buyer');
      const response = await buyer.post('/api/auth/tokens').send({ name: '' });
      expect(response.status).toBe(400);
      expect(response.body.fields.name).toBeDefined();
    });

    it('refuses to let an API token create tokens (403), so a leaked token cannot outlive its revocation', async () => {
      const buyer = await t.signUp('buyer');
      const token: string = (await buyer.post('/api/auth/tokens').send({ name: 'script' })).body.token;
      // Used once first, so that recording its use is not what the snapshot sees change.
      expect((await t.anonymous().get('/api/auth/me').set('Authorization', `Bearer ${token}`)).status).toBe(200);
      const before = await t.snapshot();
      const minted = await t.anonymous().post('/api/auth/tokens').set('Authorization', `Bearer ${token}`).send({ name: 'child' });
      expect(minted.status).toBe(403);
      expect(minted.body.message).toMatch(/^API tokens cannot create tokens/);
      expect(await t.snapshot()).toEqual(before);
    });
  });

  describe('sessions', () => {
    it('lists my browser sessions, marks the current one, and revokes another at once', async () => {
      const user = await t.signUp('buyer');
      const laptop = t.anonymous();
      expect(
        (await laptop.post('/api/auth/signin').set('User-Agent', 'LaptopBrowser/1.0').send({ handle: user.handle, password: 'correct horse' })).status,
      ).toBe(200);
      const list = await user.get('/api/auth/sessions');
      expect(list.status).toBe(200);
      expect(list.body).toHaveLength(2);
      const [mine, other] = list.body;
      expect(mine).toMatchObject({ current: true });
      expect(other).toMatchObject({ current: false, userAgent: 'LaptopBrowser/1.0' });
      expect(Object.keys(other).sort()).toEqual(['createdAt', 'current', 'id', 'lastUsedAt', 'userAgent']);
      expect(other.lastUsedAt).toBe(other.createdAt);

      // Another user sees none of them and cannot revoke them.
      const stranger = await t.signUp('buyer');
      expect((await stranger.get('/api/auth/sessions')).body.map((s: { id: string }) => s.id)).not.toContain(other.id);
      expect((await stranger.delete(`/api/auth/sessions/${other.id}`)).status).toBe(404);
      expect((await laptop.get('/api/auth/me')).status).toBe(200);

      expect((await user.delete(`/api/auth/sessions/${other.id}`)).status).toBe(204);
      expect((await laptop.get('/api/auth/me')).status).toBe(401);
      expect((await user.get('/api/auth/sessions')).body.map((s: { id: string }) => s.id)).toEqual([mine.id]);
      expect((await user.delete(`/api/auth/sessions/${other.id}`)).status).toBe(404);
    });
  });
});

/** POST /api/auth/signin from a given loopback address (127.0.0.0/8 is all loopback on Linux). */
function signInFrom(url: string, address: string, handle: string, password: string): Promise<{ status: number; retryAfter: number; message: string }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ handle, password });
    const req = httpRequest(
      `${url}/api/auth/signin`,
      { method: 'POST', localAddress: address, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, retryAfter: Number(res.headers['retry-after'] ?? 0), message: JSON.parse(text).message ?? '' }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('sign-in limits across addresses and handles', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({
      listen: true,
      config: { signinMaxFailures: 3, signinMaxFailuresPerHandle: 5, signinMaxFailuresPerAddress: 6, signinWindowSeconds: 60 },
    });
  });
  afterAll(() => t.close());

  it('caps failures on one handle from many addresses: 429 with Retry-After, even with the right password', async () => {
    const victim = await t.signUp('buyer');
    // Two wrong passwords from each of three addresses: under the per-address-and-handle cap of 3 each.
    for (const address of ['127.0.0.11', '127.0.0.12', '127.0.0.13']) {
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const response = await signInFrom(t.url, address, victim.handle, 'wrong password');
        expect(response.status, `${address} #${attempt}`).toBe(address === '127.0.0.13' && attempt === 1 ? 429 : 401);
      }
    }
    const limited = await signInFrom(t.url, '127.0.0.14', victim.handle, 'correct horse');
    expect(limited.status).toBe(429);
    expect(limited.message).toMatch(/too many failed sign-ins for .* \(from several addresses\)/);
    expect(limited.retryAfter).toBeGreaterThan(0);
    expect(limited.retryAfter).toBeLessThanOrEqual(60);
    // Other handles from those addresses are not affected.
    const other = await t.signUp('buyer');
    expect((await signInFrom(t.url, '127.0.0.14', other.handle, 'correct horse')).status).toBe(200);
  });

  it('caps failures from one address across handles: 429 with Retry-After; other addresses are not affected', async () => {
    const user = await t.signUp('buyer');
    for (let n = 0; n < 6; n += 1) {
      expect((await signInFrom(t.url, '127.0.0.21', uniqueHandle('guess'), 'password1')).status).toBe(401);
    }
    const limited = await signInFrom(t.url, '127.0.0.21', user.handle, 'correct horse');
    expect(limited.status).toBe(429);
    expect(limited.message).toMatch(/too many failed sign-ins from your address; try again in \d+ s/);
    expect(limited.retryAfter).toBeGreaterThan(0);
    expect(limited.retryAfter).toBeLessThanOrEqual(60);
    expect((await signInFrom(t.url, '127.0.0.22', user.handle, 'correct horse')).status).toBe(200);
  });

  it('keeps the failures in the database, so a restarted API still refuses', async () => {
    const user = await t.signUp('buyer');
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect((await signInFrom(t.url, '127.0.0.31', user.handle, 'wrong password')).status).toBe(401);
    }
    await t.app.close();
    const again = await startApp({ listen: true, database: t.database, config: { signinMaxFailures: 3, signinWindowSeconds: 60 } });
    try {
      const limited = await signInFrom(again.url, '127.0.0.31', user.handle, 'correct horse');
      expect(limited.status).toBe(429);
      expect((await signInFrom(again.url, '127.0.0.32', user.handle, 'correct horse')).status).toBe(200);
    } finally {
      await again.close();
    }
  });
});
