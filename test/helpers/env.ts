/** The environment a test server gets: the developer's services when their URLs are set, else embedded. */
export const testDatabaseUrl = process.env.DATABASE_URL || undefined;
export const testRedisUrl = process.env.REDIS_URL || undefined;

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export function baseEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SEED_DEMO_DATA: 'false',
    JOB_RETRY_DELAY: '1',
    // Every test client comes from 127.0.0.1: per-IP limits would throttle the suite itself.
    // Tests of the limits set their own values.
    RATE_LIMITS:
      'POST /api/v1/auth/register=10000/60,POST /api/v1/auth/login=10000/60,POST /api/v1/auth/refresh=10000/60',
    LOGIN_LIMIT_PER_IP: '10000',
    ...(testRedisUrl ? { REDIS_URL: testRedisUrl } : {}),
    ...overrides,
  };
}
