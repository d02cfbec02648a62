import { sql } from 'drizzle-orm';
import {
  bigserial,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { timestamptz } from '../../platform/db/columns.js';

export interface ShippingAddress {
  name: string;
  line1: string;
  line2?: string;
  city: string;
  region?: string;
  postal_code: string;
  country: string;
}

export const orders = pgTable(
  'orders',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Human-facing order number, from a sequence: BZ-100001, BZ-100002, … */
    number: bigserial('number', { mode: 'number' }).notNull(),
    userId: uuid('user_id').notNull(),
    email: text('email').notNull(),
    status: text('status').notNull().default('pending_payment'),
    currency: text('currency').notNull(),
    subtotal: integer('subtotal').notNull(),
    shippingTotal: integer('shipping_total').notNull(),
    taxTotal: integer('tax_total').notNull(),
    total: integer('total').notNull(),
    refundedTotal: integer('refunded_total').notNull().default(0),
    shippingAddress: jsonb('shipping_address').$type<ShippingAddress>().notNull(),
    trackingNumber: text('tracking_number'),
    carrier: text('carrier'),
    /** Unpaid orders past this time are cancelled and their stock released. */
    holdExpiresAt: timestamptz('hold_expires_at'),
    paidAt: timestamptz('paid_at'),
    cancelledAt: timestamptz('cancelled_at'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('orders_number_key').on(t.number),
    index('orders_user_created_idx').on(t.userId, t.createdAt),
    index('orders_status_created_idx').on(t.status, t.createdAt),
    index('orders_created_idx').on(t.createdAt),
    // Admin search by e-mail prefix (e-mails are stored lower-case).
    index('orders_email_idx').on(t.email.op('text_pattern_ops')),
    index('orders_hold_idx')
      .on(t.holdExpiresAt)
      .where(sql`${t.status} = 'pending_payment'`),
    check(
      'orders_status_check',
      sql`${t.status} in ('pending_payment', 'paid', 'fulfilled', 'shipped', 'delivered', 'cancelled', 'refunded', 'partially_refunded')`,
    ),
    check(
      'orders_totals_check',
      sql`${t.total} = ${t.subtotal} + ${t.shippingTotal} + ${t.taxTotal} and ${t.total} >= 0`,
    ),
    check('orders_refunded_check', sql`${t.refundedTotal} >= 0 and ${t.refundedTotal} <= ${t.total}`),
  ],
);

/** Lines with a snapshot of what was bought at which price: later catalog edits do not change them. */
export const orderItems = pgTable(
  'order_items',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orderId: uuid('order_id')
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    /** The order's customer, copied from it: the distribution key when sharding by customer. */
    userId: uuid('user_id').notNull(),
    variantId: uuid('variant_id').notNull(),
    productId: uuid('product_id').notNull(),
    sku: text('sku').notNull(),
    title: text('title').notNull(),
    options: jsonb('options').$type<Record<string, string>>().notNull().default({}),
    unitPrice: integer('unit_price').notNull(),
    quantity: integer('quantity').notNull(),
    lineTotal: integer('line_total').notNull(),
    /** The line's place in the order as the customer sent it (0, 1, …). */
    position: integer('position').notNull().default(0),
  },
  (t) => [
    index('order_items_order_idx').on(t.orderId),
    check('order_items_quantity_check', sql`${t.quantity} > 0`),
    check('order_items_total_check', sql`${t.lineTotal} = ${t.unitPrice} * ${t.quantity}`),
  ],
);

/** Every status transition: who, when, from, to, and why. */
export const orderStatusHistory = pgTable(
  'order_status_history',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    orderId: uuid('order_id')
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    /** The order's customer, copied from it: the distribution key when sharding by customer. */
    userId: uuid('user_id').notNull(),
    fromStatus: text('from_status'),
    toStatus: text('to_status').notNull(),
    actorType: text('actor_type').notNull(),
    actorId: uuid('actor_id'),
    note: text('note'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [
    index('order_status_history_order_idx').on(t.orderId, t.id),
    // Erasure finds a customer's notes by it.
    index('order_status_history_user_idx').on(t.userId),
  ],
);

/** Flat shipping price per destination country; `*` is the fallback for every other country. */
export const shippingRates = pgTable(
  'shipping_rates',
  {
    country: text('country').notNull(),
    currency: text('currency').notNull(),
    amount: integer('amount').notNull(),
    /** Orders whose subtotal reaches this ship free. */
    freeOver: integer('free_over'),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.country, t.currency] }),
    check('shipping_rates_amount_check', sql`${t.amount} >= 0`),
  ],
);

/** Sales tax / VAT per destination country in basis points (1900 = 19 %); `*` is the fallback. */
export const taxRates = pgTable(
  'tax_rates',
  {
    country: text('country').primaryKey(),
    rateBasisPoints: integer('rate_basis_points').notNull(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [check('tax_rates_rate_check', sql`${t.rateBasisPoints} between 0 and 10000`)],
);
