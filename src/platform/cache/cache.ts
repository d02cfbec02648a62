import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';
import { BroadcastListener, type Broadcast } from '../broadcast.js';
import type { Logger } from '../observability/logger.js';
import { inSpan } from '../observability/tracing.js';
import { batchPerTurn } from '../turn-batch.js';

import type { CacheStore, Generation, StoredEntry } from './stores.js';

export { MemoryStore, RedisStore, type CacheStore, type StoredEntry } from './stores.js';

/**
 * Read-through cache with TTLs, invalidation after commit and stampede protection. Redis when
 * configured (shared by every server), an in-process LRU otherwise. The cache is an
 * optimisation only: when Redis fails, reads go to the loader and the service stays up.
 *
 * Keys are `<prefix><entity>:<id>:v<schema>`; bump an entity's schema version whenever the
 * cached shape changes, so a deploy never reads entries written by older code.
 *
 * Every entry is stored with the generation it was loaded under, and invalidation bumps the
 * generation. A reader that loaded before a write committed therefore cannot store its stale
 * value afterwards (the store refuses a write under an old generation), and an entity whose
 * entries are invalidated all at once (search pages) needs one bump, not a key scan.
 *
 * Each process also keeps the values it read, parsed and frozen, with their generation and
 * expiry. A hit on that local copy still asks the store for the current generation — a few
 * bytes instead of the whole entry and its JSON parse — so an invalidation by any server is
 * seen exactly as before, and no local copy outlives the TTL of the entry it came from. Copies
 * also carry the store's epoch: a Redis that lost its data (and so its generation counters)
 * invalidates every copy taken before.
 *
 * With a broadcast of invalidations (`invalidations`, the Redis deployments), every invalidation
 * also names its generation keys to every process, which drop the copies under them at once, the
 * writer's own process before `invalidate` returns. A copy whose generation was confirmed less
 * than `CONFIRMED_MS` ago then answers without asking the store, while this process hears every
 * message; so a message that is lost (a writer that died after its commit) leaves a copy stale for
 * at most that long, and a copy loaded while any invalidation arrived is confirmed before use.
 */
export interface CacheEntity {
  name: string;
  /** Version of the cached shape; part of every key. */
  schema: number;
  /** Which configured TTL applies (`CACHE_TTL_<GROUP>`); a TTL of 0 turns the entity's cache off. */
  ttlGroup: string;
  /** `key`: each id is invalidated on its own; `entity`: one invalidation drops every id. */
  invalidation: 'key' | 'entity';
}

export interface CacheOptions {
  /** Seconds entries of each TTL group live; a group missing or 0 is not cached. */
  ttls: Record<string, number>;
  /** Invalidations told to every process sharing the store (see the class comment). */
  invalidations?: Broadcast;
}

const LOCK_MS = 5_000;
const WAIT_FOR_OTHER_LOADER_MS = 250;
/** Generations outlive every entry written under them (see `invalidate`). */
const GENERATION_GRACE_SECONDS = 60;

/** Budget of the local copies, counted in characters of their JSON. */
const LOCAL_MAX_CHARS = 8 * 1024 * 1024;
/** How long a confirmed local copy answers without asking the store, while invalidations are heard. */
const CONFIRMED_MS = 1_000;

/** The broadcast that names the generation keys of every invalidation (see `CacheOptions`). */
export const CACHE_INVALIDATED_CHANNEL = 'cache:invalidated';

interface LocalCopy extends Generation {
  generationKey: string;
  expiresAt: number;
  /** When the store last confirmed the generation (0: never); see CONFIRMED_MS. */
  confirmedAt: number;
  value: unknown;
}

type Result = 'hit' | 'miss' | 'error' | 'coalesced' | 'disabled';

export class Cache {
  private readonly inFlight = new Map<string, Promise<unknown>>();
  private readonly local = new LRUCache<string, LocalCopy>({ maxSize: LOCAL_MAX_CHARS });
  private readonly requests: Counter<'entity' | 'result'>;
  /** Invalidations the store refused (Redis down): retried before the store is trusted again. */
  private pending: { generationKeys: string[]; keys: string[]; ttl: number }[] = [];
  private readonly generationsBatch = batchPerTurn<string, Map<string, Generation>>();
  private lastErrorLog = 0;
  /** Confirmed copies answer alone only while this process hears every invalidation. */
  private readonly invalidationsHeard: BroadcastListener | undefined;
  /** Bumped by every invalidation heard or made here and every gap in hearing them. */
  private heard = 0;

  constructor(
    private readonly store: CacheStore,
    private readonly prefix: string,
    registry: Registry,
    private readonly logger: Logger,
    private readonly options: CacheOptions,
  ) {
    this.requests = new Counter({
      name: 'bazaar_cache_requests_total',
      help: 'Cache lookups by entity and result (hit, miss, error).',
      labelNames: ['entity', 'result'] as const,
      registers: [registry],
    });
    this.invalidationsHeard =
      options.invalidations &&
      new BroadcastListener(options.invalidations, {
        onMessage: (generationKeys) => this.forget(generationKeys),
        onGap: () => this.forget(),
        onUnavailable: (error) => this.reportError(error),
      });
  }

