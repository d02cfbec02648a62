import { z } from 'zod';
import { envelope, listEnvelope, paginationQuery } from '../../platform/http/envelope.js';
import type { Movement, StockRow } from './stock-levels.js';

const count = z.int().min(0).max(2_147_483_647);
const sku = z
  .string()
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/)
  .meta({ example: 'TEE-BLK-M' });

export const variantIdParams = z.strictObject({ variant_id: z.uuid() });

export const stockLevelSchema = z
  .object({
    variant_id: z.uuid(),
    sku,
    on_hand: count.meta({ description: 'Units in the warehouse: available + reserved.' }),
    reserved: count.meta({ description: 'Units held by orders that are not paid yet.' }),
    available: count.meta({ description: 'Units that can still be sold.' }),
    low_stock_threshold: count.meta({
      description: 'Below this many available units the variant counts as low on stock.',
    }),
    low_stock: z.boolean(),
    updated_at: z.iso.datetime(),
  })
  .meta({ id: 'StockLevel', description: 'Stock of one variant.' });

/** `defaultThreshold` applies where the variant has no threshold of its own. */
export function toStockDto(row: StockRow, defaultThreshold: number): z.infer<typeof stockLevelSchema> {
  const threshold = row.lowStockThreshold ?? defaultThreshold;
  return {
    variant_id: row.variantId,
    sku: row.sku,
    on_hand: row.onHand,
    reserved: row.reserved,
    available: row.available,
    low_stock_threshold: threshold,
    low_stock: row.available < threshold,
    updated_at: row.updatedAt.toISOString(),
  };
}

export const adjustmentBody = z
  .strictObject({
    delta: z
      .int()
      .min(-1_000_000)
      .max(1_000_000)
      .refine((d) => d !== 0, 'must not be zero')
      .meta({ description: 'Units to add (positive) or remove (negative).', example: -3 }),
    reason: z.string().trim().min(1).max(200).meta({
      description: 'Why the stock changed; kept with the movement and in the audit log.',
      example: 'damaged in transit',
    }),
  })
  .meta({ id: 'StockAdjustment', description: 'A change to a variant’s stock with the reason for it.' });

export const stockQuery = z.strictObject({
  ...paginationQuery,
  variant_id: z.uuid().optional(),
  sku: sku.optional(),
  low_stock: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional()
    .meta({
      description: '`true`: only variants below their low-stock threshold; `false`: only the others.',
    }),
});

export const movementSchema = z
  .object({
    id: z.int().min(1).max(Number.MAX_SAFE_INTEGER),
    variant_id: z.uuid(),
    kind: z.enum(['adjustment', 'reservation', 'release', 'sale', 'return']),
    on_hand_delta: z.int().min(-2_147_483_648).max(2_147_483_647),
    reserved_delta: z.int().min(-2_147_483_648).max(2_147_483_647),
    reason: z.string().max(200).nullable(),
    reference: z.string().max(200).nullable().meta({ description: 'The order (or other cause) behind it.' }),
    actor_id: z.uuid().nullable(),
    created_at: z.iso.datetime(),
  })
  .meta({ id: 'StockMovement', description: 'One change of a variant’s stock.' });

export function toMovementDto(row: Movement): z.infer<typeof movementSchema> {
  return {
    id: row.id,
    variant_id: row.variantId,
    kind: row.kind as z.infer<typeof movementSchema>['kind'],
    on_hand_delta: row.onHandDelta,
    reserved_delta: row.reservedDelta,
    reason: row.reason,
    reference: row.reference,
    actor_id: row.actorId,
    created_at: row.createdAt.toISOString(),
  };
}

export const movementQuery = z.strictObject({ ...paginationQuery });

export const stockEnvelope = envelope(stockLevelSchema);
export const stockList = listEnvelope(stockLevelSchema);
export const movementList = listEnvelope(movementSchema);
