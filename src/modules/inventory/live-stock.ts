import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';
import { BroadcastListener, type Broadcast } from '../../platform/broadcast.js';
import type { Database, Tx } from '../../platform/db/client.js';
import { onCommit } from '../../platform/db/commit-hooks.js';
import { preparedForIds } from '../../platform/db/prepared.js';
import type { Logger } from '../../platform/observability/logger.js';
import { isUuid } from '../../platform/ids.js';
import { batchPerTurn } from '../../platform/turn-batch.js';
import { stockLevels } from './schema.js';

/** The broadcast that names variants whose stock changed. */
export const STOCK_CHANGED_CHANNEL = 'stock:changed';

/** Variants whose availability one process keeps at most (~100 bytes each). */
const MAX_COPIES = 100_000;

export interface LiveStockOptions {
  /** The primary: a copy must never be older than a change this process has been told of. */
  db: Database;
  broadcast: Broadcast;
  /** `CACHE_TTL_STOCK` in ms: how long a copy may answer; 0 reads every answer from the database. */
  ttlMs: number;
  logger: Logger;
  registry: Registry;
}

/** Units available of a set of variants as one answer gave them, and how long it may answer again. */
interface Remembered {
  available: Map<string, number>;
  /** `changes` when it was read: any change heard since makes it stale. */
  changes: number;
  /** When the first copy it came from expires (`performance.now()` time). */
  until: number;
  variants: number;
}

/**
 * Units available of each variant, for storefront answers, which ask on every request.
 *
 * Each process keeps what it read, per variant, for at most the TTL, and forgets it as soon as it
 * hears that the variant's stock changed: every stock write says so once its transaction has
 * committed — in this process at once, before the commit returns to the writer, and to the
 * others by broadcast (Redis pub/sub, else PostgreSQL NOTIFY). So a process reads its own writes,
 * the others see them as soon as the message arrives, and the TTL bounds how stale a copy can get
 * when a message is lost (a writer that died between its commit and the send, a Redis outage).
 * While this process may be missing messages it keeps no copies at all.
 *
 * Stock is read on the primary, never a replica: a copy read after a change was announced must
 * see it. Reads still missing share one query per event-loop turn. A read that was in flight
 * when any change arrived answers its callers but is not kept, since it may predate the change.
 *
 * Only what the storefront shows comes from here. Orders check and take stock in the database,
 * in their own transaction (reservations.ts), so a stale copy can never sell a unit twice.
 */
export class LiveStock {
  private readonly copies = new LRUCache<string, { available: number | null; expires: number }>({
    max: MAX_COPIES,
  });
  /** The last answer of `availableFor` per key. */
  private readonly remembered = new WeakMap<object, Remembered>();
  private readonly batched = batchPerTurn<string, Map<string, number>>();
  /** Bumped by every change heard or made here and every gap in hearing them. */
  private changes = 0;
  /** Copies are kept only while this process hears every change. */
  private readonly changesHeard: BroadcastListener;
  private readonly fromCopy: Counter.Internal;
  private readonly fromDatabase: Counter.Internal;

  constructor(private readonly options: LiveStockOptions) {
    const reads = new Counter({
      name: 'bazaar_stock_reads_total',
      help: 'Variants whose storefront stock was answered from this process’ copy or read from the database.',
      labelNames: ['source'] as const,
      registers: [options.registry],
    });
    this.fromCopy = reads.labels('copy');
    this.fromDatabase = reads.labels('database');
    this.changesHeard = new BroadcastListener(options.broadcast, {
      onMessage: (variantIds) => this.forget(variantIds),
      onGap: () => this.forgetAll(),
      onUnavailable: (error) =>
        options.logger.warn(
          { err: error },
          'stock changes unheard; storefront stock is read for every answer',
        ),
    });
  }

  /**
   * Units available now of each variant; variants without stock are absent from the map. Ids
   * as the database writes them (lower case): copies are kept under those.
   */
  async availableOf(variantIds: string[]): Promise<Map<string, number>> {
    return (await this.lookUp(variantIds)).available;
  }

