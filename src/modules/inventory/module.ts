import type { SQL, SQLWrapper } from 'drizzle-orm';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Registry } from 'prom-client';
import type { Broadcast } from '../../platform/broadcast.js';
import type { Context, TxContext } from '../../platform/context.js';
import type { Database } from '../../platform/db/client.js';
import type { Jobs } from '../../platform/jobs/jobs.js';
import type { Logger } from '../../platform/observability/logger.js';
import { adjustStock } from './adjustments.js';
import { LiveStock } from './live-stock.js';
import { LowStockAlerts, subscribeLowStockLog } from './low-stock.js';
import {
  commitStock,
  releaseStock,
  reserveStock,
  type ReservedLine,
  type StockLine,
} from './reservations.js';
import { inventoryRoutes } from './routes.js';
import {
  availableUnits,
  inStockCondition,
  initializeStock,
  initializeStockLevels,
  listStock,
  renameStockSku,
  stockOf,
  type StockEntry,
  type StockLevel,
  type StockRow,
} from './stock-levels.js';

export interface InventoryDeps {
  /** The primary database, for the storefront's stock reads (see live-stock.ts). */
  db: Database;
  jobs: Jobs;
  logger: Logger;
  /** Names the variants whose stock changed, to every process (`STOCK_CHANGED_CHANNEL`). */
  stockChanges: Broadcast;
  /** `CACHE_TTL_STOCK` in seconds: how long a process may answer storefront stock from its copy. */
  stockTtlSeconds: number;
  registry: Registry;
  /** `LOW_STOCK_THRESHOLD`: the threshold of variants without their own. */
  lowStockThreshold: number;
}

/** Stock per variant, as the catalog and orders use it. Every write runs in the caller's transaction. */
export interface Inventory {
  readonly lowStockThreshold: number;
  /** Creates the stock row of a new variant (movement 'adjustment', reason 'initial stock'). */
  initializeStock: (
    tx: TxContext,
    variant: { id: string; sku: string },
    onHand: number,
  ) => Promise<StockLevel>;
  /** The same for many variants at once, in batches (imports, seeding). */
  initializeStockLevels: (tx: TxContext, entries: StockEntry[]) => Promise<void>;
  /**
   * Reserves every line or none: lines of one variant are summed, each variant takes one
   * conditional UPDATE (in id order); throws OUT_OF_STOCK naming every short SKU. Publishes
   * `inventory.low_stock` when a variant falls below its threshold.
   */
  reserveStock: (tx: TxContext, items: StockLine[], reference: string) => Promise<ReservedLine[]>;
  /** Reserved → available (cancelled or expired order). CONFLICT if fewer units are reserved. */
  releaseStock: (tx: TxContext, items: StockLine[], reference: string) => Promise<void>;
  /** Reserved units sold: reserved and on hand go down (paid order). CONFLICT if fewer are reserved. */
  commitStock: (tx: TxContext, items: StockLine[], reference: string) => Promise<void>;
  /** Admin correction of on-hand units with a reason; audited; CONFLICT below zero available. */
  adjustStock: (
    ctx: Context,
    variantId: string,
    input: { delta: number; reason: string },
  ) => Promise<StockRow>;
  /** Keeps inventory's copy of the SKU when the catalog renames one. */
  renameSku: (tx: TxContext, variantId: string, sku: string) => Promise<void>;
  /** Stock of many variants in one query; variants without stock are absent from the map. */
  stockOf: (ctx: Context, variantIds: string[]) => Promise<Map<string, StockLevel>>;
  /**
   * Units available now, for storefront answers (never for a decision to sell): from this
   * process' copy, which every committed stock change drops, else from the primary, concurrent
   * callers sharing one query. Variants without stock are absent.
   */
  availableOf: (variantIds: string[]) => Promise<ReadonlyMap<string, number>>;
  /**
   * `availableOf(ids())` remembered for `key`, an object that stands for those variants (a cached
   * representation): the same map answers again, without a lookup, until a stock change is heard
   * or a copy it came from expires.
   */
  availableFor: (key: object, ids: () => string[]) => Promise<ReadonlyMap<string, number>>;
  /** SQL condition "the variant in this column has units available", for other modules' filters. */
  inStockCondition: (variantId: SQLWrapper) => SQL;
  /** Variants below their low-stock threshold: how many, and the `limit` most urgent. */
  lowStockReport: (
    ctx: Context,
    limit: number,
  ) => Promise<{
    total: number;
    variants: { variantId: string; sku: string; available: number; threshold: number }[];
  }>;
  /** SQL scalar "units available of the variant in this column" (null without stock), for other modules' reads. */
  availableUnits: (variantId: SQLWrapper) => SQL<number | null>;
  /** Admin routes; register under `/api/v1`. */
  routes: FastifyPluginAsyncZod;
  /** Stops listening for stock changes. */
  stop: () => Promise<void>;
}

export function createInventoryModule(deps: InventoryDeps): Inventory {
  const alerts = new LowStockAlerts(deps.jobs, deps.lowStockThreshold);
  subscribeLowStockLog(deps.jobs, deps.logger);
  const live = new LiveStock({
    db: deps.db,
    broadcast: deps.stockChanges,
    ttlMs: deps.stockTtlSeconds * 1000,
    logger: deps.logger,
    registry: deps.registry,
  });
  // Every write that changes what is available says so when its transaction commits. A sale
  // (commitStock) takes units already reserved: what is available does not change.
  const inventory: Inventory = {
    lowStockThreshold: deps.lowStockThreshold,
    async initializeStock(tx, variant, onHand) {
      const level = await initializeStock(tx, variant, onHand);
      live.changedBy(tx.db, [level.variantId]);
      return level;
    },
    async initializeStockLevels(tx, entries) {
      await initializeStockLevels(tx, entries);
      live.changedBy(
        tx.db,
        entries.map((e) => e.variantId),
      );
    },
    async reserveStock(tx, items, reference) {
      const reserved = await reserveStock(tx, alerts, items, reference);
      live.changedBy(
        tx.db,
        reserved.map((line) => line.variantId),
      );
      return reserved;
    },
    async releaseStock(tx, items, reference) {
      await releaseStock(tx, items, reference);
      live.changedBy(
        tx.db,
        items.map((item) => item.variantId),
      );
    },
    commitStock,
    adjustStock: (ctx, variantId, input) => adjustStock(ctx, alerts, live, variantId, input),
    renameSku: renameStockSku,
    stockOf,
    availableOf: (variantIds) => live.availableOf(variantIds),
    availableFor: (key, ids) => live.availableFor(key, ids),
    inStockCondition,
    async lowStockReport(ctx, limit) {
      const threshold = deps.lowStockThreshold;
      const { rows, total } = await listStock(ctx, { lowStock: true, page: 1, perPage: limit }, threshold);
      const variants = rows.map((r) => ({
        variantId: r.variantId,
        sku: r.sku,
        available: r.available,
        threshold: r.lowStockThreshold ?? threshold,
      }));
      return { total, variants };
    },
    availableUnits,
    routes: async (app) => {
      await app.register(inventoryRoutes(inventory));
    },
    stop: () => live.stop(),
  };
  return inventory;
}
