import type { SQL, SQLWrapper } from 'drizzle-orm';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Context, TxContext } from '../../platform/context.js';
import type { Jobs } from '../../platform/jobs/jobs.js';
import type { Logger } from '../../platform/observability/logger.js';
import { adjustStock } from './adjustments.js';
import { availableOf } from './live-stock.js';
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
  jobs: Jobs;
  logger: Logger;
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
  /** Units available now, for storefront answers; concurrent callers share one query (no transactions). */
  availableOf: (ctx: Context, variantIds: string[]) => Promise<ReadonlyMap<string, number>>;
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
}

export function createInventoryModule(deps: InventoryDeps): Inventory {
  const alerts = new LowStockAlerts(deps.jobs, deps.lowStockThreshold);
  subscribeLowStockLog(deps.jobs, deps.logger);
  const inventory: Inventory = {
    lowStockThreshold: deps.lowStockThreshold,
    initializeStock,
    initializeStockLevels,
    reserveStock: (tx, items, reference) => reserveStock(tx, alerts, items, reference),
    releaseStock,
    commitStock,
    adjustStock: (ctx, variantId, input) => adjustStock(ctx, alerts, variantId, input),
    renameSku: renameStockSku,
    stockOf,
    availableOf,
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
  };
  return inventory;
}
