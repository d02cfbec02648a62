import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultRateRules, parseRateLimits } from '../src/platform/http/rate-limit.js';
import { createTestApp, signUp, waitFor, type TestApp } from './helpers/app.js';
import { OwnRedis, redisServerBinary } from './helpers/redis-server.js';

const openapi = (app: TestApp, headers: Record<string, string> = {}) =>
  app.api('GET', '/api/v1/openapi.json', undefined, undefined, headers);

describe('rate-limit table', () => {
  it('has the designed defaults, and RATE_LIMITS overrides them in either path style', () => {
    expect(defaultRateRules['GET /api/v1/users']).toMatchObject({ limit: 100, windowSeconds: 60 });
    expect(defaultRateRules['GET /api/v1/users/:id']).toMatchObject({ limit: 300, windowSeconds: 60 });
    expect(defaultRateRules['POST /api/v1/orders']).toMatchObject({ limit: 30, windowSeconds: 60 });
    expect(defaultRateRules['GET /api/v1/orders/:id']).toMatchObject({ limit: 300, windowSeconds: 60 });
    expect(defaultRateRules['POST /api/v1/auth/login']?.failClosed).toBe(true);
    expect(parseRateLimits('GET /api/v1/users/{id}=5/10, POST /api/v1/orders=7/60')).toEqual({
      'GET /api/v1/users/:id': { limit: 5, windowSeconds: 10 },
      'POST /api/v1/orders': { limit: 7, windowSeconds: 60 },
    });
    expect(() => parseRateLimits('GET /x=lots')).toThrow(/RATE_LIMITS/);
  });
});

describe('rate limits (embedded counters, or the run’s Redis)', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({
      env: {
        RATE_LIMITS: 'GET /api/v1/openapi.json=3/2,GET /api/v1/auth/me=2/60',
        RATE_LIMIT_DEFAULT: '4',
      },
    });
  });
  afterAll(() => app.close());

  it('refuses exactly the request after the configured count, then resets with the window', async () => {
    // A window starts with its first request. Retry the burst until it fits in one window
    // (a slow machine may straddle two), without asserting inside the retries.
    const burst = async () => {
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await openapi(app));
      const shape = answers.map((r) => `${r.status}:${String(r.headers['ratelimit-remaining'])}`).join();
      return shape === '200:2,200:1,200:0,429:0' ? answers : undefined;
    };
    const answers = await waitFor(burst, 20_000, 'a burst within one window');
    expect(answers[0]!.headers['ratelimit-limit']).toBe('3');
    const limited = answers[3]!;
    expect(limited.body.error.code).toBe('RATE_LIMIT');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers['ratelimit-reset'])).toBeGreaterThanOrEqual(1);
    const fresh = await waitFor(
      async () => {
        const res = await openapi(app);
        return res.status === 200 ? res : undefined;
      },
      5000,
      'the window to reset',
    );
    expect(fresh.headers['ratelimit-remaining']).toBe('2');
  });

  it('counts per signed-in user, not per IP', async () => {
    const alice = await signUp(app);
    const bob = await signUp(app);
    const me = (token: string) => app.api('GET', '/api/v1/auth/me', undefined, token);
    expect((await me(alice.accessToken)).status).toBe(200);
    expect((await me(alice.accessToken)).status).toBe(200);
    expect((await me(alice.accessToken)).status).toBe(429);
    // Same IP, another user: a budget of its own.
    const other = await me(bob.accessToken);
    expect(other.status).toBe(200);
    expect(other.headers['ratelimit-remaining']).toBe('1');
  });

  it('applies RATE_LIMIT_DEFAULT to endpoints without their own limit', async () => {
    const res = await app.api('GET', '/api/v1/products');
    expect(res.headers['ratelimit-limit']).toBe('4');
  });

  it('ignores a spoofed X-Forwarded-For without TRUST_PROXY', async () => {
    await waitFor(async () => {
      const res = await openapi(app, { 'x-forwarded-for': '198.51.100.1' });
      return res.status === 429 ? res : undefined;
    });
    // Each request claims another client address; all of them share the real caller's budget.
    for (const ip of ['198.51.100.2', '203.0.113.7', '10.0.0.1']) {
      expect((await openapi(app, { 'x-forwarded-for': ip })).status).toBe(429);
    }
  });
});

