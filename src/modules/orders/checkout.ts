import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { TxContext } from '../../platform/context.js';
import { AppError, validation, type FieldError } from '../../platform/errors.js';
import type { Jobs } from '../../platform/jobs/jobs.js';
import type { Catalog, VariantForSale } from '../catalog/index.js';
import type { Inventory } from '../inventory/index.js';
import { eventOf, EVENT_SOURCE, ORDER_CREATED, type OrderEvent } from './events.js';
import { actorTypeOf } from './policy.js';
import type { OrderDetail } from './queries.js';
import { historyEntry, toRecord } from './records.js';
import { shippingRatesTo, taxRateFor } from './rates.js';
import { orderItems, orders, orderStatusHistory, type ShippingAddress } from './schema.js';
import { computeTotals } from './totals.js';

export interface CheckoutDeps {
  jobs: Jobs;
  catalog: Pick<Catalog, 'variantsForSale'>;
  inventory: Pick<Inventory, 'reserveStock'>;
  /** `ORDER_HOLD_MINUTES`: how long an unpaid order keeps its stock. */
  holdMinutes: number;
}

export interface PlaceOrderInput {
  items: { variantId: string; quantity: number }[];
  email: string;
  shippingAddress: ShippingAddress;
}

/** The int4 columns of money and quantities. */
const INT4_MAX = 2_147_483_647;

/** What a line snapshots from the catalog: the variant's SKU, name and price at order time. */
interface PricedLine {
  variant: VariantForSale;
  quantity: number;
  /** Index of the request line it came from (the first, when lines were summed). */
  index: number;
}

/** Lines of the same variant summed, in the order the customer first named them. */
function summed(items: PlaceOrderInput['items']): { variantId: string; quantity: number; index: number }[] {
  const byVariant = new Map<string, { variantId: string; quantity: number; index: number }>();
  items.forEach((item, index) => {
    const variantId = item.variantId.toLowerCase();
    const line = byVariant.get(variantId);
    if (line) line.quantity += item.quantity;
    else byVariant.set(variantId, { variantId, quantity: item.quantity, index });
  });
  return [...byVariant.values()];
}

/** Product and variant name as the customer saw it, e.g. "Oxford shirt — Blue / M". */
function lineTitle(variant: VariantForSale): string {
  return variant.title ? `${variant.productTitle} — ${variant.title}` : variant.productTitle;
}

/**
 * Checkout, in the caller's transaction: validates the lines against the catalog, snapshots
 * prices, computes totals with the configured shipping and tax rates, reserves stock (all lines
 * or none: OUT_OF_STOCK names every short SKU), writes the order with its lines and first history
 * row, and publishes `order.created`. Anything refused leaves the database as it was.
 */
export async function placeOrder(
  tx: TxContext,
  deps: CheckoutDeps,
  input: PlaceOrderInput,
): Promise<OrderDetail> {
  const actor = tx.actor;
  if (actor?.kind !== 'user') throw new AppError('FORBIDDEN', 'Orders are placed by customer accounts.');

  const requested = summed(input.items);
  const country = input.shippingAddress.country;
  // Independent reads go out together: one round trip instead of three. Shipping is read for
  // every currency, since the order's currency comes from the variants.
  const [variants, taxRate, shippingRates] = await Promise.all([
    deps.catalog.variantsForSale(
      tx,
      requested.map((l) => l.variantId),
    ),
    taxRateFor(tx, country),
    shippingRatesTo(tx, country),
  ]);
  const errors: FieldError[] = [];
  const lines: PricedLine[] = [];
  for (const line of requested) {
    const variant = variants.get(line.variantId);
    const field = `items.${line.index}.variant_id`;
    if (!variant) errors.push({ field, message: 'no such product variant' });
    else if (!variant.purchasable) errors.push({ field, message: `${variant.sku} is not for sale` });
    else lines.push({ variant, quantity: line.quantity, index: line.index });
  }
  if (errors.length > 0) throw new AppError('VALIDATION_ERROR', 'The request is invalid.', errors);

  const currency = lines[0]!.variant.currency;
  const foreign = lines.find((l) => l.variant.currency !== currency);
  if (foreign) {
    throw validation(
      `items.${foreign.index}.variant_id`,
      `is priced in ${foreign.variant.currency}, the order in ${currency}; place one order per currency`,
    );
  }

  const shipping = shippingRates.in(currency);
  if (!shipping) {
    throw validation('shipping_address.country', `the shop does not ship to ${country} in ${currency}`);
  }
  const totals = computeTotals(
    lines.map((l) => ({ unitPrice: l.variant.priceAmount, quantity: l.quantity })),
    shipping,
    taxRate,
  );
  if (totals.total > INT4_MAX || lines.some((l) => l.variant.priceAmount * l.quantity > INT4_MAX)) {
    throw validation('items', 'the order is too large; split it into several orders');
  }

  const orderId = randomUUID();
  const [row] = await tx.db
    .insert(orders)
    .values({
      id: orderId,
      userId: actor.id,
      email: input.email.trim().toLowerCase(),
      status: 'pending_payment',
      currency,
      ...totals,
      shippingAddress: input.shippingAddress,
      holdExpiresAt: sql`now() + make_interval(mins => ${deps.holdMinutes})`,
    })
    .returning();
  // The order row first (its items and history refer to it), then the rest of the writes together.
  const [items, [created]] = await Promise.all([
    tx.db
      .insert(orderItems)
      .values(
        lines.map((l, position) => ({
          orderId,
          userId: actor.id,
          variantId: l.variant.variantId,
          productId: l.variant.productId,
          sku: l.variant.sku,
          title: lineTitle(l.variant),
          options: l.variant.options,
          unitPrice: l.variant.priceAmount,
          quantity: l.quantity,
          lineTotal: l.variant.priceAmount * l.quantity,
          position,
        })),
      )
      .returning(),
    tx.db
      .insert(orderStatusHistory)
      .values({
        orderId,
        userId: actor.id,
        fromStatus: null,
        toStatus: 'pending_payment',
        actorType: actorTypeOf(actor),
        actorId: actor.id,
        note: 'Order placed.',
      })
      .returning(),
    deps.jobs.publish<OrderEvent>(tx.db, ORDER_CREATED, eventOf(row!), EVENT_SOURCE),
  ]);
  // Reservation last: it locks the hot stock rows (in variant order), and they stay locked only
  // for the rest of this transaction, so concurrent checkouts of one SKU queue as briefly as possible.
  await deps.inventory.reserveStock(
    tx,
    lines.map((l) => ({ variantId: l.variant.variantId, quantity: l.quantity })),
    orderId,
  );
  return {
    order: toRecord(
      row!,
      items.sort((a, b) => a.position - b.position),
    ),
    history: [historyEntry(created!)],
  };
}