  /**
   * `availableOf(ids())`, remembered for `key`, an object that stands for those variants (a
   * cached representation): while this process has heard no stock change since and none of the
   * copies it came from has expired, the same map answers again without looking anything up. So
   * an answer is never staler than the copies it stands for.
   */
  async availableFor(key: object, ids: () => string[]): Promise<ReadonlyMap<string, number>> {
    const last = this.remembered.get(key);
    if (
      last &&
      last.changes === this.changes &&
      performance.now() < last.until &&
      this.changesHeard.hearing
    ) {
      this.fromCopy.inc(last.variants);
      return last.available;
    }
    const changes = this.changes;
    const variantIds = ids();
    const { available, until } = await this.lookUp(variantIds);
    if (this.changes === changes)
      this.remembered.set(key, { available, changes, until, variants: variantIds.length });
    return available;
  }

  /** The available units, and until when all of them stand as copies (0: not all are copies). */
  private async lookUp(variantIds: string[]): Promise<{ available: Map<string, number>; until: number }> {
    if (this.options.ttlMs <= 0) return { available: await this.read(variantIds), until: 0 };
    this.changesHeard.start();
    const available = new Map<string, number>();
    const missing: string[] = [];
    let until = Infinity;
    for (const id of variantIds) {
      const copy = this.copies.get(id);
      if (!copy) missing.push(id);
      else {
        if (copy.available !== null) available.set(id, copy.available);
        if (copy.expires < until) until = copy.expires;
      }
    }
    this.fromCopy.inc(variantIds.length - missing.length);
    if (missing.length === 0) return { available, until };
    const read = await this.read(missing);
    for (const id of missing) {
      const units = read.get(id);
      if (units !== undefined) available.set(id, units);
      const copy = this.copies.peek(id);
      until = copy ? Math.min(until, copy.expires) : 0;
    }
    return { available, until };
  }

  /** Tells every process, this one first, that these variants' stock changes when `tx` commits. */
  changedBy(tx: Tx, changed: readonly string[]): void {
    if (changed.length === 0) return;
    const variantIds = changed.map((id) => id.toLowerCase());
    // Sent at once, not batched: the message should be on its way before the writer's answer is.
    const tracked = onCommit(tx, () => {
      this.forget(variantIds);
      this.options.broadcast.send(variantIds).catch((error: unknown) => {
        this.options.logger.warn(
          { err: error },
          'stock change not broadcast; other servers show the old availability until their copies expire',
        );
      });
    });
    if (!tracked) throw new Error('stock changed in a transaction whose commit cannot be observed');
  }

  /** Forgets this process' copies and stops listening for changes. */
  async stop(): Promise<void> {
    await this.changesHeard.stop();
  }

  private read(ids: string[]): Promise<Map<string, number>> {
    // Only well-formed ids are read: one caller's bad id must not fail the others' query. (Copies
    // hold only ids that were read, so a bad one never finds a copy either.)
    const wellFormed = ids.filter(isUuid);
    this.fromDatabase.inc(wellFormed.length);
    if (wellFormed.length === 0) return Promise.resolve(new Map<string, number>());
    return this.batched(this, wellFormed, (batch) => this.readAndKeep(batch));
  }

  private async readAndKeep(ids: string[]): Promise<Map<string, number>> {
    const changesBefore = this.changes;
    const rows = await availableById(this.options.db, ids);
    const available = new Map(rows.map((row) => [row.variantId, row.available]));
    // Only a process that listens (TTL above 0) can be hearing.
    if (this.changesHeard.hearing && this.changes === changesBefore) {
      const expires = performance.now() + this.options.ttlMs;
      for (const id of ids) {
        this.copies.set(id, { available: available.get(id) ?? null, expires }, { ttl: this.options.ttlMs });
      }
    }
    return available;
  }

  private forget(variantIds: readonly string[]): void {
    this.changes++;
    for (const id of variantIds) this.copies.delete(id);
  }

  private forgetAll(): void {
    this.changes++;
    this.copies.clear();
  }
}

const availableById = preparedForIds(64, (db, idIn, name) =>
  db
    .select({ variantId: stockLevels.variantId, available: stockLevels.available })
    .from(stockLevels)
    .where(idIn(stockLevels.variantId))
    .prepare(`available_by_id_${name}`),
);
