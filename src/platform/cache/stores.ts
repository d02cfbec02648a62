import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { redisScript } from './redis.js';

export interface Generation {
  generation: string;
  epoch: string;
}

/** A cached value with the generation it was loaded under and when it expires (epoch ms). */
export interface StoredEntry {
  generation: string;
  expiresAt: number;
  data: string;
}

/**
 * Where the cache keeps entries. A generation key counts the invalidations of an entry (or of a
 * whole entity); an absent one reads as the empty string.
 */
export interface CacheStore {
  /**
   * The entry (if any), the current value of its generation key and the store's epoch, in one
   * round trip. The epoch names the store's data set: it changes whenever the store lost its data
   * (a Redis restarted empty, keys evicted), when generation counters may start over.
   */
  read(key: string, generationKey: string, epochKey: string): Promise<Generation & { value?: StoredEntry }>;
  /** The current generation and epoch alone (a few bytes: the check of a local copy). */
  generation(generationKey: string, epochKey: string): Promise<Generation>;
  /**
   * Stores the entry only if the generation key still holds `generation`: no invalidation since
   * the read. Releases `lock` (taken with `lock`) in the same step, when given.
   */
  writeIfGeneration(
    key: string,
    generationKey: string,
    generation: string,
    entry: { data: string; ttlSeconds: number },
    lock?: string,
  ): Promise<void>;
  /** Bumps the generation keys (each kept `generationTtlSeconds`) and deletes `keys`. */
  invalidate(generationKeys: string[], keys: string[], generationTtlSeconds: number): Promise<void>;
  /** Takes a short lock; true when this caller holds it (used against stampedes across servers). */
  lock(key: string, ttlMs: number): Promise<boolean>;
  unlock(key: string): Promise<void>;
}

// Stored as `<generation>\n<expires at, epoch ms>\n<data>`.
function encode(generation: string, ttlSeconds: number, data: string): string {
  return `${generation}\n${Date.now() + ttlSeconds * 1000}\n${data}`;
}

function decode(stored: string | null | undefined): StoredEntry | undefined {
  if (stored == null) return undefined;
  const first = stored.indexOf('\n');
  const second = first < 0 ? -1 : stored.indexOf('\n', first + 1);
  if (second < 0) return undefined;
  const expiresAt = Number(stored.slice(first + 1, second));
  if (!Number.isSafeInteger(expiresAt)) return undefined;
  return { generation: stored.slice(0, first), expiresAt, data: stored.slice(second + 1) };
}

export class MemoryStore implements CacheStore {
  private readonly entries = new LRUCache<string, string>({ max: 20_000, ttlAutopurge: false });
  // Kept apart from the entries so that evicting entries never forgets an invalidation.
  private readonly generations = new LRUCache<string, string>({ max: 100_000, ttlAutopurge: false });

  // An in-process store loses its data only with the process.
  private readonly epoch = randomUUID();

  async read(key: string, generationKey: string) {
    return { value: decode(this.entries.get(key)), ...(await this.generation(generationKey)) };
  }
  async generation(generationKey: string) {
    return { generation: this.generations.get(generationKey) ?? '', epoch: this.epoch };
  }
  async writeIfGeneration(
    key: string,
    generationKey: string,
    generation: string,
    entry: { data: string; ttlSeconds: number },
    lock?: string,
  ) {
    if ((this.generations.get(generationKey) ?? '') === generation)
      this.entries.set(key, encode(generation, entry.ttlSeconds, entry.data), {
        ttl: entry.ttlSeconds * 1000,
      });
    if (lock !== undefined) this.entries.delete(lock);
  }
  async invalidate(generationKeys: string[], keys: string[], generationTtlSeconds: number) {
    for (const key of generationKeys) {
      const next = Number(this.generations.get(key) ?? 0) + 1;
      this.generations.set(key, String(next), { ttl: generationTtlSeconds * 1000 });
    }
    for (const key of keys) this.entries.delete(key);
  }
  async lock(key: string, ttlMs: number) {
    if (this.entries.has(key)) return false;
    this.entries.set(key, '1', { ttl: ttlMs });
    return true;
  }
  async unlock(key: string) {
    this.entries.delete(key);
  }
}

// KEYS: entry, generation[, lock to release]. ARGV: expected generation ('' = none), encoded
// entry, TTL seconds.
const WRITE_IF_GENERATION = `
local stored = 0
if (redis.call('GET', KEYS[2]) or '') == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  stored = 1
end
if KEYS[3] then
  redis.call('DEL', KEYS[3])
end
return stored`;

export class RedisStore implements CacheStore {
  private readonly writeScript: (keys: string[], args: (string | number)[]) => Promise<number>;

  constructor(private readonly redis: Redis) {
    this.writeScript = redisScript(redis, 'bazaarCacheWriteIfGeneration', WRITE_IF_GENERATION);
  }

  async read(key: string, generationKey: string, epochKey: string) {
    const [stored, generation, epoch] = await this.redis.mget(key, generationKey, epochKey);
    return {
      value: decode(stored),
      generation: generation ?? '',
      epoch: epoch ?? (await this.newEpoch(epochKey)),
    };
  }
  async generation(generationKey: string, epochKey: string) {
    const [generation, epoch] = await this.redis.mget(generationKey, epochKey);
    return { generation: generation ?? '', epoch: epoch ?? (await this.newEpoch(epochKey)) };
  }
  /** Marks a data set that has none (new, or it lost its data); the first server to try sets it. */
  private async newEpoch(epochKey: string): Promise<string> {
    await this.redis.set(epochKey, randomUUID(), 'NX');
    return (await this.redis.get(epochKey)) ?? '';
  }
  async writeIfGeneration(
    key: string,
    generationKey: string,
    generation: string,
    entry: { data: string; ttlSeconds: number },
    lock?: string,
  ) {
    const keys = lock === undefined ? [key, generationKey] : [key, generationKey, lock];
    await this.writeScript(keys, [
      generation,
      encode(generation, entry.ttlSeconds, entry.data),
      entry.ttlSeconds,
    ]);
  }
  async invalidate(generationKeys: string[], keys: string[], generationTtlSeconds: number) {
    const batch = this.redis.multi();
    for (const key of generationKeys) batch.incr(key).expire(key, generationTtlSeconds);
    if (keys.length > 0) batch.del(...keys);
    const results = await batch.exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw failed?.[0] ?? new Error('the cache invalidation was not applied');
  }
  async lock(key: string, ttlMs: number) {
    return (await this.redis.set(key, '1', 'PX', ttlMs, 'NX')) === 'OK';
  }
  async unlock(key: string) {
    await this.redis.del(key);
  }
}
