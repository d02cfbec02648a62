import { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';

/**
 * A Redis client that never queues commands while disconnected: callers get an error at once
 * and decide to fail open or closed, and the client reconnects by itself in the background.
 */
export function createRedis(url: string, logger: Logger): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    // A Redis that accepts connections but stops answering must not hang requests either.
    commandTimeout: 1000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    lazyConnect: false,
    // Commands issued in the same tick (rate-limit counters and cache checks of concurrent
    // requests) go out in one write and come back in one read.
    enableAutoPipelining: true,
  });
  let warned = false;
  client.on('error', (error: Error) => {
    if (!warned) logger.warn({ err: error }, 'redis unavailable; will keep retrying');
    warned = true;
  });
  client.on('ready', () => {
    warned = false;
  });
  return client;
}

/**
 * Resolves true once the client is connected, or false after `timeoutMs`. A server waits for this
 * at start-up, so its first requests find their rate-limit counters (sign-in fails closed without
 * them); when Redis stays unreachable it starts anyway, degraded, and the client keeps retrying.
 */
export function redisConnected(client: Redis, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    timer.unref();
    function done(ready: boolean) {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ready);
    }
    client.once('ready', onReady);
  });
}

/**
 * A Lua script of `redis`, called with its keys and arguments. It runs by its hash; ioredis loads
 * it on a connection where Redis does not know it yet.
 */
export function redisScript<R>(redis: Redis, name: string, lua: string) {
  redis.defineCommand(name, { lua });
  const commands = redis as unknown as Record<string, (...args: (string | number)[]) => Promise<R>>;
  const run = commands[name]!.bind(redis);
  return (keys: string[], args: (string | number)[]): Promise<R> => run(keys.length, ...keys, ...args);
}
