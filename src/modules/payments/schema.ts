import { sql } from 'drizzle-orm';
import {
  bigserial,
  check,
  customType,
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

const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' });

export const payments = pgTable(
  'payments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orderId: uuid('order_id').notNull(),
    userId: uuid('user_id').notNull(),
    gateway: text('gateway').notNull(),
    gatewayReference: text('gateway_reference').notNull(),
    status: text('status').notNull().default('requires_confirmation'),
    amount: integer('amount').notNull(),
    currency: text('currency').notNull(),
    amountRefunded: integer('amount_refunded').notNull().default(0),
    failureReason: text('failure_reason'),
    /**
     * Set when this attempt succeeded but its money does not pay the order (another attempt paid
     * it first: 'duplicate_payment'; the order was cancelled meanwhile: 'order_not_payable').
     * Such a payment is refunded in full automatically.
     */
    autoRefundReason: text('auto_refund_reason'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('payments_gateway_reference_key').on(t.gateway, t.gatewayReference),
    index('payments_order_idx').on(t.orderId, t.createdAt),
    index('payments_status_idx').on(t.status, t.createdAt),
    index('payments_user_idx').on(t.userId, t.createdAt),
    check(
      'payments_status_check',
      sql`${t.status} in ('requires_confirmation', 'requires_action', 'processing', 'succeeded', 'failed', 'cancelled')`,
    ),
    check(
      'payments_auto_refund_reason_check',
      sql`${t.autoRefundReason} is null or ${t.autoRefundReason} in ('duplicate_payment', 'order_not_payable')`,
    ),
    check('payments_refund_check', sql`${t.amountRefunded} >= 0 and ${t.amountRefunded} <= ${t.amount}`),
  ],
);

/** Gateway webhook events already processed: the dedupe key of the webhook handler. */
export const paymentEvents = pgTable(
  'payment_events',
  {
    gateway: text('gateway').notNull(),
    eventId: text('event_id').notNull(),
    type: text('type').notNull(),
    paymentId: uuid('payment_id'),
    /** The payment's customer, copied from it: the distribution key when sharding by customer. */
    userId: uuid('user_id').notNull(),
    receivedAt: timestamptz('received_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.gateway, t.eventId] })],
);

export const refunds = pgTable(
  'refunds',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    paymentId: uuid('payment_id')
      .notNull()
      .references(() => payments.id),
    orderId: uuid('order_id').notNull(),
    /** The payment's customer, copied from it: the distribution key when sharding by customer. */
    userId: uuid('user_id').notNull(),
    amount: integer('amount').notNull(),
    currency: text('currency').notNull(),
    reason: text('reason').notNull(),
    status: text('status').notNull().default('pending'),
    gatewayReference: text('gateway_reference'),
    actorId: uuid('actor_id'),
    /**
     * `<scope>:<Idempotency-Key>` of the admin request that created it: a retry of that request
     * resumes this refund instead of starting a second one.
     */
    requestKey: text('request_key'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('refunds_order_idx').on(t.orderId),
    index('refunds_payment_idx').on(t.paymentId),
    index('refunds_gateway_reference_idx').on(t.gatewayReference),
    uniqueIndex('refunds_request_key').on(t.requestKey),
    check('refunds_amount_check', sql`${t.amount} > 0`),
    check('refunds_status_check', sql`${t.status} in ('pending', 'succeeded', 'failed')`),
  ],
);

/** Sequential invoice numbers per shop, without gaps: one row, incremented in the invoice's transaction. */
export const invoiceCounters = pgTable('invoice_counters', {
  shop: text('shop').primaryKey(),
  lastNumber: integer('last_number').notNull().default(0),
});

export const invoices = pgTable(
  'invoices',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    orderId: uuid('order_id').notNull(),
    /** The order's customer, copied from it: the distribution key when sharding by customer. */
    userId: uuid('user_id').notNull(),
    number: text('number').notNull(),
    pdf: bytea('pdf').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('invoices_order_key').on(t.orderId), uniqueIndex('invoices_number_key').on(t.number)],
);

/**
 * The built-in test gateway's own records. It is a separate system that happens to live in the
 * same process: Bazaar's payment code talks to it only through its HTTP API and its webhooks.
 */
export const testGatewayIntents = pgTable(
  'test_gateway_intents',
  {
    id: text('id').primaryKey(),
    clientSecretHash: text('client_secret_hash').notNull(),
    amount: integer('amount').notNull(),
    currency: text('currency').notNull(),
    status: text('status').notNull().default('requires_confirmation'),
    metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
    amountRefunded: integer('amount_refunded').notNull().default(0),
    cardLast4: text('card_last4'),
    /** The merchant's Idempotency-Key of the create call: a retry gets the same intent. */
    idempotencyKey: text('idempotency_key'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('test_gateway_intents_created_idx').on(t.createdAt),
    uniqueIndex('test_gateway_intents_idempotency_key').on(t.idempotencyKey),
  ],
);

/** Refunds of the test gateway; the merchant's Idempotency-Key makes a retried refund the same refund. */
export const testGatewayRefunds = pgTable(
  'test_gateway_refunds',
  {
    id: text('id').primaryKey(),
    intentId: text('intent_id').notNull(),
    amount: integer('amount').notNull(),
    status: text('status').notNull().default('pending'),
    idempotencyKey: text('idempotency_key').notNull(),
    metadata: jsonb('metadata').$type<Record<string, string>>().notNull().default({}),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('test_gateway_refunds_idempotency_key').on(t.idempotencyKey),
    index('test_gateway_refunds_intent_idx').on(t.intentId),
    check('test_gateway_refunds_amount_check', sql`${t.amount} > 0`),
    check('test_gateway_refunds_status_check', sql`${t.status} in ('pending', 'succeeded', 'failed')`),
  ],
);

/**
 * The test gateway's own secrets (its webhook signing secret), created once on first use so that
 * every server of a deployment shares them.
 */
export const testGatewaySettings = pgTable('test_gateway_settings', {
  name: text('name').primaryKey(),
  value: text('value').notNull(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
});

/** Webhook deliveries of the test gateway, with their attempts (it retries like a real gateway). */
export const testGatewayEvents = pgTable(
  'test_gateway_events',
  {
    id: text('id').primaryKey(),
    seq: bigserial('seq', { mode: 'number' }).notNull(),
    intentId: text('intent_id').notNull(),
    type: text('type').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    deliveredAt: timestamptz('delivered_at'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [index('test_gateway_events_intent_idx').on(t.intentId, t.seq)],
);
