import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';

/** The gateway conventions every route shares: envelope, request id, error codes, ops endpoints. */
describe('HTTP platform', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { BODY_LIMIT: '2048' } });
  });
  afterAll(() => app.close());

  it('answers an unknown route with the 404 envelope and a request id', async () => {
    const res = await app.api('GET', '/api/v1/nope');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      request_id: expect.any(String),
      error: { code: 'NOT_FOUND', message: expect.any(String) },
    });
    expect(res.headers['x-request-id']).toBe(res.body.request_id);
  });

  it('echoes a well-formed X-Request-Id and replaces a hostile one', async () => {
    const good = await app.api('GET', '/healthz', undefined, undefined, { 'x-request-id': 'trace-abc.123' });
    expect(good.headers['x-request-id']).toBe('trace-abc.123');
    const bad = await app.api('GET', '/api/v1/nope', undefined, undefined, {
      'x-request-id': '<script>alert(1)</script>',
    });
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(bad.body.request_id).toBe(bad.headers['x-request-id']);
  });

  it('rejects malformed JSON with 400 VALIDATION_ERROR, no stack trace', async () => {
    const res = await app.request({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: '{"email": ',
    });
    expect(res.statusCode).toBe(400);
    const body = JSON.parse(res.body);
    expect(body.error.code).toBe('VALIDATION_ERROR');
    expect(res.body).not.toMatch(/at .*\.(js|ts):\d+/);
  });

  it('rejects a wrong content type with 415', async () => {
    const res = await app.request({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { 'content-type': 'text/xml' },
      payload: '<a/>',
    });
    expect(res.statusCode).toBe(415);
    expect(JSON.parse(res.body).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('rejects an oversized body with 413', async () => {
    const res = await app.api('POST', '/api/v1/auth/login', { email: 'a@b.co', password: 'x'.repeat(4096) });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('reports validation failures per field, and unknown fields too', async () => {
    const res = await app.api('POST', '/api/v1/auth/register', {
      email: 'not-an-email',
      password: 5,
      name: 'x',
      role: 'admin',
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
    const fields = (res.body.error.details as { field: string }[]).map((d) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['email', 'password']));
    expect(fields.some((f) => f.includes('role'))).toBe(true);
  });

  it('rejects a missing or garbage bearer token with 401 in the envelope', async () => {
    for (const authorization of [undefined, 'Bearer', 'Bearer not.a.jwt', 'Basic abc']) {
      const res = await app.api(
        'GET',
        '/api/v1/users/me',
        undefined,
        undefined,
        authorization ? { authorization } : {},
      );
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('AUTH_FAILED');
    }
  });

  it('serves health, readiness and Prometheus metrics', async () => {
    expect((await app.api('GET', '/healthz')).body).toEqual({ status: 'ok' });
    const ready = await app.api('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks.map((c: { name: string }) => c.name)).toEqual(
      expect.arrayContaining(['database', 'jobs']),
    );
    await app.api('GET', '/api/v1/nope');
    const metrics = await app.request({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain('bazaar_http_requests_total{method="GET",route="unmatched",status="404"}');
    expect(metrics.body).toContain('bazaar_http_request_duration_seconds_bucket');
    expect(metrics.body).toContain('bazaar_process_cpu_seconds_total');
  });

  it('publishes an OpenAPI 3.1 document and the docs UI', async () => {
    const doc = await app.api('GET', '/api/v1/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/api/v1/auth/login', '/api/v1/users/me', '/api/v1/admin/audit-log']),
    );
    const docs = await app.request({ method: 'GET', url: '/docs' });
    expect([200, 302]).toContain(docs.statusCode);
  });

  it('sets security headers on every response, errors included', async () => {
    const res = await app.api('GET', '/api/v1/nope');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['content-type']).toContain('charset=utf-8');
  });
});

describe('rate limits', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { RATE_LIMITS: 'POST /api/v1/auth/verify=3/60' } });
  });
  afterAll(() => app.close());

  it('counts per endpoint and caller, sends RateLimit headers, then 429 with Retry-After', async () => {
    const call = (headers: Record<string, string> = {}) =>
      app.api('POST', '/api/v1/auth/verify', { token: 'x' }, undefined, headers);
    const first = await call();
    expect(first.headers['ratelimit-limit']).toBe('3');
    expect(first.headers['ratelimit-remaining']).toBe('2');
    expect(Number(first.headers['ratelimit-reset'])).toBeGreaterThan(0);
    await call();
    await call();
    // Without TRUST_PROXY a forged X-Forwarded-For does not make a new caller.
    const limited = await call({ 'x-forwarded-for': '203.0.113.9' });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('RATE_LIMIT');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Other endpoints have their own budget.
    expect((await app.api('GET', '/api/v1/openapi.json')).status).toBe(200);
  });
});

describe('when Redis is unreachable', () => {
  let app: TestApp;
  beforeAll(async () => {
    // Port 9 (discard) on loopback: nothing listens, connections are refused at once.
    app = await createTestApp({ env: { REDIS_URL: 'redis://127.0.0.1:9/0' } });
  });
  afterAll(() => app.close());

  it('keeps serving ordinary endpoints (fail open) but refuses credential endpoints (fail closed)', async () => {
    const open = await app.api('GET', '/api/v1/openapi.json');
    expect(open.status).toBe(200);
    expect(open.headers['ratelimit-limit']).toBeUndefined();
    const login = await app.api('POST', '/api/v1/auth/login', {
      email: 'someone@example.com',
      password: 'whatever-password',
    });
    expect(login.status).toBe(503);
    expect(login.body.error.code).toBe('SERVICE_UNAVAILABLE');
    expect(Number(login.headers['retry-after'])).toBeGreaterThan(0);
    const ready = await app.api('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.checks.find((c: { name: string }) => c.name === 'redis').ok).toBe(false);
  });
});
