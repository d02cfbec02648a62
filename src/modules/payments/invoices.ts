import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { beforeCommit, inTransaction, systemContext, type Context } from '../../platform/context.js';
import type { Database } from '../../platform/db/client.js';
import { prepared } from '../../platform/db/prepared.js';
import { notFound } from '../../platform/errors.js';
import type { DomainEvent } from '../../platform/jobs/jobs.js';
import { getOrderById, getOrderForActor } from '../orders/index.js';
import type { PaymentsDeps } from './deps.js';
import {
  EVENT_SOURCE,
  INVOICE_GENERATED,
  PAYMENT_SUCCEEDED,
  type InvoiceGeneratedEvent,
  type PaymentSucceededEvent,
} from './events.js';
import { renderInvoicePdf } from './invoice-pdf.js';
import { invoiceCounters, invoices } from './schema.js';

const HANDLER = 'invoice';
const CLAIM = `${PAYMENT_SUCCEEDED}.${HANDLER}`;
const SHOP = 'default';

export const invoiceNumber = (n: number) => `INV-${String(n).padStart(6, '0')}`;

/** `payment.succeeded` → the order's PDF invoice (sequential number, no gaps) → `invoice.generated`. */
export function subscribeInvoices(db: Database, deps: PaymentsDeps): void {
  deps.jobs.subscribe<PaymentSucceededEvent>(PAYMENT_SUCCEEDED, HANDLER, (event) =>
    generateInvoice(systemContext(db, `event:${event.event_id}`), deps, event),
  );
}

/**
 * One transaction: the (event, handler) claim, the counter increment, the stored PDF and the
 * `invoice.generated` event. The counter row stays locked until commit, so numbers follow each
 * other without gaps even when several workers issue invoices at once; everything that does not
 * need the number is read before the counter is taken.
 */
export async function generateInvoice(
  ctx: Context,
  deps: PaymentsDeps,
  event: DomainEvent<PaymentSucceededEvent>,
): Promise<void> {
  await inTransaction(ctx, async (tx) => {
    if (!(await deps.jobs.claim(tx.db, event.event_id, CLAIM))) return;
    const [existing] = await invoiceOf(tx.db, { orderId: event.data.order_id });
    if (existing) return;
    const order = await getOrderById(tx, event.data.order_id);
    if (!order)
      throw new Error(`Order ${event.data.order_id} of payment ${event.data.payment_id} not found.`);

    const [counter] = await nextInvoiceNumber(tx.db, { shop: SHOP });
    if (!counter) throw new Error(`The invoice counter of shop "${SHOP}" is missing.`);
    const number = invoiceNumber(counter.lastNumber);
    const address = order.shippingAddress;
    const pdf = await renderInvoicePdf({
      number,
      issuedAt: new Date(),
      orderNumber: order.number,
      seller: deps.shop,
      customer: {
        name: address.name,
        email: order.email,
        address: [
          address.line1,
          address.line2,
          [address.postal_code, address.city].join(' '),
          address.region,
          address.country,
        ].filter((line): line is string => Boolean(line)),
      },
      lines: order.items.map((item) => ({
        title: item.title,
        sku: item.sku,
        quantity: item.quantity,
        unitPrice: item.unitPrice,
        lineTotal: item.lineTotal,
      })),
      currency: order.currency,
      subtotal: order.subtotal,
      shippingTotal: order.shippingTotal,
      taxTotal: order.taxTotal,
      total: order.total,
    });
    // The counter stays locked until the commit, so the invoice row and its event go out together
    // and only their one round trip is waited for before it (a failure of either rolls back).
    const invoiceId = randomUUID();
    await beforeCommit(
      tx,
      insertInvoice(tx.db, { id: invoiceId, orderId: order.id, userId: order.userId, number, pdf }),
    );
    await beforeCommit(
      tx,
      deps.jobs.publish<InvoiceGeneratedEvent>(
        tx.db,
        INVOICE_GENERATED,
        {
          invoice_id: invoiceId,
          order_id: order.id,
          order_number: order.number,
          invoice_number: number,
          user_id: order.userId,
          email: order.email,
        },
        EVENT_SOURCE,
      ),
    );
  });
}

const invoiceOf = prepared((db) =>
  db
    .select({ id: invoices.id })
    .from(invoices)
    .where(eq(invoices.orderId, sql.placeholder('orderId')))
    .prepare('invoices_of_order'),
);

const nextInvoiceNumber = prepared((db) =>
  db
    .update(invoiceCounters)
    .set({ lastNumber: sql`${invoiceCounters.lastNumber} + 1` })
    .where(eq(invoiceCounters.shop, sql.placeholder('shop')))
    .returning({ lastNumber: invoiceCounters.lastNumber })
    .prepare('invoice_counters_next'),
);

const insertInvoice = prepared((db) =>
  db
    .insert(invoices)
    .values({
      id: sql.placeholder('id'),
      orderId: sql.placeholder('orderId'),
      userId: sql.placeholder('userId'),
      number: sql.placeholder('number'),
      pdf: sql.placeholder('pdf'),
    })
    .prepare('invoices_insert'),
);

/** The order's invoice PDF, without access checks (system work, e.g. attaching it to the receipt). */
export async function getInvoicePdf(
  ctx: Context,
  orderId: string,
): Promise<{ number: string; pdf: Buffer } | undefined> {
  const [row] = await ctx.db
    .select({ number: invoices.number, pdf: invoices.pdf })
    .from(invoices)
    .where(eq(invoices.orderId, orderId))
    .limit(1);
  return row ? { number: row.number, pdf: Buffer.from(row.pdf) } : undefined;
}

/** The invoice for the order's owner or an admin; NOT_FOUND for anyone else and until it exists. */
export async function getInvoiceForActor(
  ctx: Context,
  orderId: string,
): Promise<{ number: string; pdf: Buffer }> {
  const order = await getOrderForActor(ctx, orderId);
  const invoice = await getInvoicePdf(ctx, order.id);
  if (!invoice) throw notFound('Invoice');
  return invoice;
}
