import { sql } from 'drizzle-orm';
import { decodeProtectedHeader, errors } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, waitFor, type TestApp } from '../../../test/helpers/app.js';
import { systemContext } from '../../platform/context.js';
import { rowsOf } from '../../platform/db/client.js';
import { SigningKeys, type AccessTokenClaims } from './keys.js';

const claims: AccessTokenClaims = {
  subject: '0b6a8a9e-52f3-4c9f-9f0e-1f9d0a6c1d2e',
  roles: ['user'],
  scope: ['profile:read', 'orders:read:own'],
  sessionId: '5f0e2c1a-0d64-4c4e-9a57-3c1f8f3d2b10',
};

describe('SigningKeys', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp();
  });
  afterAll(() => app.close());

  const db = () => app.bazaar.database.db;
  const unretiredKeys = async () =>
    rowsOf<{ kid: string }>(
      await db().execute(sql`select kid from auth_signing_keys where retired_at is null`),
    );

  it('creates one key at startup, however often ensure runs', async () => {
    const keys = new SigningKeys(app.bazaar.config);
    await Promise.all([keys.ensure(db()), keys.ensure(db())]);
    expect(await unretiredKeys()).toHaveLength(1);
  });

  it('signs RS256 access tokens with kid and typ, and verifies them', async () => {
    const keys = new SigningKeys(app.bazaar.config);
    const token = await keys.sign(db(), claims);
    expect(decodeProtectedHeader(token)).toMatchObject({
      alg: 'RS256',
      typ: 'at+jwt',
      kid: (await unretiredKeys())[0]!.kid,
    });
    const payload = await keys.verify(db(), token);
    expect(payload).toMatchObject({
      iss: app.bazaar.config.publicUrl,
      aud: app.bazaar.config.JWT_AUDIENCE,
      sub: claims.subject,
      sid: claims.sessionId,
      roles: ['user'],
      scope: 'profile:read orders:read:own',
    });
    expect(payload.exp - payload.iat!).toBe(app.bazaar.config.ACCESS_TOKEN_TTL);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers a token it verified before only while the token lives and its key is published', async () => {
    const shortLived = new SigningKeys({ ...app.bazaar.config, ACCESS_TOKEN_TTL: 1 });
    const token = await shortLived.sign(db(), claims);
    expect((await shortLived.verify(db(), token)).sub).toBe(claims.subject);
    expect(Object.isFrozen(await shortLived.verify(db(), token))).toBe(true);
    // Expiry (plus jose's 5 s of clock tolerance) ends it, remembered or not.
    await waitFor(
      () =>
        shortLived.verify(db(), token).then(
          () => undefined,
          (error: unknown) => (error instanceof errors.JWTExpired ? true : undefined),
        ),
      15_000,
      'the token to expire',
    );

    // A key that is no longer published (removed, not just retired) takes its tokens with it.
    const keys = new SigningKeys(app.bazaar.config);
    const live = await keys.sign(db(), claims);
    expect((await keys.verify(db(), live)).sub).toBe(claims.subject);
    const { kid } = decodeProtectedHeader(live);
    await db().execute(sql`delete from auth_signing_keys where kid = ${kid}`);
    await keys.ensure(db()); // a new key, and the published set reloaded without the old one
    await expect(keys.verify(db(), live)).rejects.toBeInstanceOf(errors.JOSEError);
  });

  it('refuses a token whose payload was altered', async () => {
    const keys = new SigningKeys(app.bazaar.config);
    const [header, , signature] = (await keys.sign(db(), claims)).split('.');
    const forged = Buffer.from(JSON.stringify({ sub: claims.subject, roles: ['admin'] })).toString(
      'base64url',
    );
    await expect(keys.verify(db(), `${header}.${forged}.${signature}`)).rejects.toBeInstanceOf(
      errors.JOSEError,
    );
  });

  it('lets two servers agree after one of them rotates: old and new tokens verify on both', async () => {
    const serverA = new SigningKeys(app.bazaar.config);
    const serverB = new SigningKeys(app.bazaar.config);
    const before = await serverA.sign(db(), claims);
    await serverB.verify(db(), before);

    const { kid } = await serverA.rotate(systemContext(db()));
    const after = await serverA.sign(db(), claims);
    expect(decodeProtectedHeader(after).kid).toBe(kid);
    // serverB has never seen the new kid: it re-reads the keys instead of refusing the token.
    await expect(serverB.verify(db(), after)).resolves.toMatchObject({ sub: claims.subject });
    await expect(serverB.verify(db(), before)).resolves.toMatchObject({ sub: claims.subject });

    const published = (await serverB.jwks(db())).keys.map((k) => k.kid);
    expect(published).toContain(kid);
    expect(published).toContain(decodeProtectedHeader(before).kid);
    expect(await unretiredKeys()).toEqual([{ kid }]);
    const audit = rowsOf<{ action: string }>(
      await db().execute(
        sql`select action from audit_log where action = 'auth.key_rotated' and target_id = ${kid}`,
      ),
    );
    expect(audit).toHaveLength(1);
  });

  it('publishes public keys only', async () => {
    const { keys } = await new SigningKeys(app.bazaar.config).jwks(db());
    for (const key of keys) {
      expect(Object.keys(key).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
      expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', e: 'AQAB' });
    }
  });

  it('seals private keys at rest when KEY_ENCRYPTION_KEY is set', async () => {
    const sealed = new SigningKeys({ ...app.bazaar.config, KEY_ENCRYPTION_KEY: 'k'.repeat(40) });
    const { kid } = await sealed.rotate(systemContext(db()));
    const [row] = rowsOf<{ private_key: string }>(
      await db().execute(sql`select private_key from auth_signing_keys where kid = ${kid}`),
    );
    expect(row!.private_key).toMatch(/^v1:/);
    expect(row!.private_key).not.toContain('PRIVATE KEY');
    await expect(sealed.verify(db(), await sealed.sign(db(), claims))).resolves.toMatchObject({
      sub: claims.subject,
    });
  });
});
