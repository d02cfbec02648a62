import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signInAdmin, signUp, type TestApp } from './helpers/app.js';

describe('users', () => {
  let app: TestApp;
  let admin: Awaited<ReturnType<typeof signInAdmin>>;
  beforeAll(async () => {
    app = await createTestApp();
    admin = await signInAdmin(app);
  });
  afterAll(() => app.close());

  it('reads and updates the own profile, but never role or status (no mass assignment)', async () => {
    const user = await signUp(app, { name: 'Grace' });
    const me = await app.api('GET', '/api/v1/users/me', undefined, user.accessToken);
    expect(me.status).toBe(200);
    expect(me.body.data).toMatchObject({
      id: user.userId,
      email: user.email,
      name: 'Grace',
      role: 'user',
      status: 'active',
      email_verified: false,
    });
    expect(me.body.data).not.toHaveProperty('password_hash');

    const renamed = await app.api('PATCH', '/api/v1/users/me', { name: 'Grace Hopper' }, user.accessToken);
    expect(renamed.body.data.name).toBe('Grace Hopper');

    for (const body of [{ role: 'admin' }, { status: 'active' }, { name: 'x', role: 'admin' }]) {
      const res = await app.api('PATCH', '/api/v1/users/me', body, user.accessToken);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
    }
    const after = await app.api('GET', '/api/v1/users/me', undefined, user.accessToken);
    expect(after.body.data.role).toBe('user');
    // A customer cannot use the admin route either.
    const escalate = await app.api(
      'PATCH',
      `/api/v1/users/${user.userId}`,
      { role: 'admin' },
      user.accessToken,
    );
    expect(escalate.status).toBe(403);
  });

  it('never shows one user another user’s profile (404, not 200)', async () => {
    const alice = await signUp(app);
    const bob = await signUp(app);
    const peek = await app.api('GET', `/api/v1/users/${bob.userId}`, undefined, alice.accessToken);
    expect(peek.status).toBe(404);
    expect(peek.body.error.code).toBe('NOT_FOUND');
    const own = await app.api('GET', `/api/v1/users/${alice.userId}`, undefined, alice.accessToken);
    expect(own.status).toBe(200);
    const list = await app.api('GET', '/api/v1/users', undefined, alice.accessToken);
    expect(list.status).toBe(403);
  });

  it('stores preferences and rejects unknown or malformed ones', async () => {
    const user = await signUp(app);
    const defaults = await app.api('GET', '/api/v1/users/me/preferences', undefined, user.accessToken);
    expect(defaults.body.data).toEqual({
      locale: 'en',
      timezone: 'UTC',
      currency: 'USD',
      marketing_emails: false,
    });
    const prefs = { locale: 'de-DE', timezone: 'Europe/Berlin', currency: 'EUR', marketing_emails: true };
    expect((await app.api('PUT', '/api/v1/users/me/preferences', prefs, user.accessToken)).body.data).toEqual(
      prefs,
    );
    expect(
      (await app.api('GET', '/api/v1/users/me/preferences', undefined, user.accessToken)).body.data,
    ).toEqual(prefs);
    const bad = await app.api(
      'PUT',
      '/api/v1/users/me/preferences',
      { ...prefs, currency: 'euro', theme: 'dark' },
      user.accessToken,
    );
    expect(bad.status).toBe(400);
  });

  it('exports all my data and erases my account, keeping the audit trail', async () => {
    const user = await signUp(app, { name: 'Erin' });
    const exported = await app.api('GET', '/api/v1/users/me/export', undefined, user.accessToken);
    expect(exported.status).toBe(200);
    expect(exported.body.data.user).toMatchObject({ id: user.userId, email: user.email, name: 'Erin' });
    expect(exported.body.data.preferences).toBeDefined();
    expect(exported.body.data.auth.sessions.length).toBeGreaterThan(0);
    expect(JSON.stringify(exported.body)).not.toMatch(/password_hash|token_hash|\$argon2/);

    const erased = await app.api('DELETE', '/api/v1/users/me', undefined, user.accessToken);
    expect(erased.status).toBe(204);
    // The access token dies with the account, and the old credentials no longer sign in.
    expect((await app.api('GET', '/api/v1/users/me', undefined, user.accessToken)).status).toBe(401);
    expect(
      (await app.api('POST', '/api/v1/auth/login', { email: user.email, password: user.password })).status,
    ).toBe(401);
    expect((await app.api('POST', '/api/v1/auth/refresh', { refresh_token: user.refreshToken })).status).toBe(
      401,
    );

    const record = await app.api('GET', `/api/v1/users/${user.userId}`, undefined, admin.accessToken);
    expect(record.status).toBe(404);
    const search = await app.api(
      'GET',
      `/api/v1/users?q=${encodeURIComponent(user.email)}`,
      undefined,
      admin.accessToken,
    );
    expect(search.body.meta.total).toBe(0);
    const trail = await app.api(
      'GET',
      `/api/v1/admin/audit-log?target_id=${user.userId}&action=user.erased`,
      undefined,
      admin.accessToken,
    );
    expect(trail.body.data).toHaveLength(1);
    // The email can be used again by a new account.
    await signUp(app, { email: user.email });
  });

  it('lets admins search, filter, sort and paginate users with meta and links', async () => {
    const tag = `pager${Date.now()}`;
    for (let i = 0; i < 5; i += 1)
      await signUp(app, { email: `${tag}-${i}@example.com`, name: `Pager ${i}` });
    const page1 = await app.api(
      'GET',
      `/api/v1/users?q=${tag}&per_page=2&sort=email`,
      undefined,
      admin.accessToken,
    );
    expect(page1.status).toBe(200);
    expect(page1.body.meta).toEqual({ page: 1, per_page: 2, total: 5, total_pages: 3 });
    expect(page1.body.data.map((u: { email: string }) => u.email)).toEqual([
      `${tag}-0@example.com`,
      `${tag}-1@example.com`,
    ]);
    expect(page1.body.links.next).toContain('page=2');
    expect(page1.body.links.prev).toBeNull();
    const page3 = await app.api('GET', page1.body.links.last, undefined, admin.accessToken);
    expect(page3.body.data.map((u: { email: string }) => u.email)).toEqual([`${tag}-4@example.com`]);
    const admins = await app.api('GET', '/api/v1/users?role=admin', undefined, admin.accessToken);
    expect(admins.body.data.every((u: { role: string }) => u.role === 'admin')).toBe(true);
    const tooBig = await app.api('GET', '/api/v1/users?per_page=1000', undefined, admin.accessToken);
    expect(tooBig.status).toBe(400);
  });

  it('changes roles with an audited diff, and deactivation ends every session at once', async () => {
    const user = await signUp(app);
    const promoted = await app.api(
      'PATCH',
      `/api/v1/users/${user.userId}`,
      { role: 'admin' },
      admin.accessToken,
    );
    expect(promoted.body.data.role).toBe('admin');
    // The new role applies to the existing token at once.
    expect((await app.api('GET', '/api/v1/users', undefined, user.accessToken)).status).toBe(200);
    const log = await app.api(
      'GET',
      `/api/v1/admin/audit-log?target_id=${user.userId}&action=user.role_changed`,
      undefined,
      admin.accessToken,
    );
    expect(log.body.data[0]).toMatchObject({
      actor_type: 'user',
      diff: { role: { from: 'user', to: 'admin' } },
      request_id: promoted.body.request_id,
    });

    const deactivated = await app.api(
      'POST',
      `/api/v1/users/${user.userId}/deactivate`,
      undefined,
      admin.accessToken,
    );
    expect(deactivated.body.data.status).toBe('deactivated');
    expect((await app.api('GET', '/api/v1/users/me', undefined, user.accessToken)).status).toBe(401);
    expect((await app.api('POST', '/api/v1/auth/refresh', { refresh_token: user.refreshToken })).status).toBe(
      401,
    );
    expect(
      (await app.api('POST', '/api/v1/auth/login', { email: user.email, password: user.password })).status,
    ).toBe(401);

    await app.api('POST', `/api/v1/users/${user.userId}/reactivate`, undefined, admin.accessToken);
    expect(
      (await app.api('POST', '/api/v1/auth/login', { email: user.email, password: user.password })).status,
    ).toBe(200);
  });

  it('keeps the audit log append-only and admin-only', async () => {
    const user = await signUp(app);
    expect((await app.api('GET', '/api/v1/admin/audit-log', undefined, user.accessToken)).status).toBe(403);
    const { sql } = await import('drizzle-orm');
    const appendOnly = (error: Error & { cause?: Error }) =>
      /append-only/.test(`${error.message} ${error.cause?.message}`);
    await expect(app.bazaar.database.db.execute(sql`update audit_log set action = 'x'`)).rejects.toSatisfy(
      appendOnly,
    );
    await expect(app.bazaar.database.db.execute(sql`delete from audit_log`)).rejects.toSatisfy(appendOnly);
  });
});
