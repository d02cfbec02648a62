import { and, asc, count, desc, eq, inArray, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import type { Context, TxContext } from '../../platform/context.js';
import { notFound } from '../../platform/errors.js';
import { stockLevels, stockMovements } from './schema.js';

export type StockRow = typeof stockLevels.$inferSelect;
export type Movement = typeof stockMovements.$inferSelect;

/** Stock of one variant: `available` can still be sold, `reserved` is held by unpaid orders. */
export interface StockLevel {
  variantId: string;
  sku: string;
  onHand: number;
  reserved: number;
  available: number;
}

export interface StockEntry {
  variantId: string;
  sku: string;
  onHand: number;
}

const BATCH = 500;

/**
 * Creates the stock rows of new variants, with an 'adjustment' movement ('initial stock') for each
 * that starts with units. Batched, so seeding and imports stay fast; runs in the caller's transaction.
 */
export async function initializeStockLevels(tx: TxContext, entries: StockEntry[]): Promise<void> {
  for (const entry of entries) {
    if (!Number.isInteger(entry.onHand) || entry.onHand < 0)
      throw new RangeError(`Initial stock of ${entry.sku} must be a non-negative integer.`);
  }
  for (let i = 0; i < entries.length; i += BATCH) {
    const batch = entries.slice(i, i + BATCH);
    await tx.db.insert(stockLevels).values(
      batch.map((e) => ({
        variantId: e.variantId,
        sku: e.sku,
        onHand: e.onHand,
        available: e.onHand,
        reserved: 0,
      })),
    );
    const movements = batch
      .filter((e) => e.onHand > 0)
      .map((e) => ({
        variantId: e.variantId,
        kind: 'adjustment',
        onHandDelta: e.onHand,
        reason: 'initial stock',
        actorId: tx.actor?.id ?? null,
      }));
    if (movements.length > 0) await tx.db.insert(stockMovements).values(movements);
  }
}

/** Creates the stock row of one new variant. */
export async function initializeStock(
  tx: TxContext,
  variant: { id: string; sku: string },
  onHand: number,
): Promise<StockLevel> {
  await initializeStockLevels(tx, [{ variantId: variant.id, sku: variant.sku, onHand }]);
  return { variantId: variant.id, sku: variant.sku, onHand, reserved: 0, available: onHand };
}

/** Keeps the SKU copy on the stock row in step when the catalog renames a variant's SKU. */
export async function renameStockSku(tx: TxContext, variantId: string, sku: string): Promise<void> {
  await tx.db
    .update(stockLevels)
    .set({ sku, updatedAt: sql`now()` })
    .where(eq(stockLevels.variantId, variantId));
}

/** Stock of the given variants in one query; variants without a stock row are absent. */
export async function stockOf(ctx: Context, variantIds: string[]): Promise<Map<string, StockLevel>> {
  const out = new Map<string, StockLevel>();
  if (variantIds.length === 0) return out;
  const rows = await ctx.db
    .select({
      variantId: stockLevels.variantId,
      sku: stockLevels.sku,
      onHand: stockLevels.onHand,
      reserved: stockLevels.reserved,
      available: stockLevels.available,
    })
    .from(stockLevels)
    .where(inArray(stockLevels.variantId, [...new Set(variantIds)]));
  for (const row of rows) out.set(row.variantId, row);
  return out;
}

/**
 * A condition "this variant has units available", for other modules' queries (the catalog's
 * `in_stock` filter), so they never name inventory's table themselves.
 */
export function inStockCondition(variantId: SQLWrapper): SQL {
  return sql`exists (select 1 from ${stockLevels} where ${stockLevels.variantId} = ${variantId} and ${stockLevels.available} > 0)`;
}

/**
 * The units of the variant in this column that can still be sold (null without a stock row), as a
 * scalar subquery, so other modules' reads carry stock without a second round trip.
 */
export function availableUnits(variantId: SQLWrapper): SQL<number | null> {
  return sql<
    number | null
  >`(select ${stockLevels.available} from ${stockLevels} where ${stockLevels.variantId} = ${variantId})`;
}

/** The threshold in force for a row: its own, else the configured default. */
const thresholdOf = (defaultThreshold: number) =>
  sql`coalesce(${stockLevels.lowStockThreshold}, ${defaultThreshold}::int)`;

export interface StockQuery {
  variantId?: string;
  sku?: string;
  lowStock?: boolean;
  page: number;
  perPage: number;
}

export async function listStock(ctx: Context, query: StockQuery, defaultThreshold: number) {
  const threshold = thresholdOf(defaultThreshold);
  const filters: SQL[] = [];
  if (query.variantId) filters.push(eq(stockLevels.variantId, query.variantId));
  if (query.sku) filters.push(eq(stockLevels.sku, query.sku));
  if (query.lowStock !== undefined)
    filters.push(
      query.lowStock
        ? sql`${stockLevels.available} < ${threshold}`
        : sql`${stockLevels.available} >= ${threshold}`,
    );
  const where = filters.length > 0 ? and(...filters) : undefined;
  const [rows, [total]] = await Promise.all([
    ctx.db
      .select()
      .from(stockLevels)
      .where(where)
      // A low-stock list shows the most urgent first.
      .orderBy(...(query.lowStock ? [asc(stockLevels.available)] : []), asc(stockLevels.sku))
      .limit(query.perPage)
      .offset((query.page - 1) * query.perPage),
    ctx.db.select({ value: count() }).from(stockLevels).where(where),
  ]);
  return { rows, total: total?.value ?? 0 };
}

export async function getStock(ctx: Context, variantId: string): Promise<StockRow> {
  const [row] = await ctx.db.select().from(stockLevels).where(eq(stockLevels.variantId, variantId)).limit(1);
  if (!row) throw notFound('Stock of this variant');
  return row;
}

export async function listMovements(
  ctx: Context,
  variantId: string,
  page: { page: number; perPage: number },
): Promise<{ rows: Movement[]; total: number }> {
  const [exists] = await ctx.db
    .select({ variantId: stockLevels.variantId })
    .from(stockLevels)
    .where(eq(stockLevels.variantId, variantId))
    .limit(1);
  if (!exists) throw notFound('Stock of this variant');
  const where = eq(stockMovements.variantId, variantId);
  const [rows, [total]] = await Promise.all([
    ctx.db
      .select()
      .from(stockMovements)
      .where(where)
      .orderBy(desc(stockMovements.id))
      .limit(page.perPage)
      .offset((page.page - 1) * page.perPage),
    ctx.db.select({ value: count() }).from(stockMovements).where(where),
  ]);
  return { rows, total: total?.value ?? 0 };
}
