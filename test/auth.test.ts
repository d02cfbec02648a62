import { sql } from 'drizzle-orm';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  exportSPKI,
  generateKeyPair,
  importJWK,
  importPKCS8,
  jwtVerify,
  SignJWT,
  type JWK,
} from 'jose';
import { authenticator } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../src/platform/db/client.js';
import { SecretBox } from '../src/platform/security/secret-box.js';
import { createTestApp, signInAdmin, signUp, type ApiResponse, type TestApp } from './helpers/app.js';
import { startSmtpCatcher, type SmtpCatcher } from './helpers/smtp.js';

// Every request comes from 127.0.0.1: lift the per-endpoint limits this suite would hit.
const generousLimits = [
  'POST /api/v1/auth/register',
  'POST /api/v1/auth/login',
  'POST /api/v1/auth/login/mfa',
  'POST /api/v1/auth/refresh',
  'POST /api/v1/auth/password/forgot',
  'POST /api/v1/auth/password/reset',
  'POST /api/v1/auth/password/change',
  'POST /api/v1/auth/email/verify',
  'POST /oauth/token',
]
  .map((route) => `${route}=10000/60`)
  .join(',');

type User = Awaited<ReturnType<typeof signUp>>;
interface Tokens {
  access_token: string;
  refresh_token: string;
  token_type: 'Bearer';
  expires_in: number;
}
interface OAuthAnswer {
  access_token: string;
  error?: string;
  scope?: string;
}
interface Listed {
  id: string;
  current?: boolean;
}
/** The token fields of a sign-in, registration or refresh answer. */
const tokensOf = (response: ApiResponse) => response.body.data as Tokens;
const listOf = (response: ApiResponse) => response.body.data as Listed[];

const login = (app: TestApp, email: string, password: string) =>
  app.api('POST', '/api/v1/auth/login', { email, password });
const me = (app: TestApp, token: string) => app.api('GET', '/api/v1/auth/me', undefined, token);
const refresh = (app: TestApp, refreshToken: string) =>
  app.api('POST', '/api/v1/auth/refresh', { refresh_token: refreshToken });
const expectAuthFailed = (response: {
  status: number;
  body: { request_id?: string; error?: { code: string } };
}) => {
  expect(response.status).toBe(401);
  expect(response.body.error?.code).toBe('AUTH_FAILED');
  expect(response.body.request_id).toEqual(expect.any(String));
};
/** The code an authenticator app shows `steps` time steps from now. */
const totp = (secret: string, steps = 0) =>
  authenticator.clone({ epoch: Date.now() + steps * 30_000 }).generate(secret);
/** Six digits that are certainly not valid around now. */
const wrongCode = (secret: string) => {
  const valid = new Set([-1, 0, 1, 2].map((step) => totp(secret, step)));
  return ['000000', '111111', '222222', '333333', '444444'].find((code) => !valid.has(code))!;
};

function oauthToken(app: TestApp, form: Record<string, string>, authorization?: string) {
  return app.request({
    method: 'POST',
    url: '/oauth/token',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(authorization ? { authorization } : {}),
    },
    payload: new URLSearchParams(form).toString(),
  });
}