describe('rate limits behind a trusted proxy', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({
      env: { RATE_LIMITS: 'GET /api/v1/openapi.json=1/60', TRUST_PROXY: '127.0.0.1' },
    });
  });
  afterAll(() => app.close());

  it('counts the client named by the proxy’s X-Forwarded-For', async () => {
    expect((await openapi(app, { 'x-forwarded-for': '198.51.100.1' })).status).toBe(200);
    expect((await openapi(app, { 'x-forwarded-for': '198.51.100.1' })).status).toBe(429);
    expect((await openapi(app, { 'x-forwarded-for': '198.51.100.2' })).status).toBe(200);
  });
});

describe('RATE_LIMIT_STORE_DOWN=open with Redis unreachable', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { REDIS_URL: 'redis://127.0.0.1:9/0', RATE_LIMIT_STORE_DOWN: 'open' } });
  });
  afterAll(() => app.close());

  it('lets sign-in through to the credential check', async () => {
    const login = await app.api('POST', '/api/v1/auth/login', {
      email: 'nobody@example.com',
      password: 'whatever-password',
    });
    expect(login.status).toBe(401);
    expect(login.body.error.code).toBe('AUTH_FAILED');
  });
});

describe.runIf(redisServerBinary)('rate limits on a Redis of the test’s own', () => {
  let redis: OwnRedis;
  let first: TestApp;
  let second: TestApp;
  beforeAll(async () => {
    redis = await OwnRedis.start();
    const env = {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `rl-shared-${redis.port}:`,
      RATE_LIMITS: 'GET /api/v1/openapi.json=4/60,POST /api/v1/auth/login=1000/60',
    };
    first = await createTestApp({ env });
    second = await createTestApp({ env });
  });
  afterAll(async () => {
    await first?.close();
    await second?.close();
    await redis?.kill();
  });

  it('shares one limit between two server instances', async () => {
    expect((await openapi(first)).headers['ratelimit-remaining']).toBe('3');
    expect((await openapi(second)).headers['ratelimit-remaining']).toBe('2');
    expect((await openapi(first)).headers['ratelimit-remaining']).toBe('1');
    expect((await openapi(second)).headers['ratelimit-remaining']).toBe('0');
    expect((await openapi(first)).status).toBe(429);
    expect((await openapi(second)).status).toBe(429);
  });

  it('fails open for ordinary endpoints and closed for sign-in while Redis is down, and recovers', async () => {
    const login = () =>
      first.api('POST', '/api/v1/auth/login', { email: 'nobody@example.com', password: 'whatever-password' });
    expect((await login()).status).toBe(401);

    await redis.kill();
    const served = await waitFor(
      async () => {
        const res = await openapi(first);
        return res.status === 200 ? res : undefined;
      },
      10_000,
      'fail-open serving',
    );
    expect(served.headers['ratelimit-limit']).toBeUndefined();
    const refused = await login();
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('SERVICE_UNAVAILABLE');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);

    await redis.restart();
    // The client reconnects by itself; the restarted Redis is empty, so the budget starts over.
    const limited = await waitFor(
      async () => {
        const res = await openapi(first);
        return res.headers['ratelimit-limit'] === '4' ? res : undefined;
      },
      15_000,
      'the limiter to use Redis again',
    );
    expect(limited.headers['ratelimit-remaining']).toBe('3');
    await waitFor(
      async () => ((await login()).status === 401 ? true : undefined),
      15_000,
      'sign-in to recover',
    );
  });
});

describe('starting while Redis is unreachable', () => {
  let app: TestApp;
  beforeAll(async () => {
    // Port 1 refuses connections at once: start-up waits its bounded time, then serves degraded.
    app = await createTestApp({
      env: { REDIS_URL: 'redis://127.0.0.1:1', REDIS_KEY_PREFIX: 'rl-down-at-start:' },
    });
  });
  afterAll(() => app?.close());

  it('serves ordinary endpoints without limits and refuses sign-in until Redis answers', async () => {
    const served = await openapi(app);
    expect(served.status).toBe(200);
    expect(served.headers['ratelimit-limit']).toBeUndefined();
    const login = await app.api('POST', '/api/v1/auth/login', {
      email: 'nobody@example.com',
      password: 'whatever-password',
    });
    expect(login.status).toBe(503);
    expect(login.body.error.code).toBe('SERVICE_UNAVAILABLE');
  });
});
