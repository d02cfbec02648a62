import { and, eq, sql } from 'drizzle-orm';
import { inTransaction, type Context } from '../../platform/context.js';
import { conflict, notFound } from '../../platform/errors.js';
import { recordAudit } from '../audit/index.js';
import type { LiveStock } from './live-stock.js';
import type { LowStockAlerts } from './low-stock.js';
import { stockLevels, stockMovements } from './schema.js';
import type { StockRow } from './stock-levels.js';

// The columns are int4; a sum beyond this would fail in the database instead of answering 409.
const INT4_MAX = 2_147_483_647;

/**
 * An admin's correction of the units on hand (count, damage, delivery): on hand and available
 * move together, never below zero available. Audited, with a movement carrying the reason.
 */
export async function adjustStock(
  ctx: Context,
  alerts: LowStockAlerts,
  live: LiveStock,
  variantId: string,
  input: { delta: number; reason: string },
): Promise<StockRow> {
  const { delta } = input;
  const reason = input.reason.trim();
  return inTransaction(ctx, async (tx) => {
    const [after] = await tx.db
      .update(stockLevels)
      .set({
        onHand: sql`${stockLevels.onHand} + ${delta}`,
        available: sql`${stockLevels.available} + ${delta}`,
        updatedAt: sql`now()`,
      })
      .where(
        and(
          eq(stockLevels.variantId, variantId),
          sql`${stockLevels.available}::bigint + ${delta} >= 0`,
          sql`${stockLevels.onHand}::bigint + ${delta} <= ${INT4_MAX}`,
        ),
      )
      .returning();
    if (!after) {
      const [current] = await tx.db
        .select()
        .from(stockLevels)
        .where(eq(stockLevels.variantId, variantId))
        .limit(1);
      if (!current) throw notFound('Stock of this variant');
      throw conflict(
        delta < 0
          ? `Cannot remove ${-delta} units of ${current.sku}: only ${current.available} are available (${current.reserved} are reserved by orders).`
          : `Cannot add ${delta} units of ${current.sku}: on hand would exceed ${INT4_MAX}.`,
        { field: 'delta', sku: current.sku, available: current.available, reserved: current.reserved },
      );
    }
    live.changedBy(tx.db, [after.variantId]);
    await tx.db.insert(stockMovements).values({
      variantId,
      kind: 'adjustment',
      onHandDelta: delta,
      reason,
      actorId: tx.actor?.id ?? null,
    });
    await recordAudit(tx, {
      action: 'inventory.adjusted',
      targetType: 'variant',
      targetId: variantId,
      diff: {
        on_hand: { from: after.onHand - delta, to: after.onHand },
        available: { from: after.available - delta, to: after.available },
      },
      metadata: { sku: after.sku, delta, reason },
    });
    if (delta < 0) await alerts.afterDecrease(tx, after, -delta);
    return after;
  });
}
