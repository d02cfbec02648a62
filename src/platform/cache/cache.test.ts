import { Registry } from 'prom-client';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { inProcessBroadcast, type Broadcast } from '../broadcast.js';
import { createLogger } from '../observability/logger.js';
import { startTracing } from '../observability/tracing.js';
import { OtlpCollector } from '../../../test/helpers/otlp-collector.js';
import { Cache, MemoryStore, RedisStore, type CacheEntity, type CacheStore } from './cache.js';

const product: CacheEntity = { name: 'product', schema: 1, ttlGroup: 'catalog', invalidation: 'key' };
const page: CacheEntity = { name: 'page', schema: 1, ttlGroup: 'catalog', invalidation: 'entity' };
const off: CacheEntity = { name: 'off', schema: 1, ttlGroup: 'disabled', invalidation: 'key' };
const ttls = { catalog: 60, disabled: 0 };
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

describe.each(stores)('cache on %s', (name, makeStore) => {
  const prefix = `test:${Math.random().toString(36).slice(2)}:`;
  const newCache = (registry = new Registry()) =>
    new Cache(makeStore(), prefix, registry, createLogger('silent'), { ttls });

  it('loads once, serves hits, and reloads after invalidation', async () => {
    const registry = new Registry();
    const cache = newCache(registry);
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
    const cache = newCache();
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

  it('does not keep a value loaded before an invalidation that landed during the load', async () => {
    const cache = newCache();
    let release!: () => void;
    let loading!: () => void;
    const started = new Promise<void>((resolve) => (loading = resolve));
    const slowLoad = cache.getOrLoad(product, 'p4', async () => {
      const written = new Promise<void>((resolve) => (release = resolve));
      loading();
      await written;
      return 'before the write';
    });
    await started;
    await cache.invalidate(product, ['p4']);
    release();
    expect(await slowLoad).toBe('before the write');
    expect(await cache.getOrLoad(product, 'p4', async () => 'after the write')).toBe('after the write');
  });

  it("releases the loader's lock with its write, or when its load fails", async () => {
    const store = makeStore();
    const cache = new Cache(store, prefix, new Registry(), createLogger('silent'), { ttls });
    expect(await cache.getOrLoad(product, 'p20', async () => 'v')).toBe('v');
    expect(await store.lock(`${cache.key(product, 'p20')}:lock`, 1000)).toBe(true);
    const failed = cache.getOrLoad(product, 'p21', () => Promise.reject(new Error('database down')));
    await expect(failed).rejects.toThrow('database down');
    expect(await store.lock(`${cache.key(product, 'p21')}:lock`, 1000)).toBe(true);
  });

  it('drops every entry of an entity-wide entity with one invalidation', async () => {
    const cache = newCache();
    await cache.getOrLoad(page, 'a', async () => 'a1');
    await cache.getOrLoad(page, 'b', async () => 'b1');
    expect(await cache.getOrLoad(page, 'a', async () => 'a2')).toBe('a1');
    await cache.invalidateEntities([page]);
    expect(await cache.getOrLoad(page, 'a', async () => 'a2')).toBe('a2');
    expect(await cache.getOrLoad(page, 'b', async () => 'b2')).toBe('b2');
  });

  it('always loads an entity whose TTL is 0', async () => {
    const registry = new Registry();
    const cache = newCache(registry);
    let loads = 0;
    await cache.getOrLoad(off, 'x', async () => ++loads);
    await cache.getOrLoad(off, 'x', async () => ++loads);
    expect(loads).toBe(2);
    expect(await registry.metrics()).not.toContain('entity="off"');
  });

  it("sees another server's invalidation although it keeps a local copy", async () => {
    const store = makeStore();
    const mine = new Cache(store, prefix, new Registry(), createLogger('silent'), { ttls });
    const theirs = new Cache(store, prefix, new Registry(), createLogger('silent'), { ttls });
    expect(await mine.getOrLoad(product, 'p9', async () => ({ v: 'old' }))).toEqual({ v: 'old' });
    expect(await mine.getOrLoad(product, 'p9', async () => ({ v: 'unused' }))).toEqual({ v: 'old' });
    await theirs.invalidate(product, ['p9']);
    expect(await mine.getOrLoad(product, 'p9', async () => ({ v: 'new' }))).toEqual({ v: 'new' });
    expect(await theirs.getOrLoad(product, 'p9', async () => ({ v: 'unused' }))).toEqual({ v: 'new' });
  });

  it.runIf(name === 'redis')(
    'drops local copies when Redis lost its data and counts start over',
    async () => {
      const store = makeStore();
      const mine = new Cache(store, prefix, new Registry(), createLogger('silent'), { ttls });
      await mine.invalidate(product, ['p14']); // generation 1
      expect(await mine.getOrLoad(product, 'p14', async () => 'old')).toBe('old');
      const redis = clients.at(-1)!;
      await redis.del(...(await redis.keys(`${prefix}*`))); // Redis restarted empty
      await mine.invalidate(product, ['p14']); // generation 1 again, for a different write
      expect(await mine.getOrLoad(product, 'p14', async () => 'new')).toBe('new');
    },
  );

  it('hands out local copies frozen, so no request can change what the next one reads', async () => {
    const cache = newCache();
    await cache.getOrLoad(product, 'p10', async () => ({ tags: ['a'] }));
    const hit = await cache.getOrLoad(product, 'p10', async () => ({ tags: ['unused'] }));
    expect(() => hit.tags.push('b')).toThrow(TypeError);
    expect(await cache.getOrLoad(product, 'p10', async () => ({ tags: ['unused'] }))).toEqual({
      tags: ['a'],
    });
  });

  it('keys carry the entity schema version', () => {
    const cache = new Cache(makeStore(), 'bazaar:', new Registry(), createLogger('silent'), { ttls });
    expect(cache.key(product, 'abc')).toBe('bazaar:product:abc:v1');
  });
});

describe('cache when the store fails', () => {
  it('falls back to the loader, keeps answering, and applies a lost invalidation once the store is back', async () => {
    const memory = new MemoryStore();
    let down = true;
    const flaky: CacheStore = {
      read: (k, g) => (down ? Promise.reject(new Error('down')) : memory.read(k, g)),
      generation: (g) => (down ? Promise.reject(new Error('down')) : memory.generation(g)),
      writeIfGeneration: (k, g, gen, e, l) =>
        down ? Promise.reject(new Error('down')) : memory.writeIfGeneration(k, g, gen, e, l),
      invalidate: (g, k, t) => (down ? Promise.reject(new Error('down')) : memory.invalidate(g, k, t)),
      lock: (k, t) => (down ? Promise.reject(new Error('down')) : memory.lock(k, t)),
      unlock: (k) => (down ? Promise.reject(new Error('down')) : memory.unlock(k)),
    };
    const registry = new Registry();
    const cache = new Cache(flaky, 'x:', registry, createLogger('silent'), { ttls });
    expect(await cache.getOrLoad(product, 'p3', async () => 42)).toBe(42);
    expect(await registry.metrics()).toContain('result="error"} 1');

    down = false;
    expect(await cache.getOrLoad(product, 'p3', async () => 'cached')).toBe('cached');
    down = true;
    await cache.invalidate(product, ['p3']);
    down = false;
    expect(await cache.getOrLoad(product, 'p3', async () => 'fresh')).toBe('fresh');
  });
});

/** A memory store that counts whole-entry reads and can report entries as already expired. */
function countingStore(expired: boolean) {
  const memory = new MemoryStore();
  const reads = { entries: 0, generations: 0 };
  const store: CacheStore = {
    read: async (k, g) => {
      reads.entries += 1;
      const found = await memory.read(k, g);
      return expired && found.value
        ? { ...found, value: { ...found.value, expiresAt: Date.now() - 1 } }
        : found;
    },
    generation: (g) => {
      reads.generations += 1;
      return memory.generation(g);
    },
    writeIfGeneration: (k, g, gen, e, l) => memory.writeIfGeneration(k, g, gen, e, l),
    invalidate: (g, k, t) => memory.invalidate(g, k, t),
    lock: (k, t) => memory.lock(k, t),
    unlock: (k) => memory.unlock(k),
  };
  return { store, reads };
}

describe('local copies', () => {
  it('answer hits with a generation check instead of reading the whole entry', async () => {
    const { store, reads } = countingStore(false);
    const writer = new Cache(store, 'l:', new Registry(), createLogger('silent'), { ttls });
    await writer.getOrLoad(product, 'p11', async () => 'v');
    const reader = new Cache(store, 'l:', new Registry(), createLogger('silent'), { ttls });
    for (let i = 0; i < 3; i += 1)
      expect(await reader.getOrLoad(product, 'p11', async () => 'unused')).toBe('v');
    expect(reads.entries).toBe(2); // the writer's miss and the reader's first hit
  });

  it('check one generation once for all the hits of one event-loop turn, read after they asked', async () => {
    const { store, reads } = countingStore(false);
    const cache = new Cache(store, 't:', new Registry(), createLogger('silent'), { ttls });
    const ids = Array.from({ length: 20 }, (_, i) => `p${i}`);
    await Promise.all(ids.map((id) => cache.getOrLoad(page, id, async () => `v1 ${id}`)));
    const before = reads.generations;
    const hits = await Promise.all(ids.map((id) => cache.getOrLoad(page, id, async () => 'unused')));
    expect(hits).toEqual(ids.map((id) => `v1 ${id}`));
    expect(reads.generations - before).toBe(1);

    // An invalidation that lands before the next turn's check is seen by every lookup of it.
    const next = Promise.all(ids.map((id) => cache.getOrLoad(page, id, async () => `v2 ${id}`)));
    await new Cache(store, 't:', new Registry(), createLogger('silent'), { ttls }).invalidateEntities([page]);
    expect(await next).toEqual(ids.map((id) => `v2 ${id}`));
  });

  it('are not kept past the expiry of the entry they came from', async () => {
    const { store, reads } = countingStore(true);
    const writer = new Cache(store, 'e:', new Registry(), createLogger('silent'), { ttls });
    await writer.getOrLoad(product, 'p12', async () => 'v');
    const reader = new Cache(store, 'e:', new Registry(), createLogger('silent'), { ttls });
    for (let i = 0; i < 3; i += 1) await reader.getOrLoad(product, 'p12', async () => 'v');
    expect(reads.entries).toBe(4);
  });
});

describe('local copies, with invalidations told to every process', () => {
  afterEach(() => vi.useRealTimers());
  const processes = (store: CacheStore, invalidations: Broadcast, prefix: string) =>
    [1, 2].map(
      () => new Cache(store, prefix, new Registry(), createLogger('silent'), { ttls, invalidations }),
    ) as [Cache, Cache];

  it("answer without asking the store, and give way as soon as another process's invalidation is heard", async () => {
    const { store, reads } = countingStore(false);
    const [writer, reader] = processes(store, inProcessBroadcast(), 'b1:');
    expect(await reader.getOrLoad(product, 'p1', async () => 'old')).toBe('old');
    const before = { ...reads };
    for (let i = 0; i < 3; i += 1)
      expect(await reader.getOrLoad(product, 'p1', async () => 'unused')).toBe('old');
    expect(reads).toEqual(before);
    await writer.invalidate(product, ['p1']);
    expect(await reader.getOrLoad(product, 'p1', async () => 'new')).toBe('new');
  });

  it('ask the store again once a confirmation is a second old, so a lost message costs at most that', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { store, reads } = countingStore(false);
    const [, reader] = processes(store, inProcessBroadcast(), 'b2:');
    await reader.getOrLoad(product, 'p2', async () => 'old');
    // Another process' invalidation whose message never came.
    await new Cache(store, 'b2:', new Registry(), createLogger('silent'), { ttls }).invalidate(product, [
      'p2',
    ]);
    vi.advanceTimersByTime(900);
    expect(await reader.getOrLoad(product, 'p2', async () => 'new')).toBe('old');
    const checks = reads.generations;
    vi.advanceTimersByTime(200);
    expect(await reader.getOrLoad(product, 'p2', async () => 'new')).toBe('new');
    expect(reads.generations).toBe(checks + 1);
  });

  it("forget the writer's own copies before invalidate returns, message or not", async () => {
    const { store } = countingStore(false);
    const deaf: Broadcast = {
      send: async () => undefined, // every message lost
      listen: async (_onMessage, onListening) => {
        onListening?.(true);
        return async () => undefined;
      },
    };
    const [writer] = processes(store, deaf, 'b3:');
    expect(await writer.getOrLoad(product, 'p3', async () => 'old')).toBe('old');
    await writer.invalidate(product, ['p3']);
    expect(await writer.getOrLoad(product, 'p3', async () => 'new')).toBe('new');
  });

  it('do not answer alone from what was read while an invalidation arrived', async () => {
    const { store, reads } = countingStore(false);
    const [writer, reader] = processes(store, inProcessBroadcast(), 'b4:');
    await reader.getOrLoad(product, 'warm', async () => 'listening now');
    let loaded!: () => void;
    const loading = reader.getOrLoad(
      product,
      'p4',
      () => new Promise<string>((resolve) => (loaded = () => resolve('loaded'))),
    );
    await vi.waitFor(() => expect(loaded).toBeDefined());
    await writer.invalidate(product, ['another product']);
    loaded();
    expect(await loading).toBe('loaded');
    const checks = reads.generations;
    expect(await reader.getOrLoad(product, 'p4', async () => 'unused')).toBe('loaded');
    expect(reads.generations).toBe(checks + 1); // confirmed first
    expect(await reader.getOrLoad(product, 'p4', async () => 'unused')).toBe('loaded');
    expect(reads.generations).toBe(checks + 1); // then answering alone
  });

  it('ask the store for every hit while invalidations cannot be heard', async () => {
    const { store, reads } = countingStore(false);
    const unheard: Broadcast = {
      send: async () => undefined,
      listen: async () => {
        throw new Error('no subscription');
      },
    };
    const [, reader] = processes(store, unheard, 'b5:');
    await reader.getOrLoad(product, 'p5', async () => 'v');
    const checks = reads.generations;
    for (let i = 0; i < 3; i += 1) await reader.getOrLoad(product, 'p5', async () => 'unused');
    expect(reads.generations).toBe(checks + 3);
  });
});

describe('cache spans', () => {
  it('records each lookup as a span with its entity and whether it hit', async () => {
    const collector = await OtlpCollector.start();
    const tracing = await startTracing({
      endpoint: collector.url,
      serviceName: 'cache-test',
      serviceVersion: '0',
    });
    try {
      const cache = new Cache(new MemoryStore(), 'span:', new Registry(), createLogger('silent'), { ttls });
      await cache.getOrLoad(product, 's1', async () => 1);
      await cache.getOrLoad(product, 's1', async () => 2);
      await tracing.flush();
    } finally {
      await tracing.shutdown();
      await collector.close();
    }
    const spans = collector.spans.filter((s) => s.name.startsWith('cache '));
    expect(spans.map((s) => [s.name, s.attributes['cache.entity'], s.attributes['cache.hit']])).toEqual([
      ['cache product', 'product', false],
      ['cache product', 'product', true],
    ]);
    expect(spans[1]!.attributes['cache.result']).toBe('hit');
  });
});
