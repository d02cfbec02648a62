import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { allOf, beforeCommit, type TxContext } from '../../platform/context.js';
import { prepared, preparedPerCount } from '../../platform/db/prepared.js';
import { AppError, validation, type FieldError } from '../../platform/errors.js';
import type { Jobs } from '../../platform/jobs/jobs.js';
import type { Catalog, VariantForSale } from '../catalog/index.js';
import type { Inventory } from '../inventory/index.js';
import { eventOf, EVENT_SOURCE, ORDER_CREATED, type OrderEvent } from './events.js';
import { actorTypeOf } from './policy.js';
import type { OrderDetail } from './queries.js';
import { historyEntry, recordStatusChange, toRecord } from './records.js';
import { shippingRatesTo, taxRateFor } from './rates.js';
import { orderItems, orders, type ShippingAddress } from './schema.js';
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
  // Every write goes out at once: the order, its lines and history, and the stock reservation
  // (its UPDATEs lock the hot stock rows, in variant order, for the rest of this transaction
  // only). The event needs the order's number, so it follows once the order row is back, with
  // the reservation's movements; neither changes the answer, so both ride with the caller's next
  // statement (the stored idempotent answer) and are waited for before the commit.
  const [[row], items, created] = await allOf([
    insertOrder(tx.db, {
      id: orderId,
      userId: actor.id,
      email: input.email.trim().toLowerCase(),
      currency,
      ...totals,
      shippingAddress: JSON.stringify(input.shippingAddress),
      holdMinutes: deps.holdMinutes,
    }),
    insertItems(tx.db, lines.length, itemParams(orderId, actor.id, lines)),
    recordStatusChange(tx.db, {
      orderId,
      userId: actor.id,
      from: null,
      to: 'pending_payment',
      actorType: actorTypeOf(actor),
      actorId: actor.id,
      note: 'Order placed.',
    }),
    deps.inventory.reserveStock(
      tx,
      lines.map((l) => ({ variantId: l.variant.variantId, quantity: l.quantity })),
      orderId,
    ),
  ]);
  await beforeCommit(tx, deps.jobs.publish<OrderEvent>(tx.db, ORDER_CREATED, eventOf(row!), EVENT_SOURCE));
  return {
    order: toRecord(
      row!,
      items.sort((a, b) => a.position - b.position),
    ),
    history: [historyEntry(created)],
  };
}

/** The statements of checkout, built once (see `prepared`). */
const insertOrder = prepared((db) =>
  db
    .insert(orders)
    .values({
      id: sql.placeholder('id'),
      userId: sql.placeholder('userId'),
      email: sql.placeholder('email'),
      status: 'pending_payment',
      currency: sql.placeholder('currency'),
      subtotal: sql.placeholder('subtotal'),
      shippingTotal: sql.placeholder('shippingTotal'),
      taxTotal: sql.placeholder('taxTotal'),
      total: sql.placeholder('total'),
      shippingAddress: sql`${sql.placeholder('shippingAddress')}::jsonb`,
      holdExpiresAt: sql`now() + make_interval(mins => ${sql.placeholder('holdMinutes')})`,
    })
    .returning()
    .prepare('orders_insert'),
);

/** Lines of up to 32 variants in one statement per count. */
const insertItems = preparedPerCount(32, (db, count) =>
  db
    .insert(orderItems)
    .values(
      Array.from({ length: count }, (_, i) => ({
        orderId: sql.placeholder('orderId'),
        userId: sql.placeholder('userId'),
        variantId: sql.placeholder(`variantId${i}`),
        productId: sql.placeholder(`productId${i}`),
        sku: sql.placeholder(`sku${i}`),
        title: sql.placeholder(`title${i}`),
        options: sql`${sql.placeholder(`options${i}`)}::jsonb`,
        unitPrice: sql.placeholder(`unitPrice${i}`),
        quantity: sql.placeholder(`quantity${i}`),
        lineTotal: sql.placeholder(`lineTotal${i}`),
        position: i,
      })),
    )
    .returning()
    .prepare(`order_items_insert_${count}`),
);

function itemParams(orderId: string, userId: string, lines: PricedLine[]): Record<string, unknown> {
  const params: Record<string, unknown> = { orderId, userId };
  lines.forEach(({ variant, quantity }, i) => {
    params[`variantId${i}`] = variant.variantId;
    params[`productId${i}`] = variant.productId;
    params[`sku${i}`] = variant.sku;
    params[`title${i}`] = lineTitle(variant);
    params[`options${i}`] = JSON.stringify(variant.options);
    params[`unitPrice${i}`] = variant.priceAmount;
    params[`quantity${i}`] = quantity;
    params[`lineTotal${i}`] = variant.priceAmount * quantity;
  });
  return params;
}
