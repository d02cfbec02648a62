import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../observability/logger.js';

/**
 * Read-through cache with TTLs, explicit invalidation and stampede protection. Redis when
 * configured (shared by every server), an in-process LRU otherwise. The cache is an
 * optimisation only: when Redis fails, reads go to the loader and the service stays up.
 *
 * Keys are `<prefix><entity>:<id>:v<schema>`; bump an entity's schema version whenever the
 * cached shape changes, so a deploy never reads entries written by older code.
 */
export interface CacheStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  del(keys: string[]): Promise<void>;
  /** Takes a short lock; true when this caller holds it (used against stampedes across servers). */
  lock(key: string, ttlMs: number): Promise<boolean>;
}

export class MemoryStore implements CacheStore {
  private readonly entries = new LRUCache<string, string>({ max: 20_000, ttlAutopurge: false });

  async get(key: string) {
    return this.entries.get(key);
  }
  async set(key: string, value: string, ttlSeconds: number) {
    this.entries.set(key, value, { ttl: ttlSeconds * 1000 });
  }
  async del(keys: string[]) {
    for (const key of keys) this.entries.delete(key);
  }
  async lock(key: string, ttlMs: number) {
    if (this.entries.has(key)) return false;
    this.entries.set(key, '1', { ttl: ttlMs });
    return true;
  }
}

export class RedisStore implements CacheStore {
  constructor(private readonly redis: Redis) {}

  async get(key: string) {
    return (await this.redis.get(key)) ?? undefined;
  }
  async set(key: string, value: string, ttlSeconds: number) {
    await this.redis.set(key, value, 'EX', ttlSeconds);
  }
  async del(keys: string[]) {
    if (keys.length > 0) await this.redis.del(...keys);
  }
  async lock(key: string, ttlMs: number) {
    return (await this.redis.set(key, '1', 'PX', ttlMs, 'NX')) === 'OK';
  }
}

export interface CacheEntity {
  name: string;
  /** Version of the cached shape; part of every key. */
  schema: number;
  ttlSeconds: number;
}

const LOCK_MS = 5_000;
const WAIT_FOR_OTHER_LOADER_MS = 250;

export class Cache {
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private readonly requests: Counter<'entity' | 'result'>;
  private lastErrorLog = 0;

  constructor(
    private readonly store: CacheStore,
    private readonly prefix: string,
    registry: Registry,
    private readonly logger: Logger,
  ) {
    this.requests = new Counter({
      name: 'bazaar_cache_requests_total',
      help: 'Cache lookups by entity and result (hit, miss, error).',
      labelNames: ['entity', 'result'] as const,
      registers: [registry],
    });
  }

  key(entity: CacheEntity, id: string): string {
    return `${this.prefix}${entity.name}:${id}:v${entity.schema}`;
  }

  /**
   * The cached value, or the loader's (then cached). Concurrent misses for one key share one
   * load in this process, and across processes the first to take the lock loads while the
   * others wait briefly for its result.
   */
  async getOrLoad<T>(entity: CacheEntity, id: string, load: () => Promise<T>): Promise<T> {
    const key = this.key(entity, id);
    const pending = this.inFlight.get(key) as Promise<T> | undefined;
    if (pending) return pending;
    const work = this.lookup(entity, key, load).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, work);
    return work;
  }

  /** Removes entries after the write that changed them has committed. */
  async invalidate(entity: CacheEntity, ids: string[]): Promise<void> {
    try {
      await this.store.del(ids.map((id) => this.key(entity, id)));
    } catch (error) {
      this.reportError(error);
    }
  }

  private async lookup<T>(entity: CacheEntity, key: string, load: () => Promise<T>): Promise<T> {
    let cached: string | undefined;
    try {
      cached = await this.store.get(key);
    } catch (error) {
      this.requests.inc({ entity: entity.name, result: 'error' });
      this.reportError(error);
      return load();
    }
    if (cached !== undefined) {
      this.requests.inc({ entity: entity.name, result: 'hit' });
      return JSON.parse(cached) as T;
    }
    this.requests.inc({ entity: entity.name, result: 'miss' });
    const owner = await this.store.lock(`${key}:lock`, LOCK_MS).catch(() => true);
    if (!owner) {
      const other = await this.waitForOtherLoader(key);
      if (other !== undefined) return JSON.parse(other) as T;
    }
    const value = await load();
    try {
      await this.store.set(key, JSON.stringify(value), entity.ttlSeconds);
      if (owner) await this.store.del([`${key}:lock`]);
    } catch (error) {
      this.reportError(error);
    }
    return value;
  }

  private async waitForOtherLoader(key: string): Promise<string | undefined> {
    const deadline = Date.now() + WAIT_FOR_OTHER_LOADER_MS;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      const value = await this.store.get(key).catch(() => undefined);
      if (value !== undefined) return value;
    }
    return undefined;
  }

  private reportError(error: unknown): void {
    if (Date.now() - this.lastErrorLog < 60_000) return;
    this.lastErrorLog = Date.now();
    this.logger.warn({ err: error }, 'cache unavailable; reading from the database');
  }
}
