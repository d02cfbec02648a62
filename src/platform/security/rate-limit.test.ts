import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { createLimiter } from './rate-limit.js';

describe('createLimiter (memory)', () => {
  it('allows `points` attempts per window, then says how long to wait', async () => {
    const limiter = createLimiter({ keyPrefix: 'test', points: 2, durationSeconds: 60 });
    expect(await limiter.consume('k')).toMatchObject({ allowed: true, remaining: 1 });
    expect(await limiter.consume('k')).toMatchObject({ allowed: true, remaining: 0 });
    const refused = await limiter.consume('k');
    expect(refused.allowed).toBe(false);
    if (!refused.allowed) expect(refused.retryAfterSeconds).toBeGreaterThan(55);
    expect(await limiter.consume('other')).toMatchObject({ allowed: true });
  });

  it('forgets a key on delete and gives points back on reward', async () => {
    const limiter = createLimiter({ keyPrefix: 'test', points: 1, durationSeconds: 60 });
    await limiter.consume('k');
    expect((await limiter.consume('k')).allowed).toBe(false);
    await limiter.delete('k');
    expect((await limiter.consume('k')).allowed).toBe(true);
    await limiter.reward('k');
    expect((await limiter.consume('k')).allowed).toBe(true);
  });
});

describe('createLimiter (Redis unreachable)', () => {
  it('fails closed with SERVICE_UNAVAILABLE and a retry hint', async () => {
    // Never connected: the client is not ready, as when Redis is down.
    const redis = new Redis({ lazyConnect: true, enableOfflineQueue: false });
    try {
      const limiter = createLimiter({ redis, keyPrefix: 'test', points: 5, durationSeconds: 60 });
      const error = await limiter.consume('k').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfter: 5 });
      await expect(limiter.delete('k')).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    } finally {
      redis.disconnect();
    }
  });
});
