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
