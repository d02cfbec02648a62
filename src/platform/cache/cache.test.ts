import { Registry } from 'prom-client';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../observability/logger.js';
import { Cache, MemoryStore, RedisStore, type CacheStore } from './cache.js';

const product = { name: 'product', schema: 1, ttlSeconds: 60 };
const stores: [string, () => CacheStore][] = [['memory', () => new MemoryStore()]];
const redisUrl = process.env.REDIS_URL;
const clients: Redis[] = [];
if (redisUrl) {
  stores.push([
    'redis',
    () => {
      const client = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1 });
      clients.push(client);
      return new RedisStore(client);
    },
  ]);
}
afterAll(() => clients.forEach((c) => c.disconnect()));

describe.each(stores)('cache on %s', (_name, makeStore) => {
  const prefix = `test:${Math.random().toString(36).slice(2)}:`;

  it('loads once, serves hits, and reloads after invalidation', async () => {
    const registry = new Registry();
    const cache = new Cache(makeStore(), prefix, registry, createLogger('silent'));
    let loads = 0;
    const load = async () => ({ n: ++loads });
    expect(await cache.getOrLoad(product, 'p1', load)).toEqual({ n: 1 });
    expect(await cache.getOrLoad(product, 'p1', load)).toEqual({ n: 1 });
    await cache.invalidate(product, ['p1']);
    expect(await cache.getOrLoad(product, 'p1', load)).toEqual({ n: 2 });
    const metrics = await registry.metrics();
    expect(metrics).toContain('bazaar_cache_requests_total{entity="product",result="hit"} 1');
    expect(metrics).toContain('bazaar_cache_requests_total{entity="product",result="miss"} 2');
  });

  it('runs one loader for 50 concurrent misses of one key', async () => {
    const cache = new Cache(makeStore(), prefix, new Registry(), createLogger('silent'));
    let loads = 0;
    const load = async () => {
      loads += 1;
      await new Promise((resolve) => setTimeout(resolve, 30));
      return { id: 'p2' };
    };
    const results = await Promise.all(Array.from({ length: 50 }, () => cache.getOrLoad(product, 'p2', load)));
    expect(results.every((r) => r.id === 'p2')).toBe(true);
    expect(loads).toBe(1);
  });

  it('keys carry the entity schema version', () => {
    const cache = new Cache(makeStore(), 'bazaar:', new Registry(), createLogger('silent'));
    expect(cache.key(product, 'abc')).toBe('bazaar:product:abc:v1');
  });
});

describe('cache when the store fails', () => {
  it('falls back to the loader and keeps answering', async () => {
    const broken: CacheStore = {
      get: () => Promise.reject(new Error('down')),
      set: () => Promise.reject(new Error('down')),
      del: () => Promise.reject(new Error('down')),
      lock: () => Promise.reject(new Error('down')),
    };
    const registry = new Registry();
    const cache = new Cache(broken, 'x:', registry, createLogger('silent'));
    expect(await cache.getOrLoad(product, 'p3', async () => 42)).toBe(42);
    await cache.invalidate(product, ['p3']);
    expect(await registry.metrics()).toContain('result="error"} 1');
  });
});
