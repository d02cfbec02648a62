import { sql } from 'drizzle-orm';
import { bigserial, check, index, integer, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { timestamptz } from '../../platform/db/columns.js';

/**
 * Stock per variant. `available` is what can still be sold; a reservation moves units from
 * available to reserved in one conditional UPDATE, and the CHECKs make overselling impossible
 * even for code that forgets the condition.
 */
export const stockLevels = pgTable(
  'inventory_stock',
  {
    variantId: uuid('variant_id').primaryKey(),
    sku: text('sku').notNull(),
    onHand: integer('on_hand').notNull().default(0),
    reserved: integer('reserved').notNull().default(0),
    available: integer('available').notNull().default(0),
    lowStockThreshold: integer('low_stock_threshold'),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('inventory_stock_sku_idx').on(t.sku),
    index('inventory_stock_available_idx').on(t.available),
    check('inventory_stock_available_check', sql`${t.available} >= 0`),
    check('inventory_stock_reserved_check', sql`${t.reserved} >= 0`),
    check('inventory_stock_balance_check', sql`${t.onHand} = ${t.available} + ${t.reserved}`),
  ],
);

/** Every change of stock, with its reason: adjustments, reservations, releases, sales. */
export const stockMovements = pgTable(
  'inventory_movements',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    variantId: uuid('variant_id').notNull(),
    kind: text('kind').notNull(),
    onHandDelta: integer('on_hand_delta').notNull().default(0),
    reservedDelta: integer('reserved_delta').notNull().default(0),
    reason: text('reason'),
    reference: text('reference'),
    actorId: uuid('actor_id'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [
    index('inventory_movements_variant_idx').on(t.variantId, t.createdAt),
    check(
      'inventory_movements_kind_check',
      sql`${t.kind} in ('adjustment', 'reservation', 'release', 'sale', 'return')`,
    ),
  ],
);