describe('auth over HTTP', () => {
  let app: TestApp;
  let admin: Awaited<ReturnType<typeof signInAdmin>>;
  beforeAll(async () => {
    app = await createTestApp({ listen: true, env: { RATE_LIMITS: generousLimits } });
    admin = await signInAdmin(app);
  });
  afterAll(() => app.close());

  it('runs the whole lifecycle: register → me → refresh → logout → refresh fails', async () => {
    const email = `Life-${Date.now()}@Example.com`;
    const registered = await app.api('POST', '/api/v1/auth/register', {
      email,
      password: 'a fine passphrase',
      name: 'Life',
    });
    expect(registered.status).toBe(201);
    expect(registered.body.data).toMatchObject({
      user: { email: email.toLowerCase(), name: 'Life', role: 'user', email_verified: false },
      token_type: 'Bearer',
      expires_in: 900,
    });
    const { access_token: access, refresh_token: refreshToken } = tokensOf(registered);

    const who = await me(app, access);
    expect(who.status).toBe(200);
    expect(who.body.data).toMatchObject({ email: email.toLowerCase(), roles: ['user'], mfa_enabled: false });
    expect(who.body.data.permissions).toContain('profile:read');
    expect(who.body.data.permissions).not.toContain('users:read');

    const refreshed = await refresh(app, refreshToken);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.data.refresh_token).not.toBe(refreshToken);
    const next = tokensOf(refreshed);
    expect((await me(app, next.access_token)).status).toBe(200);

    const logout = await app.api('POST', '/api/v1/auth/logout', undefined, next.access_token);
    expect(logout.status).toBe(204);
    expect(logout.raw).toBe('');
    expectAuthFailed(await refresh(app, next.refresh_token));
    // Logout is immediate: the still-unexpired access tokens of the session stop working.
    expectAuthFailed(await me(app, next.access_token));
    expectAuthFailed(await me(app, access));
  });

  it('rejects duplicate e-mails, unknown fields and weak passwords', async () => {
    const user = await signUp(app);
    const duplicate = await app.api('POST', '/api/v1/auth/register', {
      email: user.email.toUpperCase(),
      password: 'another passphrase',
      name: 'X',
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error.code).toBe('CONFLICT');
    const extra = await app.api('POST', '/api/v1/auth/register', {
      email: 'x@example.com',
      password: 'a fine passphrase',
      name: 'X',
      role: 'admin',
    });
    expect(extra.status).toBe(400);
    const common = await app.api('POST', '/api/v1/auth/register', {
      email: 'y@example.com',
      password: 'password1',
      name: 'Y',
    });
    expect(common.status).toBe(400);
    expect(common.body.error.details).toEqual([
      { field: 'password', message: expect.stringMatching(/too common/) },
    ]);
  });

  it('revokes the whole family when a rotated refresh token is reused', async () => {
    const user = await signUp(app);
    const first = await refresh(app, user.refreshToken);
    expect(first.status).toBe(200);
    // The old token again: someone holds a copy.
    expectAuthFailed(await refresh(app, user.refreshToken));
    // …so the legitimate newest token is dead too, and so is the session's access token.
    expectAuthFailed(await refresh(app, tokensOf(first).refresh_token));
    expectAuthFailed(await me(app, tokensOf(first).access_token));

    const audit = await app.api(
      'GET',
      `/api/v1/admin/audit-log?action=auth.refresh_token_reused&target_id=${user.userId}`,
      undefined,
      admin.accessToken,
    );
    expect(audit.body.data).toHaveLength(1);
  });

  it('lets only one of two concurrent refreshes with the same token win', async () => {
    const user = await signUp(app);
    const results = await Promise.all([refresh(app, user.refreshToken), refresh(app, user.refreshToken)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 401]);
  });

  it('issues tokens that an independent client verifies with the published JWKS', async () => {
    const user = await signUp(app);
    const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', app.url));
    const { payload, protectedHeader } = await jwtVerify(user.accessToken, jwks, {
      issuer: app.bazaar.config.publicUrl,
      audience: app.bazaar.config.JWT_AUDIENCE,
      algorithms: ['RS256'],
      typ: 'at+jwt',
    });
    expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: expect.any(String) });
    expect(payload).toMatchObject({ sub: user.userId, roles: ['user'], sid: expect.any(String) });
    expect(String(payload.scope).split(' ')).toContain('profile:read');

    const response = await fetch(new URL('/.well-known/jwks.json', app.url));
    expect(response.headers.get('cache-control')).toBe('public, max-age=300');
  });

  describe('refuses forged and unusable access tokens with 401 AUTH_FAILED', () => {
    let user: User;
    let server: { kid: string; key: CryptoKey; jwk: JWK };
    beforeAll(async () => {
      user = await signUp(app);
      const [row] = rowsOf<{ kid: string; private_key: string; public_jwk: JWK }>(
        await app.bazaar.database.db.execute(
          sql`select kid, private_key, public_jwk from auth_signing_keys where retired_at is null order by created_at desc limit 1`,
        ),
      );
      server = {
        kid: row!.kid,
        key: await importPKCS8(new SecretBox(undefined).open(row!.private_key), 'RS256'),
        jwk: row!.public_jwk,
      };
    });

    const claims = () => ({
      roles: ['admin'],
      scope: 'users:read users:write',
      sid: decodeSid(user.accessToken),
    });
    const sign = (
      overrides: {
        iss?: string;
        aud?: string;
        exp?: number;
        typ?: string;
        kid?: string;
        key?: CryptoKey;
      } = {},
    ) =>
      new SignJWT(claims())
        .setProtectedHeader({
          alg: 'RS256',
          kid: overrides.kid ?? server.kid,
          typ: overrides.typ ?? 'at+jwt',
        })
        .setIssuer(overrides.iss ?? app.bazaar.config.publicUrl)
        .setAudience(overrides.aud ?? app.bazaar.config.JWT_AUDIENCE)
        .setSubject(user.userId)
        .setIssuedAt()
        .setExpirationTime(overrides.exp ?? Math.floor(Date.now() / 1000) + 600)
        .sign(overrides.key ?? server.key);

    it('(control) accepts a well-formed token signed with the server’s key, with the role from the database', async () => {
      const response = await me(app, await sign());
      expect(response.status).toBe(200);
      // The token claims admin; the database says user, and the database wins.
      expect(response.body.data.roles).toEqual(['user']);
    });

    it('alg none', async () => {
      const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const token = `${encode({ alg: 'none', typ: 'at+jwt', kid: server.kid })}.${encode({
        ...claims(),
        iss: app.bazaar.config.publicUrl,
        aud: app.bazaar.config.JWT_AUDIENCE,
        sub: user.userId,
        iat: now,
        exp: now + 600,
      })}.`;
      expectAuthFailed(await me(app, token));
    });

    it('HS256 signed with the public key (PEM or JWK) as the secret', async () => {
      const pem = await exportSPKI(
        (await importJWK(server.jwk, 'RS256', { extractable: true })) as CryptoKey,
      );
      for (const secret of [pem, JSON.stringify(server.jwk)]) {
        const token = await new SignJWT(claims())
          .setProtectedHeader({ alg: 'HS256', kid: server.kid, typ: 'at+jwt' })
          .setIssuer(app.bazaar.config.publicUrl)
          .setAudience(app.bazaar.config.JWT_AUDIENCE)
          .setSubject(user.userId)
          .setIssuedAt()
          .setExpirationTime('10m')
          .sign(new TextEncoder().encode(secret));
        expectAuthFailed(await me(app, token));
      }
    });

    it('wrong audience, wrong issuer, wrong type, expired', async () => {
      expectAuthFailed(await me(app, await sign({ aud: 'another-api' })));
      expectAuthFailed(await me(app, await sign({ iss: 'https://evil.example' })));
      expectAuthFailed(await me(app, await sign({ typ: 'JWT' })));
      expectAuthFailed(await me(app, await sign({ exp: Math.floor(Date.now() / 1000) - 60 })));
    });

    it('unknown kid, and a known kid with a foreign key', async () => {
      const { privateKey } = await generateKeyPair('RS256');
      expectAuthFailed(await me(app, await sign({ kid: 'not-a-bazaar-key', key: privateKey })));
      expectAuthFailed(await me(app, await sign({ key: privateKey })));
    });

    it('garbage and a missing header', async () => {
      expectAuthFailed(await me(app, 'not.a.jwt'));
      expectAuthFailed(await app.api('GET', '/api/v1/auth/me'));
    });
  });

  it('keeps old tokens valid across a key rotation, and publishes both keys', async () => {
    const user = await signUp(app);
    const oldKid = decodeProtectedHeader(user.accessToken).kid;
    const { kid } = await app.bazaar.auth.rotateSigningKey(app.bazaar.systemContext());
    expect(kid).not.toBe(oldKid);

    const jwks = await app.api('GET', '/.well-known/jwks.json');
    expect((jwks.body.keys as JWK[]).map((k) => k.kid)).toEqual(expect.arrayContaining([oldKid, kid]));
    expect((await me(app, user.accessToken)).status).toBe(200);
    const again = await login(app, user.email, user.password);
    expect(decodeProtectedHeader(tokensOf(again).access_token).kid).toBe(kid);
    expect((await me(app, tokensOf(again).access_token)).status).toBe(200);
  });

  it('introspects tokens without ever failing on a bad one', async () => {
    const user = await signUp(app);
    const active = await app.api('POST', '/api/v1/auth/verify', { token: user.accessToken });
    expect(active.status).toBe(200);
    expect(active.body.data).toMatchObject({
      active: true,
      sub: user.userId,
      roles: ['user'],
      exp: expect.any(Number),
    });
    expect(active.body.data.permissions).toContain('profile:read');
    expect((await app.api('POST', '/api/v1/auth/verify', { token: 'garbage' })).body.data).toEqual({
      active: false,
    });
    await app.api('POST', '/api/v1/auth/logout', undefined, user.accessToken);
    expect((await app.api('POST', '/api/v1/auth/verify', { token: user.accessToken })).body.data).toEqual({
      active: false,
    });
  });

  it('ends a deactivated user’s access at once', async () => {
    const user = await signUp(app);
    const deactivate = await app.api(
      'PATCH',
      `/api/v1/users/${user.userId}`,
      { status: 'deactivated' },
      admin.accessToken,
    );
    expect(deactivate.status).toBe(200);
    expectAuthFailed(await me(app, user.accessToken));
    expectAuthFailed(await refresh(app, user.refreshToken));
    const denied = await login(app, user.email, user.password);
    expectAuthFailed(denied);
    expect(denied.body.error.message).toBe('Invalid e-mail or password.');
  });

  it('refuses a live session whose account is not active, and takes its role from the account', async () => {
    // Deactivation also revokes the sessions; this checks the account itself, session aside.
    const user = await signUp(app);
    const setAccount = (column: 'status' | 'role', value: string) =>
      app.bazaar.database.db.execute(
        sql`update users set ${sql.identifier(column)} = ${value} where id = ${user.userId}`,
      );
    await setAccount('status', 'deactivated');
    expectAuthFailed(await me(app, user.accessToken));
    await setAccount('status', 'active');
    expect((await me(app, user.accessToken)).body.data.roles).toEqual(['user']);
    await setAccount('role', 'guest');
    expect((await me(app, user.accessToken)).body.data.roles).toEqual(['guest']);
  });

  describe('sessions', () => {
    it('lists the user’s own sessions and marks the current one', async () => {
      const user = await signUp(app);
      const second = await login(app, user.email, user.password);
      const list = await app.api('GET', '/api/v1/auth/sessions', undefined, user.accessToken);
      expect(list.status).toBe(200);
      expect(list.body.data).toHaveLength(2);
      expect(listOf(list).filter((s) => s.current)).toHaveLength(1);
      const other = listOf(list).find((s) => !s.current)!;
      expect(other).toMatchObject({ ip: '127.0.0.1', expires_at: expect.any(String) });

      expect(
        (await app.api('DELETE', `/api/v1/auth/sessions/${other.id}`, undefined, user.accessToken)).status,
      ).toBe(204);
      expectAuthFailed(await me(app, tokensOf(second).access_token));
      expect((await me(app, user.accessToken)).status).toBe(200);
    });

    it('never lets one user see or end another user’s session (404)', async () => {
      const alice = await signUp(app);
      const bob = await signUp(app);
      const bobs = await app.api('GET', '/api/v1/auth/sessions', undefined, bob.accessToken);
      const bobSession = listOf(bobs)[0]!.id;
      const attempt = await app.api(
        'DELETE',
        `/api/v1/auth/sessions/${bobSession}`,
        undefined,
        alice.accessToken,
      );
      expect(attempt.status).toBe(404);
      expect(attempt.body.error.code).toBe('NOT_FOUND');
      expect((await me(app, bob.accessToken)).status).toBe(200);
      const alices = await app.api('GET', '/api/v1/auth/sessions', undefined, alice.accessToken);
      expect(listOf(alices).map((s) => s.id)).not.toContain(bobSession);
    });

    it('signs out everywhere', async () => {
      const user = await signUp(app);
      const second = await login(app, user.email, user.password);
      expect((await app.api('POST', '/api/v1/auth/logout-all', undefined, user.accessToken)).status).toBe(
        204,
      );
      expectAuthFailed(await me(app, user.accessToken));
      expectAuthFailed(await refresh(app, tokensOf(second).refresh_token));
    });
  });

  it('changes the password, keeping only the current session', async () => {
    const user = await signUp(app);
    const other = await login(app, user.email, user.password);
    const wrong = await app.api(
      'POST',
      '/api/v1/auth/password/change',
      { current_password: 'not it at all', new_password: 'a brand new secret' },
      user.accessToken,
    );
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.details[0].field).toBe('current_password');
    const weak = await app.api(
      'POST',
      '/api/v1/auth/password/change',
      { current_password: user.password, new_password: 'iloveyou' },
      user.accessToken,
    );
    expect(weak.body.error.details[0].field).toBe('new_password');

    const changed = await app.api(
      'POST',
      '/api/v1/auth/password/change',
      { current_password: user.password, new_password: 'a brand new secret' },
      user.accessToken,
    );
    expect(changed.status).toBe(204);
    expect((await me(app, user.accessToken)).status).toBe(200);
    expectAuthFailed(await me(app, tokensOf(other).access_token));
    expectAuthFailed(await login(app, user.email, user.password));
    expect((await login(app, user.email, 'a brand new secret')).status).toBe(200);
  });

  describe('TOTP', () => {
    async function enrolled() {
      const user = await signUp(app);
      const enroll = await app.api('POST', '/api/v1/auth/mfa/totp/enroll', undefined, user.accessToken);
      expect(enroll.status).toBe(200);
      const { secret, otpauth_uri: uri } = enroll.body.data as { secret: string; otpauth_uri: string };
      expect(uri).toContain(`secret=${secret}`);
      expect(uri).toContain('issuer=Bazaar');
      const confirm = await app.api(
        'POST',
        '/api/v1/auth/mfa/totp/confirm',
        { code: totp(secret) },
        user.accessToken,
      );
      expect(confirm.status).toBe(200);
      const codes: string[] = confirm.body.data.recovery_codes;
      return { ...user, secret, codes };
    }

    async function challenge(user: { email: string; password: string }) {
      const response = await login(app, user.email, user.password);
      expect(response.status).toBe(200);
      expect(response.body.data).toMatchObject({
        mfa_required: true,
        challenge_id: expect.any(String),
        expires_in: 300,
      });
      expect(response.body.data).not.toHaveProperty('access_token');
      return response.body.data.challenge_id as string;
    }
    const answer = (challengeId: string, code: string) =>
      app.api('POST', '/api/v1/auth/login/mfa', { challenge_id: challengeId, code });

    it('enrols, then asks for the code at sign-in; wrong codes fail and a code works only once', async () => {
      const user = await enrolled();
      expect(user.codes).toHaveLength(10);
      expect((await me(app, user.accessToken)).body.data.mfa_enabled).toBe(true);

      const id = await challenge(user);
      expectAuthFailed(await answer(id, wrongCode(user.secret)));
      // The confirmation used the current step, so the next step's code is the one that works now.
      const code = totp(user.secret, 1);
      const signedIn = await answer(id, code);
      expect(signedIn.status).toBe(200);
      expect(signedIn.body.data.token_type).toBe('Bearer');
      expect((await me(app, tokensOf(signedIn).access_token)).status).toBe(200);
      // The same challenge cannot be answered twice, and the same code not accepted in a new one.
      expectAuthFailed(await answer(id, code));
      expectAuthFailed(await answer(await challenge(user), code));
    });

    it('accepts each recovery code once', async () => {
      const user = await enrolled();
      const recovery = user.codes[0]!;
      const first = await answer(await challenge(user), recovery.toUpperCase());
      expect(first.status).toBe(200);
      expectAuthFailed(await answer(await challenge(user), recovery));
      expect((await answer(await challenge(user), user.codes[1]!)).status).toBe(200);
    });

    it('gives a challenge 5 attempts', async () => {
      const user = await enrolled();
      const id = await challenge(user);
      for (let i = 0; i < 5; i += 1) expectAuthFailed(await answer(id, `recovery-wrong-${i}`));
      expectAuthFailed(await answer(id, user.codes[0]!));
    });

    it('is switched off only with the password', async () => {
      const user = await enrolled();
      const noPassword = await app.api(
        'POST',
        '/api/v1/auth/mfa/totp/disable',
        { password: 'wrong password!' },
        user.accessToken,
      );
      expect(noPassword.status).toBe(400);
      const again = await app.api('POST', '/api/v1/auth/mfa/totp/enroll', undefined, user.accessToken);
      expect(again.status).toBe(409);
      const regenerated = await app.api(
        'POST',
        '/api/v1/auth/mfa/recovery-codes',
        { password: user.password },
        user.accessToken,
      );
      expect(regenerated.body.data.recovery_codes).toHaveLength(10);
      expect(regenerated.body.data.recovery_codes).not.toContain(user.codes[0]);
      const off = await app.api(
        'POST',
        '/api/v1/auth/mfa/totp/disable',
        { password: user.password },
        user.accessToken,
      );
      expect(off.status).toBe(204);
      const plain = await login(app, user.email, user.password);
      expect(plain.body.data.access_token).toEqual(expect.any(String));
    });
  });

  describe('OAuth 2.0 token endpoint', () => {
    let client: { client_id: string; client_secret: string; id: string };
    beforeAll(async () => {
      const created = await app.api(
        'POST',
        '/api/v1/admin/api-clients',
        { name: 'Sync', permissions: ['clients:read', 'products:read'] },
        admin.accessToken,
      );
      expect(created.status).toBe(201);
      client = created.body.data as typeof client;
    });
    const basic = (id: string, secret: string) =>
      `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

    it('lets only admins manage clients, and never shows a secret twice', async () => {
      const user = await signUp(app);
      expect(
        (
          await app.api(
            'POST',
            '/api/v1/admin/api-clients',
            { name: 'x', permissions: ['products:read'] },
            user.accessToken,
          )
        ).status,
      ).toBe(403);
      const notGrantable = await app.api(
        'POST',
        '/api/v1/admin/api-clients',
        { name: 'x', permissions: ['profile:read'] },
        admin.accessToken,
      );
      expect(notGrantable.status).toBe(400);
      const list = await app.api(
        'GET',
        '/api/v1/admin/api-clients?per_page=100',
        undefined,
        admin.accessToken,
      );
      expect(list.status).toBe(200);
      expect(list.body.meta).toMatchObject({ page: 1, per_page: 100 });
      const listed = listOf(list).find((c) => c.id === client.id);
      expect(listed).toMatchObject({
        client_id: client.client_id,
        permissions: ['clients:read', 'products:read'],
        revoked_at: null,
      });
      expect(listed).not.toHaveProperty('client_secret');
    });

    it('grants client_credentials in the plain RFC 6749 shape, with Basic or body credentials', async () => {
      const response = await oauthToken(
        app,
        { grant_type: 'client_credentials' },
        basic(client.client_id, client.client_secret),
      );
      expect(response.statusCode).toBe(200);
      expect(response.headers['cache-control']).toBe('no-store');
      const body = response.json<OAuthAnswer>();
      expect(body).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 900,
        scope: 'clients:read products:read',
      });
      const asClient = await app.api('GET', '/api/v1/admin/api-clients', undefined, body.access_token);
      expect(asClient.status).toBe(200);
      expect((await app.api('GET', '/api/v1/users', undefined, body.access_token)).status).toBe(403);

      const post = await oauthToken(app, {
        grant_type: 'client_credentials',
        client_id: client.client_id,
        client_secret: client.client_secret,
        scope: 'products:read',
      });
      expect(post.json<OAuthAnswer>()).toMatchObject({ scope: 'products:read' });
      const narrowed = await app.api(
        'GET',
        '/api/v1/admin/api-clients',
        undefined,
        post.json<OAuthAnswer>().access_token,
      );
      expect(narrowed.status).toBe(403);
      const introspected = await app.api('POST', '/api/v1/auth/verify', {
        token: post.json<OAuthAnswer>().access_token,
      });
      expect(introspected.body.data).toMatchObject({
        active: true,
        client_id: client.client_id,
        permissions: ['products:read'],
      });
    });

    it('answers RFC 6749 errors', async () => {
      const badSecret = await oauthToken(
        app,
        { grant_type: 'client_credentials' },
        basic(client.client_id, 'wrong'),
      );
      expect(badSecret.statusCode).toBe(401);
      expect(badSecret.headers['www-authenticate']).toMatch(/^Basic/);
      expect(badSecret.json()).toEqual({ error: 'invalid_client', error_description: expect.any(String) });
      const scope = await oauthToken(
        app,
        { grant_type: 'client_credentials', scope: 'users:write' },
        basic(client.client_id, client.client_secret),
      );
      expect([scope.statusCode, scope.json().error]).toEqual([400, 'invalid_scope']);
      const grant = await oauthToken(app, { grant_type: 'password', username: 'a', password: 'b' });
      expect([grant.statusCode, grant.json().error]).toEqual([400, 'unsupported_grant_type']);
      const missing = await oauthToken(app, {});
      expect([missing.statusCode, missing.json().error]).toEqual([400, 'invalid_request']);
      const stale = await oauthToken(app, { grant_type: 'refresh_token', refresh_token: 'x'.repeat(43) });
      expect([stale.statusCode, stale.json().error]).toEqual([400, 'invalid_grant']);
      const malformed = await app.request({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/json' },
        payload: '{"grant_type":',
      });
      expect([malformed.statusCode, malformed.json().error]).toEqual([400, 'invalid_request']);
    });

    it('rotates a refresh token with grant_type=refresh_token', async () => {
      const user = await signUp(app);
      const response = await oauthToken(app, {
        grant_type: 'refresh_token',
        refresh_token: user.refreshToken,
        client_id: 'ignored',
      });
      expect(response.statusCode).toBe(200);
      const body = response.json<OAuthAnswer>();
      expect(body).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 900,
        refresh_token: expect.any(String),
      });
      expect((await me(app, body.access_token)).status).toBe(200);
    });

    it('stops a revoked client’s tokens at once', async () => {
      const created = await app.api(
        'POST',
        '/api/v1/admin/api-clients',
        { name: 'Short-lived', permissions: ['clients:read'] },
        admin.accessToken,
      );
      const {
        id,
        client_id: clientId,
        client_secret: secret,
      } = created.body.data as {
        id: string;
        client_id: string;
        client_secret: string;
      };
      const token = (
        await oauthToken(app, { grant_type: 'client_credentials' }, basic(clientId, secret))
      ).json<OAuthAnswer>().access_token;
      expect(
        (await app.api('DELETE', `/api/v1/admin/api-clients/${id}`, undefined, admin.accessToken)).status,
      ).toBe(204);
      expectAuthFailed(await app.api('GET', '/api/v1/admin/api-clients', undefined, token));
      expect(
        (await oauthToken(app, { grant_type: 'client_credentials' }, basic(clientId, secret))).statusCode,
      ).toBe(401);
    });
  });

  it('creates the first admin once, with a generated password shown only then', async () => {
    const email = `first-admin-${Date.now()}@example.com`;
    const created = await app.bazaar.auth.createAdminIfMissing(app.bazaar.systemContext(), email, undefined);
    expect(created).toMatchObject({ created: true, email });
    expect(created.password).toMatch(/^[\x21-\x7e]{20,}$/);
    const signedIn = await login(app, email, created.password!);
    expect(signedIn.status).toBe(200);
    const who = await me(app, tokensOf(signedIn).access_token);
    expect(who.body.data).toMatchObject({ role: 'admin', email_verified: true });

    const again = await app.bazaar.auth.createAdminIfMissing(
      app.bazaar.systemContext(),
      email,
      'another admin password',
    );
    expect(again).toEqual({ created: false, email });
    await expect(
      app.bazaar.auth.createAdminIfMissing(app.bazaar.systemContext(), `weak-${email}`, 'password1234'),
    ).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
      message: expect.stringContaining('BAZAAR_ADMIN_PASSWORD'),
    });
  });

  it('erases every secret and session of an erased user', async () => {
    const user = await signUp(app);
    await app.api('POST', '/api/v1/auth/password/forgot', { email: user.email });
    expect((await app.api('DELETE', '/api/v1/users/me', undefined, user.accessToken)).status).toBe(204);
    const db = app.bazaar.database.db;
    for (const table of ['auth_credentials', 'auth_sessions', 'auth_email_tokens', 'auth_mfa_challenges']) {
      const rows = rowsOf(
        await db.execute(sql`select 1 from ${sql.identifier(table)} where user_id = ${user.userId}`),
      );
      expect(rows, table).toHaveLength(0);
    }
  });

  it('describes the issuer', async () => {
    const response = await app.api('GET', '/.well-known/openid-configuration');
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      issuer: app.bazaar.config.publicUrl,
      jwks_uri: `${app.bazaar.config.publicUrl}/.well-known/jwks.json`,
      token_endpoint: `${app.bazaar.config.publicUrl}/oauth/token`,
      grant_types_supported: ['refresh_token', 'client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      id_token_signing_alg_values_supported: ['RS256'],
    });
  });

  it('serves the link pages under a strict CSP, with the script as a separate file', async () => {
    for (const page of ['/account/reset-password', '/account/verify-email']) {
      const response = await app.request({ method: 'GET', url: page });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/html/);
      expect(response.headers['content-security-policy']).toBe(
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      );
      expect(response.body).toContain('<script src="/account/account.js"></script>');
      expect(response.body).not.toMatch(/<script>/);
    }
    const reset = await app.request({ method: 'GET', url: '/account/reset-password' });
    expect(reset.body).toMatch(
      /<label for="new-password">[^<]+<\/label>\s*<input id="new-password"[^>]*type="password"/,
    );
    const script = await app.request({ method: 'GET', url: '/account/account.js' });
    expect(script.headers['content-type']).toMatch(/javascript/);
    expect(script.body).toContain('location.hash');
  });
});

describe('brute-force limits', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({
      env: { RATE_LIMITS: generousLimits, LOGIN_LIMIT_PER_ACCOUNT: '5', LOGIN_LIMIT_PER_IP: '12' },
    });
  });
  afterAll(() => app.close());

  const attempt = (email: string, password: string, ip: string) =>
    app.request({
      method: 'POST',
      url: '/api/v1/auth/login',
      remoteAddress: ip,
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ email, password }),
    });

  it('answers unknown accounts and wrong passwords identically', async () => {
    const user = await signUp(app);
    const wrong = await attempt(user.email, 'not the password', '10.0.0.1');
    const unknown = await attempt('nobody-here@example.com', 'not the password', '10.0.0.1');
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json().error).toEqual(unknown.json().error);
    expect(wrong.json().error).toEqual({ code: 'AUTH_FAILED', message: 'Invalid e-mail or password.' });
  });

  it('limits failed sign-ins per account with 429 and Retry-After, even from many IPs', async () => {
    const user = await signUp(app);
    for (let i = 0; i < 5; i += 1)
      expect((await attempt(user.email, `wrong-${i}`, `10.1.0.${i}`)).statusCode).toBe(401);
    const limited = await attempt(user.email, user.password, '10.1.0.99');
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('RATE_LIMIT');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another account is unaffected.
    const other = await signUp(app);
    expect((await attempt(other.email, other.password, '10.1.0.99')).statusCode).toBe(200);
  });

  it('resets the account count on success', async () => {
    const user = await signUp(app);
    for (let i = 0; i < 4; i += 1) await attempt(user.email, 'wrong password', '10.2.0.1');
    expect((await attempt(user.email, user.password, '10.2.0.1')).statusCode).toBe(200);
    for (let i = 0; i < 4; i += 1)
      expect((await attempt(user.email, 'wrong password', '10.2.0.1')).statusCode).toBe(401);
  });

  it('records failed sign-ins in the audit log, without the password', async () => {
    const user = await signUp(app);
    await attempt(user.email, 'secret-guess-123', '10.3.0.1');
    const rows = rowsOf<{ action: string; target_id: string; metadata: unknown; ip: string }>(
      await app.bazaar.database.db.execute(
        sql`select action, target_id, metadata, ip::text as ip from audit_log where action = 'auth.login_failed' and target_id = ${user.userId}`,
      ),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.ip).toMatch(/^10\.3\.0\.1/);
    expect(JSON.stringify(rows[0])).not.toContain('secret-guess-123');
  });

  it('limits every attempt per IP', async () => {
    const user = await signUp(app);
    const statuses: number[] = [];
    for (let i = 0; i < 13; i += 1)
      statuses.push((await attempt(user.email, user.password, '10.9.9.9')).statusCode);
    expect(statuses.slice(0, 12).every((s) => s === 200)).toBe(true);
    expect(statuses[12]).toBe(429);
  });
});

describe('mail links (real SMTP on loopback)', () => {
  let smtp: SmtpCatcher;
  let app: TestApp;
  beforeAll(async () => {
    smtp = await startSmtpCatcher();
    app = await createTestApp({ work: true, env: { RATE_LIMITS: generousLimits, SMTP_URL: smtp.url } });
  });
  afterAll(async () => {
    await app.close();
    await smtp.close();
  });

  const tokenIn = (text: string, page: string) => {
    const match = new RegExp(`/account/${page}#token=([\\w-]+)`).exec(text);
    expect(match).not.toBeNull();
    return match![1]!;
  };

  it('verifies the e-mail address with the link from the sign-up mail, once', async () => {
    const user = await signUp(app);
    const mail = await smtp.waitForMail(user.email, (m) => m.subject.includes('Confirm'));
    const token = tokenIn(mail.text, 'verify-email');
    expect((await app.api('POST', '/api/v1/auth/email/verify', { token })).status).toBe(200);
    expect((await me(app, user.accessToken)).body.data.email_verified).toBe(true);
    const again = await app.api('POST', '/api/v1/auth/email/verify', { token });
    expect(again.status).toBe(400);
    expect(
      (await app.api('POST', '/api/v1/auth/email/verification', undefined, user.accessToken)).status,
    ).toBe(409);
  });

  it('resets the password with the mailed link exactly once, ending every session', async () => {
    const user = await signUp(app);
    const known = await app.api('POST', '/api/v1/auth/password/forgot', { email: user.email });
    const unknown = await app.api('POST', '/api/v1/auth/password/forgot', {
      email: 'no-such-user@example.com',
    });
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect(known.body.data).toEqual(unknown.body.data);
    expect(Object.keys(known.body as object).sort()).toEqual(Object.keys(unknown.body as object).sort());

    const mail = await smtp.waitForMail(user.email, (m) => m.subject.includes('Reset'));
    expect(mail.headers['x-bazaar-template']).toBe('password-reset');
    const token = tokenIn(mail.text, 'reset-password');
    expect(mail.raw).not.toMatch(/reset-password\?token=/);

    const weak = await app.api('POST', '/api/v1/auth/password/reset', { token, new_password: 'password' });
    expect(weak.status).toBe(400);
    const reset = await app.api('POST', '/api/v1/auth/password/reset', {
      token,
      new_password: 'a completely new one',
    });
    expect(reset.status).toBe(200);
    expect(reset.body.data).toEqual({ password_reset: true });
    const second = await app.api('POST', '/api/v1/auth/password/reset', {
      token,
      new_password: 'yet another new one',
    });
    expect(second.status).toBe(400);
    expect(second.body.error.details[0].field).toBe('token');

    expectAuthFailed(await me(app, user.accessToken));
    expectAuthFailed(await refresh(app, user.refreshToken));
    expectAuthFailed(await login(app, user.email, user.password));
    expect((await login(app, user.email, 'a completely new one')).status).toBe(200);
    expect(smtp.messages.some((m) => m.to.includes('no-such-user@example.com'))).toBe(false);
  });

  it('does not let a reset skip the second factor', async () => {
    const user = await signUp(app);
    const enroll = await app.api('POST', '/api/v1/auth/mfa/totp/enroll', undefined, user.accessToken);
    const { secret } = enroll.body.data as { secret: string };
    await app.api('POST', '/api/v1/auth/mfa/totp/confirm', { code: totp(secret) }, user.accessToken);
    await app.api('POST', '/api/v1/auth/password/forgot', { email: user.email });
    const mail = await smtp.waitForMail(user.email, (m) => m.subject.includes('Reset'));
    await app.api('POST', '/api/v1/auth/password/reset', {
      token: tokenIn(mail.text, 'reset-password'),
      new_password: 'fresh and long enough',
    });
    const next = await login(app, user.email, 'fresh and long enough');
    expect(next.body.data).toMatchObject({ mfa_required: true });
  });
});

function decodeSid(token: string): string {
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as {
    sid: string;
  };
  return payload.sid;
}
