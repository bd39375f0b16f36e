import { join } from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from './agent-process';
import { TestApp, startApp, uniqueHandle, win2000Pro } from './helpers';

const ISO = join(process.env.VIRTUOSO_IMAGE_DIR ?? join(REPO, '.cache', 'guest-image'), 'tiny-linux.iso');
const EVIL = 'http://evil.example';

/**
 * Cross-site request forgery: a page on another site can make the browser send the session cookie
 * with a form post or a simple fetch. Such requests are refused before anything runs; bearer-token
 * calls and clients that are not browsers (no Origin, no Sec-Fetch-Site) are not affected.
 */
describe('cross-site requests and body types', () => {
  let t: TestApp;
  /** A browser signed in as a buyer, talking to the API at t.url (so its own Origin is t.url). */
  let browser: ReturnType<typeof request.agent>;
  beforeAll(async () => {
    t = await startApp({ listen: true });
    browser = request.agent(t.url);
    const handle = uniqueHandle('csrf');
    expect((await browser.post('/api/auth/signup').send({ handle, email: `${handle}@example.com`, password: 'correct horse', role: 'buyer' })).status).toBe(
      201,
    );
  });
  afterAll(() => t.close());

  it('refuses cookie-authenticated state-changing requests from another origin (403), changing nothing', async () => {
    const before = await t.snapshot();
    const cases: Array<[string, Record<string, string>]> = [
      ['Origin of another site', { Origin: EVIL }],
      ['Origin null', { Origin: 'null' }],
      ['Origin of another port', { Origin: t.url.replace(/:\d+$/, ':1') }],
      ['no Origin, Sec-Fetch-Site cross-site', { 'Sec-Fetch-Site': 'cross-site' }],
      ['no Origin, Sec-Fetch-Site same-site', { 'Sec-Fetch-Site': 'same-site' }],
    ];
    for (const [what, headers] of cases) {
      const created = await browser.post('/api/machines').set(headers).send(win2000Pro());
      expect(created.status, what).toBe(403);
      expect(created.body.message, what).toMatch(/^cross-site request refused: /);
      expect((await browser.delete('/api/auth/tokens/00000000-0000-4000-8000-000000000000').set(headers)).status, what).toBe(403);
    }
    // Signing in from another site (login CSRF) is refused too.
    expect((await t.anonymous().post('/api/auth/signin').set('Origin', EVIL).send({ handle: 'x', password: 'y' })).status).toBe(403);
    expect(await t.snapshot()).toEqual(before);
    // Reads are not state-changing.
    expect((await browser.get('/api/machines').set('Origin', EVIL)).status).toBe(200);
  });

  it('accepts the same requests from its own origin, from non-browser clients, and with a bearer token from anywhere', async () => {
    expect(
      (
        await browser
          .post('/api/machines')
          .set('Origin', t.url)
          .send(win2000Pro({ name: 'own-origin' }))
      ).status,
    ).toBe(201);
    expect(
      (
        await browser
          .post('/api/machines')
          .set('Sec-Fetch-Site', 'same-origin')
          .send(win2000Pro({ name: 'same-origin' }))
      ).status,
    ).toBe(201);
    expect((await browser.post('/api/machines').send(win2000Pro({ name: 'no-headers' }))).status).toBe(201);
    const token = (await browser.post('/api/auth/tokens').send({ name: 'script' })).body.token as string;
    const viaToken = await t
      .anonymous()
      .post('/api/machines')
      .set('Origin', EVIL)
      .set('Authorization', `Bearer ${token}`)
      .send(win2000Pro({ name: 'by-token' }));
    expect(viaToken.status).toBe(201);
  });

  it('refuses url-encoded, text/plain and multipart bodies on JSON routes (415); the media upload stays multipart', async () => {
    const before = await t.snapshot();
    const form = await browser.post('/api/machines').type('form').send({ name: 'form', speed: '4000' });
    expect(form.status).toBe(415);
    expect(form.body).toEqual({
      statusCode: 415,
      error: 'Unsupported Media Type',
      message: 'a request body must be JSON (Content-Type: application/json), not application/x-www-form-urlencoded',
    });
    const text = await browser.post('/api/machines').set('Content-Type', 'text/plain').send(JSON.stringify(win2000Pro()));
    expect(text.status).toBe(415);
    expect(text.body.message).toMatch(/not text\/plain$/);
    const multipart = await browser.post('/api/machines').field('name', 'multipart');
    expect(multipart.status).toBe(415);
    const signin = await t.anonymous().post('/api/auth/signin').type('form').send({ handle: 'x', password: 'y' });
    expect(signin.status).toBe(415);
    expect(await t.snapshot()).toEqual(before);

    const upload = await browser.post('/api/media').set('Origin', t.url).field('name', 'installer').attach('file', ISO);
    expect(upload.status).toBe(201);
  });
});
