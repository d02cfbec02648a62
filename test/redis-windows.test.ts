import { once } from 'node:events';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLimiter } from '../src/platform/security/rate-limit.js';
import { OwnRedis, redisServerBinary } from './helpers/redis-server.js';

// Rate-limit counters in Redis, changed once per turn of the event loop (src/platform/security/redis-windows.ts).
describe.runIf(redisServerBinary)('rate-limit counters in Redis', () => {
  let server: OwnRedis;
  let redis: Redis;
  let other: Redis;
  let prefixes = 0;
  const prefix = () => `windows-${++prefixes}`;

  beforeAll(async () => {
    server = await OwnRedis.start();
    redis = new Redis(server.url, { enableAutoPipelining: true });
    other = new Redis(server.url);
    await Promise.all([once(redis, 'ready'), once(other, 'ready')]);
  });
  afterAll(async () => {
    redis?.disconnect();
    other?.disconnect();
    await server?.kill();
  });

  it('counts the attempts of one turn in one script call, each with the count its own attempt reached', async () => {
    const keyPrefix = prefix();
    const limiter = createLimiter({ redis, keyPrefix, points: 3, durationSeconds: 60 });
    const commands = await recordCommands(async () => {
      const results = await Promise.all(Array.from({ length: 5 }, () => limiter.consume('client')));
      expect(results.slice(0, 3)).toEqual([
        { allowed: true, remaining: 2, resetSeconds: 60 },
        { allowed: true, remaining: 1, resetSeconds: 60 },
        { allowed: true, remaining: 0, resetSeconds: 60 },
      ]);
      expect(results.slice(3)).toEqual([
        { allowed: false, retryAfterSeconds: 60 },
        { allowed: false, retryAfterSeconds: 60 },
      ]);
    });
    expect(commands.filter((c) => c.includes(keyPrefix))).toHaveLength(1);
    expect(await other.get(`${keyPrefix}:client`)).toBe('5');
    const ttl = await other.pttl(`${keyPrefix}:client`);
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('keeps the keys and windows of different limiters apart within one call', async () => {
    const keyPrefix = prefix();
    const short = createLimiter({ redis, keyPrefix: `${keyPrefix}-short`, points: 1, durationSeconds: 10 });
    const long = createLimiter({ redis, keyPrefix: `${keyPrefix}-long`, points: 2, durationSeconds: 3600 });
    const commands = await recordCommands(async () => {
      const [a, b, c, d] = await Promise.all([
        short.consume('x'),
        long.consume('x'),
        short.consume('y'),
        long.consume('x', 2),
      ]);
      expect(a).toEqual({ allowed: true, remaining: 0, resetSeconds: 10 });
      expect(b).toEqual({ allowed: true, remaining: 1, resetSeconds: 3600 });
      expect(c).toEqual({ allowed: true, remaining: 0, resetSeconds: 10 });
      expect(d).toEqual({ allowed: false, retryAfterSeconds: 3600 });
    });
    expect(commands.filter((command) => command.includes(keyPrefix))).toHaveLength(1);
    expect(await other.pttl(`${keyPrefix}-short:x`)).toBeLessThanOrEqual(10_000);
    expect(await other.pttl(`${keyPrefix}-long:x`)).toBeGreaterThan(3_500_000);
  });

  it('shares counters between processes and with counters rate-limiter-flexible wrote', async () => {
    const keyPrefix = prefix();
    // Another server of an older release, counting with the library's own script.
    const older = new RateLimiterRedis({ storeClient: other, keyPrefix, points: 4, duration: 60 });
    await older.consume('client', 2);
    const limiter = createLimiter({ redis, keyPrefix, points: 4, durationSeconds: 60 });
    expect(await limiter.consume('client')).toMatchObject({ allowed: true, remaining: 1 });
    await older.consume('client');
    expect(await limiter.consume('client')).toMatchObject({ allowed: false });
  });

  it('gives points back on reward and forgets a key on delete', async () => {
    const limiter = createLimiter({ redis, keyPrefix: prefix(), points: 1, durationSeconds: 60 });
    await limiter.consume('k');
    expect((await limiter.consume('k')).allowed).toBe(false);
    await limiter.reward('k', 2);
    expect(await limiter.consume('k')).toMatchObject({ allowed: true, remaining: 0 });
    await limiter.delete('k');
    expect(await limiter.consume('k')).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('fails every attempt of a turn whose call fails, closed or open as the limiter says', async () => {
    const keyPrefix = prefix();
    // A counter that holds a string: INCRBY fails inside the script, and with it the whole call.
    await other.set(`${keyPrefix}:broken`, 'not a number');
    const closed = createLimiter({ redis, keyPrefix, points: 5, durationSeconds: 60 });
    const open = createLimiter({ redis, keyPrefix, points: 5, durationSeconds: 60, failOpen: true });
    const [refused, alsoRefused, letThrough] = await Promise.allSettled([
      closed.consume('broken'),
      closed.consume('fine'),
      open.consume('fine'),
    ]);
    expect(refused).toMatchObject({ status: 'rejected', reason: { code: 'SERVICE_UNAVAILABLE' } });
    expect(alsoRefused).toMatchObject({ status: 'rejected', reason: { code: 'SERVICE_UNAVAILABLE' } });
    expect(letThrough).toMatchObject({ status: 'fulfilled', value: { allowed: true } });
  });

  /** The commands clients sent Redis while `work` ran, as MONITOR shows them (not those of scripts). */
  async function recordCommands(work: () => Promise<void>): Promise<string[]> {
    const monitor = await other.monitor();
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua') seen.push(args.join(' '));
    });
    try {
      await work();
      // MONITOR reports commands in the order Redis ran them: once the marker is seen, so is all before it.
      const marker = `marker-${prefixes}-${Date.now()}`;
      const markerSeen = new Promise<void>((resolve) =>
        monitor.on('monitor', (_time: string, args: string[]) => args.includes(marker) && resolve()),
      );
      await other.get(marker);
      await markerSeen;
      return seen;
    } finally {
      monitor.disconnect();
    }
  }
});
