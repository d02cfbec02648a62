import { and, eq, gte, sql } from 'drizzle-orm';
import { allOf, beforeCommit, type TxContext } from '../../platform/context.js';
import { AppError, conflict, validation } from '../../platform/errors.js';
import { prepared, preparedPerCount } from '../../platform/db/prepared.js';
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

/** A change of one variant's stock: signed deltas, made only while the row has what it needs. */
interface Shift {
  onHandDelta: number;
  reservedDelta: number;
  availableDelta: number;
  /** Units that must be reserved (release, sale) or available (reservation) beforehand. */
  minReserved: number;
  minAvailable: number;
}

const shiftStock = prepared((db) =>
  db
    .update(stockLevels)
    .set({
      onHand: sql`${stockLevels.onHand} + ${sql.placeholder('onHandDelta')}`,
      reserved: sql`${stockLevels.reserved} + ${sql.placeholder('reservedDelta')}`,
      available: sql`${stockLevels.available} + ${sql.placeholder('availableDelta')}`,
      updatedAt: sql`now()`,
    })
    .where(
      and(
        eq(stockLevels.variantId, sql.placeholder('variantId')),
        gte(stockLevels.reserved, sql.placeholder('minReserved')),
        gte(stockLevels.available, sql.placeholder('minAvailable')),
      ),
    )
    .returning({
      sku: stockLevels.sku,
      available: stockLevels.available,
      lowStockThreshold: stockLevels.lowStockThreshold,
    })
    .prepare('inventory_shift_stock'),
);

type ShiftedRow = Awaited<ReturnType<typeof shiftStock>>[number];

/**
 * Shifts the stock of every line, all or nothing. The UPDATEs go out together in variant order
 * (`summedLines`), and PostgreSQL runs them in that order, so every transaction locks stock rows
 * in the same order and two of them never deadlock. When a line lacks what it needs, the lines
 * already shifted are shifted back in the same transaction (their rows are still locked by it),
 * without the cost of a savepoint on every call: the caller's transaction keeps the quantities
 * it had and writes no movement, though the rows' `updated_at` moved and their locks are held
 * until it ends.
 */
async function shiftLines(
  tx: TxContext,
  lines: [variantId: string, quantity: number][],
  shift: (quantity: number) => Shift,
): Promise<{ rows: ShiftedRow[] } | { short: [variantId: string, quantity: number][] }> {
  const results = await allOf(
    lines.map(([variantId, quantity]) => shiftStock(tx.db, { variantId, ...shift(quantity) })),
  );
  const short = lines.filter((_, i) => results[i]!.length === 0);
  if (short.length === 0) return { rows: results.map(([row]) => row!) };
  await allOf(
    lines
      .filter((_, i) => results[i]!.length > 0)
      .map(([variantId, quantity]) => {
        const done = shift(quantity);
        return shiftStock(tx.db, {
          variantId,
          onHandDelta: -done.onHandDelta,
          reservedDelta: -done.reservedDelta,
          availableDelta: -done.availableDelta,
          minReserved: 0,
          minAvailable: 0,
        });
      }),
  );
  return { short };
}

/**
 * Moves units from available to reserved — one conditional UPDATE per variant, so concurrent
 * orders can never sell the same unit twice. The UPDATEs go out together, in variant order, and
 * PostgreSQL runs them in that order: every transaction locks stock rows in the same order. All
 * or nothing: when any variant is short, the lines already taken are given back in the same
 * transaction (their rows are still locked by it) and OUT_OF_STOCK names every short SKU.
 */
export async function reserveStock(
  tx: TxContext,
  alerts: LowStockAlerts,
  items: StockLine[],
  reference: string,
): Promise<ReservedLine[]> {
  const lines = summedLines(items);
  if (lines.length === 0) return [];
  const shifted = await shiftLines(tx, lines, (quantity) => ({
    onHandDelta: 0,
    reservedDelta: quantity,
    availableDelta: -quantity,
    minReserved: 0,
    minAvailable: quantity,
  }));
  if ('short' in shifted) {
    const { short } = shifted;
    const current = await stockOf(
      tx,
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
  const reserved = lines.map(([variantId, quantity], i) => ({ variantId, quantity, ...shifted.rows[i]! }));
  // Nothing below changes what the caller gets back: the movements and alerts ride with the
  // transaction's next statements and are waited for before it commits.
  await beforeCommit(
    tx,
    allOf([
      recordMovements(tx, 'reservation', reference, reserved, (q) => ({ reservedDelta: q })),
      ...reserved.map((line) => alerts.afterDecrease(tx, line, line.quantity)),
    ]),
  );
  return reserved.map(({ variantId, sku, quantity, available }) => ({
    variantId,
    sku,
    quantity,
    available,
  }));
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
  const shifted = await shiftLines(tx, lines, (quantity) => ({
    onHandDelta: kind === 'sale' ? -quantity : 0,
    reservedDelta: -quantity,
    availableDelta: kind === 'release' ? quantity : 0,
    minReserved: quantity,
    minAvailable: 0,
  }));
  if ('short' in shifted) {
    const [variantId, quantity] = shifted.short[0]!;
    const current = (await stockOf(tx, [variantId])).get(variantId);
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
  await beforeCommit(
    tx,
    recordMovements(
      tx,
      kind,
      reference,
      lines.map(([variantId, quantity]) => ({ variantId, quantity })),
      (q) => (kind === 'release' ? { reservedDelta: -q } : { reservedDelta: -q, onHandDelta: -q }),
    ),
  );
}

/** The movements of up to 16 lines at once, one statement per line count. */
const insertMovements = preparedPerCount(16, (db, count) =>
  db
    .insert(stockMovements)
    .values(
      Array.from({ length: count }, (_, i) => ({
        variantId: sql.placeholder(`variantId${i}`),
        kind: sql.placeholder('kind'),
        onHandDelta: sql.placeholder(`onHandDelta${i}`),
        reservedDelta: sql.placeholder(`reservedDelta${i}`),
        reference: sql.placeholder('reference'),
        actorId: sql.placeholder('actorId'),
      })),
    )
    .prepare(`inventory_insert_movements_${count}`),
);

async function recordMovements(
  tx: TxContext,
  kind: 'reservation' | 'release' | 'sale',
  reference: string,
  lines: { variantId: string; quantity: number }[],
  deltas: (quantity: number) => { onHandDelta?: number; reservedDelta?: number },
): Promise<void> {
  const params: Record<string, unknown> = { kind, reference, actorId: tx.actor?.id ?? null };
  lines.forEach((line, i) => {
    const { onHandDelta = 0, reservedDelta = 0 } = deltas(line.quantity);
    params[`variantId${i}`] = line.variantId;
    params[`onHandDelta${i}`] = onHandDelta;
    params[`reservedDelta${i}`] = reservedDelta;
  });
  await insertMovements(tx.db, lines.length, params);
}
