import { authenticator } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUp, type ApiResponse, type TestApp } from './helpers/app.js';

const CSRF = { 'x-bazaar-csrf': '1' };
const limits = ['login', 'login/mfa', 'refresh', 'logout']
  .map((route) => `POST /api/v1/auth/session/${route}=10000/60`)
  .join(',');

let app: TestApp;
beforeAll(async () => {
  app = await createTestApp({ env: { RATE_LIMITS: limits, PUBLIC_URL: 'https://shop.example.com' } });
});
afterAll(() => app.close());

/** The `bazaar_refresh=…` pair of a response's Set-Cookie, and its attributes. */
function refreshCookieOf(response: ApiResponse) {
  const header = response.headers['set-cookie'];
  const cookie = (Array.isArray(header) ? header : [header]).find((c) => c?.startsWith('bazaar_refresh='));
  if (!cookie) throw new Error(`no refresh cookie in ${JSON.stringify(header)}`);
  const [pair, ...attributes] = cookie.split('; ');
  return { pair: pair!, value: pair!.slice('bazaar_refresh='.length), attributes };
}

const post = (url: string, body?: unknown, headers: Record<string, string> = {}) =>
  app.api('POST', `/api/v1/auth/session/${url}`, body, undefined, { ...CSRF, ...headers });

describe('browser sessions (refresh token in a cookie)', () => {
  it('signs in with the refresh token only in an httpOnly, Strict, path-scoped cookie', async () => {
    const user = await signUp(app);
    const login = await post('login', { email: user.email, password: user.password });
    expect(login.status).toBe(200);
    expect(login.body.data).toMatchObject({ token_type: 'Bearer', access_token: expect.any(String) });
    expect(login.body.data).not.toHaveProperty('refresh_token');
    const cookie = refreshCookieOf(login);
    expect(cookie.value.length).toBeGreaterThan(16);
    expect(cookie.attributes).toEqual(
      expect.arrayContaining(['Path=/api/v1/auth/session', 'HttpOnly', 'SameSite=Strict']),
    );
    expect(cookie.attributes).not.toContain('Secure');

    const me = await app.api('GET', '/api/v1/auth/me', undefined, login.body.data.access_token);
    expect(me.body.data.email).toBe(user.email);
  });

  it('refreshes from the cookie, rotating it; the used cookie then ends the session', async () => {
    const user = await signUp(app);
    const login = await post('login', { email: user.email, password: user.password });
    const first = refreshCookieOf(login).pair;

    const refreshed = await post('refresh', undefined, { cookie: first });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.data.access_token).toEqual(expect.any(String));
    expect(refreshed.body.data).not.toHaveProperty('refresh_token');
    const second = refreshCookieOf(refreshed).pair;
    expect(second).not.toBe(first);

    const replayed = await post('refresh', undefined, { cookie: first });
    expect(replayed.status).toBe(401);
    expect(refreshCookieOf(replayed).attributes).toContain('Max-Age=0');
    // Reuse of a spent token revoked the family, so the newest cookie is dead too.
    expect((await post('refresh', undefined, { cookie: second })).status).toBe(401);
  });

  it('refuses requests without the CSRF header, from another origin, or cross-site', async () => {
    const user = await signUp(app);
    const login = await post('login', { email: user.email, password: user.password });
    const cookie = refreshCookieOf(login).pair;

    const noHeader = await app.api('POST', '/api/v1/auth/session/refresh', undefined, undefined, { cookie });
    expect(noHeader.status).toBe(400);
    const foreign = await post('refresh', undefined, { cookie, origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.code).toBe('FORBIDDEN');
    const crossSite = await post('refresh', undefined, { cookie, 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);

    // Refused requests did not use up the token: the right origin still refreshes.
    const own = await post('refresh', undefined, { cookie, origin: 'https://shop.example.com' });
    expect(own.status).toBe(200);
  });

  it('marks the cookie Secure when the request came over TLS (behind a trusted proxy)', async () => {
    const proxied = await createTestApp({ env: { TRUST_PROXY: 'true' } });
    try {
      const user = await signUp(proxied);
      const login = await proxied.api(
        'POST',
        '/api/v1/auth/session/login',
        { email: user.email, password: user.password },
        undefined,
        { ...CSRF, 'x-forwarded-proto': 'https' },
      );
      expect(refreshCookieOf(login).attributes).toContain('Secure');
    } finally {
      await proxied.close();
    }
  });

  it('asks for the TOTP code, then sets the cookie', async () => {
    const user = await signUp(app);
    const enroll = await app.api('POST', '/api/v1/auth/mfa/totp/enroll', undefined, user.accessToken);
    const secret: string = enroll.body.data.secret;
    await app.api(
      'POST',
      '/api/v1/auth/mfa/totp/confirm',
      { code: authenticator.generate(secret) },
      user.accessToken,
    );

    const login = await post('login', { email: user.email, password: user.password });
    expect(login.body.data).toMatchObject({ mfa_required: true });
    expect(login.headers['set-cookie']).toBeUndefined();
    const second = await post('login/mfa', {
      challenge_id: login.body.data.challenge_id,
      // The code of the next time step: the current one was spent confirming the enrolment.
      code: authenticator.clone({ epoch: Date.now() + 30_000 }).generate(secret),
    });
    expect(second.status).toBe(200);
    expect(refreshCookieOf(second).value.length).toBeGreaterThan(16);
  });

  it('logs out: the session ends and the cookie is cleared', async () => {
    const user = await signUp(app);
    const login = await post('login', { email: user.email, password: user.password });
    const cookie = refreshCookieOf(login).pair;
    const logout = await app.api(
      'POST',
      '/api/v1/auth/session/logout',
      undefined,
      login.body.data.access_token,
      CSRF,
    );
    expect(logout.status).toBe(204);
    expect(refreshCookieOf(logout).attributes).toContain('Max-Age=0');
    expect((await post('refresh', undefined, { cookie })).status).toBe(401);
  });

  it('answers 401 without a cookie, and API clients keep the JSON-body refresh', async () => {
    expect((await post('refresh')).status).toBe(401);
    const user = await signUp(app);
    const body = await app.api('POST', '/api/v1/auth/refresh', { refresh_token: user.refreshToken });
    expect(body.status).toBe(200);
    expect(body.body.data.refresh_token).toEqual(expect.any(String));
  });
});