  key(entity: CacheEntity, id: string): string {
    return `${this.prefix}${entity.name}:${id}:v${entity.schema}`;
  }

  ttlOf(entity: CacheEntity): number {
    return this.options.ttls[entity.ttlGroup] ?? 0;
  }

  /**
   * The cached value, or the loader's (then cached). Concurrent misses for one key share one
   * load in this process, and across processes the first to take the lock loads while the
   * others wait briefly for its result. Loader errors are passed on and never cached.
   */
  async getOrLoad<T>(entity: CacheEntity, id: string, load: () => Promise<T>): Promise<T> {
    // inSpan runs the lookup alone when tracing is off: a cached read is too cheap to wrap.
    return inSpan(`cache ${entity.name}`, { 'cache.entity': entity.name }, async (span) => {
      const { value, result } = await this.coalesced(entity, id, load);
      span?.setAttributes({ 'cache.result': result, 'cache.hit': result === 'hit' });
      return value;
    });
  }

  /**
   * Drops the entries of `ids` (or, for entity-wide invalidation, every entry of the entity).
   * Call it after the write that changed them has committed (`afterCommit`). Never throws: when
   * the store is down the invalidation is kept and retried, and this process reads from the
   * loader until it went through.
   */
  async invalidate(entity: CacheEntity, ids: string[] = []): Promise<void> {
    const generationKeys =
      entity.invalidation === 'entity'
        ? [this.generationKey(entity, '')]
        : ids.map((id) => this.generationKey(entity, id));
    const keys = entity.invalidation === 'entity' ? [] : ids.map((id) => this.key(entity, id));
    if (generationKeys.length === 0) return;
    this.pending.push({ generationKeys, keys, ttl: this.ttlOf(entity) + GENERATION_GRACE_SECONDS });
    await this.announce(generationKeys);
  }

  /** Drops every entry of these entity-wide entities, in one round trip. Never throws. */
  async invalidateEntities(entities: CacheEntity[]): Promise<void> {
    if (entities.some((e) => e.invalidation !== 'entity'))
      throw new Error('Entities invalidated per key need ids.');
    const ttl = Math.max(...entities.map((e) => this.ttlOf(e))) + GENERATION_GRACE_SECONDS;
    const generationKeys = entities.map((e) => this.generationKey(e, ''));
    this.pending.push({ generationKeys, keys: [], ttl });
    await this.announce(generationKeys);
  }

  /** Stops hearing invalidations and forgets the local copies. */
  async stop(): Promise<void> {
    await this.invalidationsHeard?.stop();
  }

  /**
   * Applies an invalidation that was just queued: this process forgets the copies at once, the
   * store bumps the generations, and then every other process is told to forget theirs (after the
   * bump, so that one re-checking a copy meets the new generation).
   */
  private async announce(generationKeys: string[]): Promise<void> {
    this.forget(generationKeys);
    await this.flushPending();
    await this.options.invalidations?.send(generationKeys).catch((error: unknown) => {
      this.reportError(error);
    });
  }

  /** Drops the local copies under these generation keys (all of them without keys). */
  private forget(generationKeys?: string[]): void {
    this.heard++;
    if (!generationKeys) return this.local.clear();
    const dropped = new Set(generationKeys);
    const keys: string[] = [];
    for (const [key, copy] of this.local.entries()) if (dropped.has(copy.generationKey)) keys.push(key);
    for (const key of keys) this.local.delete(key);
  }

  private async coalesced<T>(
    entity: CacheEntity,
    id: string,
    load: () => Promise<T>,
  ): Promise<{ value: T; result: Result }> {
    if (this.ttlOf(entity) <= 0) return { value: await load(), result: 'disabled' };
    const key = this.key(entity, id);
    const pending = this.inFlight.get(key) as Promise<T> | undefined;
    if (pending) return { value: await pending, result: 'coalesced' };
    let result: Result = 'miss';
    const work = this.lookup(entity, id, key, load, (r) => (result = r)).finally(() =>
      this.inFlight.delete(key),
    );
    this.inFlight.set(key, work);
    const value = await work;
    return { value, result };
  }

