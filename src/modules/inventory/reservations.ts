import { and, eq, gte, sql } from 'drizzle-orm';
import type { TxContext } from '../../platform/context.js';
import { AppError, conflict, validation } from '../../platform/errors.js';
import { UUID_PATTERN } from '../../platform/ids.js';
import type { LowStockAlerts } from './low-stock.js';
import { stockLevels, stockMovements } from './schema.js';
import { stockOf } from './stock-levels.js';

/** One order line as inventory sees it. */
export interface StockLine {
  variantId: string;
  quantity: number;
}

/** A line that was reserved, with what is left to sell afterwards. */
export interface ReservedLine {
  variantId: string;
  sku: string;
  quantity: number;
  available: number;
}

/** One entry of OUT_OF_STOCK's `details.items`. */
export interface ShortLine {
  variant_id: string;
  sku: string | null;
  requested: number;
  available: number;
}

const MAX_QUANTITY = 1_000_000;

/**
 * Lines of the same variant summed, in variant-id order: every transaction takes its row locks
 * in the same order, so two orders for the same variants can never deadlock.
 */
export function summedLines(items: StockLine[]): [variantId: string, quantity: number][] {
  const sums = new Map<string, number>();
  items.forEach((item, i) => {
    if (!UUID_PATTERN.test(item.variantId)) throw validation(`items.${i}.variant_id`, 'must be a UUID');
    if (!Number.isInteger(item.quantity) || item.quantity < 1 || item.quantity > MAX_QUANTITY)
      throw validation(`items.${i}.quantity`, `must be an integer from 1 to ${MAX_QUANTITY}`);
    const id = item.variantId.toLowerCase();
    sums.set(id, (sums.get(id) ?? 0) + item.quantity);
  });
  for (const [id, quantity] of sums) {
    if (quantity > MAX_QUANTITY) throw validation('items', `the quantity of ${id} exceeds ${MAX_QUANTITY}`);
  }
  return [...sums].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Runs `work` in a savepoint, so a failed call leaves the caller's transaction as it was. */
function atomically<T>(tx: TxContext, work: (sp: TxContext) => Promise<T>): Promise<T> {
  return tx.db.transaction((sp) => work({ ...tx, db: sp }));
}

/**
 * Moves units from available to reserved — one conditional UPDATE per variant, so concurrent
 * orders can never sell the same unit twice. All or nothing: when any variant is short, nothing
 * is reserved and OUT_OF_STOCK names every short SKU.
 */
export async function reserveStock(
  tx: TxContext,
  alerts: LowStockAlerts,
  items: StockLine[],
  reference: string,
): Promise<ReservedLine[]> {
  const lines = summedLines(items);
  if (lines.length === 0) return [];
  return atomically(tx, async (sp) => {
    const reserved: (ReservedLine & { lowStockThreshold: number | null })[] = [];
    const short: [string, number][] = [];
    for (const [variantId, quantity] of lines) {
      const [row] = await sp.db
        .update(stockLevels)
        .set({
          available: sql`${stockLevels.available} - ${quantity}`,
          reserved: sql`${stockLevels.reserved} + ${quantity}`,
          updatedAt: sql`now()`,
        })
        .where(and(eq(stockLevels.variantId, variantId), gte(stockLevels.available, quantity)))
        .returning({
          sku: stockLevels.sku,
          available: stockLevels.available,
          lowStockThreshold: stockLevels.lowStockThreshold,
        });
      if (row) reserved.push({ variantId, quantity, ...row });
      else short.push([variantId, quantity]);
    }
    if (short.length > 0) {
      const current = await stockOf(
        sp,
        short.map(([id]) => id),
      );
      const details: ShortLine[] = short.map(([id, requested]) => ({
        variant_id: id,
        sku: current.get(id)?.sku ?? null,
        requested,
        available: current.get(id)?.available ?? 0,
      }));
      throw new AppError('OUT_OF_STOCK', 'Some items are out of stock.', { items: details });
    }
    await recordMovements(sp, 'reservation', reference, reserved, (q) => ({ reservedDelta: q }));
    for (const line of reserved) await alerts.afterDecrease(sp, line, line.quantity);
    return reserved.map(({ variantId, sku, quantity, available }) => ({
      variantId,
      sku,
      quantity,
      available,
    }));
  });
}

/** Gives reserved units back to available (order cancelled or expired). */
export async function releaseStock(tx: TxContext, items: StockLine[], reference: string): Promise<void> {
  await moveReserved(tx, items, reference, 'release');
}

/** Turns reserved units into a sale: they leave the shelf (order paid). */
export async function commitStock(tx: TxContext, items: StockLine[], reference: string): Promise<void> {
  await moveReserved(tx, items, reference, 'sale');
}

async function moveReserved(
  tx: TxContext,
  items: StockLine[],
  reference: string,
  kind: 'release' | 'sale',
): Promise<void> {
  const lines = summedLines(items);
  if (lines.length === 0) return;
  await atomically(tx, async (sp) => {
    const moved: { variantId: string; quantity: number }[] = [];
    for (const [variantId, quantity] of lines) {
      const [row] = await sp.db
        .update(stockLevels)
        .set({
          reserved: sql`${stockLevels.reserved} - ${quantity}`,
          ...(kind === 'release'
            ? { available: sql`${stockLevels.available} + ${quantity}` }
            : { onHand: sql`${stockLevels.onHand} - ${quantity}` }),
          updatedAt: sql`now()`,
        })
        .where(and(eq(stockLevels.variantId, variantId), gte(stockLevels.reserved, quantity)))
        .returning({ sku: stockLevels.sku });
      if (!row) {
        const current = (await stockOf(sp, [variantId])).get(variantId);
        throw conflict(
          `Cannot ${kind === 'release' ? 'release' : 'sell'} ${quantity} units of ${current?.sku ?? variantId}: only ${current?.reserved ?? 0} are reserved.`,
          {
            variant_id: variantId,
            sku: current?.sku ?? null,
            requested: quantity,
            reserved: current?.reserved ?? 0,
          },
        );
      }
      moved.push({ variantId, quantity });
    }
    await recordMovements(sp, kind, reference, moved, (q) =>
      kind === 'release' ? { reservedDelta: -q } : { reservedDelta: -q, onHandDelta: -q },
    );
  });
}

async function recordMovements(
  tx: TxContext,
  kind: 'reservation' | 'release' | 'sale',
  reference: string,
  lines: { variantId: string; quantity: number }[],
  deltas: (quantity: number) => { onHandDelta?: number; reservedDelta?: number },
): Promise<void> {
  await tx.db.insert(stockMovements).values(
    lines.map((line) => ({
      variantId: line.variantId,
      kind,
      reference,
      actorId: tx.actor?.id ?? null,
      ...deltas(line.quantity),
    })),
  );
}