  private async lookup<T>(
    entity: CacheEntity,
    id: string,
    key: string,
    load: () => Promise<T>,
    report: (result: Result) => void,
  ): Promise<T> {
    const generationKey = this.generationKey(entity, entity.invalidation === 'entity' ? '' : id);
    this.invalidationsHeard?.start();
    // A copy taken from what was read while an invalidation arrived may predate it: not confirmed.
    const heardBefore = this.heard;
    let entry;
    try {
      if (!(await this.flushPending())) throw new Error('invalidations are waiting for the cache store');
      const copy = this.local.get(key);
      if (copy && copy.expiresAt > Date.now()) {
        if (this.invalidationsHeard?.hearing && Date.now() - copy.confirmedAt < CONFIRMED_MS) {
          this.count(entity, 'hit', report);
          return copy.value as T;
        }
        const now = await this.currentGeneration(generationKey);
        if (now.generation === copy.generation && now.epoch === copy.epoch) {
          if (this.heard === heardBefore) copy.confirmedAt = Date.now();
          this.count(entity, 'hit', report);
          return copy.value as T;
        }
        this.local.delete(key);
      }
      entry = await this.store.read(key, generationKey, this.epochKey);
    } catch (error) {
      this.count(entity, 'error', report);
      this.reportError(error);
      return load();
    }
    if (entry.value !== undefined && entry.value.generation === entry.generation) {
      this.count(entity, 'hit', report);
      return this.keepLocally(key, generationKey, entry.epoch, entry.value, heardBefore);
    }
    this.count(entity, 'miss', report);
    const owner = await this.store.lock(`${key}:lock`, LOCK_MS).catch(() => true);
    if (!owner) {
      const other = await this.waitForOtherLoader(key, generationKey);
      if (other !== undefined) return JSON.parse(other) as T;
    }
    let value: T;
    try {
      value = await load();
    } catch (error) {
      // Others waiting for this load go to their own loaders at once rather than after the lock's TTL.
      if (owner) await this.store.unlock(`${key}:lock`).catch(() => undefined);
      throw error;
    }
    const data = JSON.stringify(value);
    const ttlSeconds = this.ttlOf(entity);
    try {
      const lock = owner ? `${key}:lock` : undefined;
      await this.store.writeIfGeneration(key, generationKey, entry.generation, { data, ttlSeconds }, lock);
    } catch (error) {
      this.reportError(error);
      return value;
    }
    // Kept under the generation it was loaded in: if the store refused it, the check refuses it too.
    this.keepLocally(
      key,
      generationKey,
      entry.epoch,
      { generation: entry.generation, expiresAt: Date.now() + ttlSeconds * 1000, data },
      heardBefore,
    );
    return value;
  }

  /**
   * The generation of a local copy's key, read after the caller asked. The lookups of one
   * event-loop turn share the read: a page of 20 products of an entity-wide entity checks one
   * key once, not 20 times.
   */
  private async currentGeneration(generationKey: string): Promise<Generation> {
    const generations = await this.generationsBatch(this, [generationKey], async (keys) => {
      const read = keys.map(async (key) => [key, await this.store.generation(key, this.epochKey)] as const);
      return new Map(await Promise.all(read));
    });
    return generations.get(generationKey)!;
  }

  /**
   * Parses a stored entry once and keeps it, frozen, for the rest of its life; confirmed now
   * unless an invalidation arrived since the lookup began (`heardBefore`).
   */
  private keepLocally<T>(
    key: string,
    generationKey: string,
    epoch: string,
    entry: StoredEntry,
    heardBefore: number,
  ): T {
    const value = deepFreeze(JSON.parse(entry.data) as T);
    const confirmedAt = this.heard === heardBefore ? Date.now() : 0;
    if (entry.expiresAt > Date.now())
      this.local.set(
        key,
        {
          generation: entry.generation,
          generationKey,
          epoch,
          expiresAt: entry.expiresAt,
          confirmedAt,
          value,
        },
        { size: Math.max(1, entry.data.length) },
      );
    return value;
  }

  private get epochKey(): string {
    return `${this.prefix}cache:epoch`;
  }

  private generationKey(entity: CacheEntity, id: string): string {
    return `${this.prefix}${entity.name}:${id ? `${id}:` : ''}v${entity.schema}:gen`;
  }

  /** True when no invalidation is outstanding (any left over were applied now). */
  private async flushPending(): Promise<boolean> {
    while (this.pending.length > 0) {
      const next = this.pending[0]!;
      try {
        await this.store.invalidate(next.generationKeys, next.keys, next.ttl);
      } catch (error) {
        this.reportError(error);
        return false;
      }
      this.pending.shift();
    }
    return true;
  }

  private count(entity: CacheEntity, result: 'hit' | 'miss' | 'error', report: (result: Result) => void) {
    this.requests.inc({ entity: entity.name, result });
    report(result);
  }

  private async waitForOtherLoader(key: string, generationKey: string): Promise<string | undefined> {
    const deadline = Date.now() + WAIT_FOR_OTHER_LOADER_MS;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      const entry = await this.store.read(key, generationKey, this.epochKey).catch(() => undefined);
      if (entry?.value && entry.value.generation === entry.generation) return entry.value.data;
    }
    return undefined;
  }

  private reportError(error: unknown): void {
    if (Date.now() - this.lastErrorLog < 60_000) return;
    this.lastErrorLog = Date.now();
    this.logger.warn({ err: error }, 'cache unavailable; reading from the database');
  }
}

/** Local copies are shared by every request that reads them: nobody may change one. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
