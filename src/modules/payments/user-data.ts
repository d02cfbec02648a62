import { asc, eq, inArray } from 'drizzle-orm';
import type { Tx } from '../../platform/db/client.js';
import type { UserDataContributor } from '../users/index.js';
import { invoices, payments, refunds } from './schema.js';

/**
 * What the payments module holds about a user. Payment records, refunds and invoices are kept on
 * erasure: bookkeeping law requires them, and payment rows carry ids and amounts only (no card
 * data ever reaches Bazaar). Invoices keep the billing name and address they were issued to.
 */
export const paymentsUserData: UserDataContributor = {
  name: 'payments',

  async export(tx: Tx, userId: string) {
    const rows = await tx
      .select()
      .from(payments)
      .where(eq(payments.userId, userId))
      .orderBy(asc(payments.createdAt), asc(payments.id));
    const paymentIds = rows.map((p) => p.id);
    const orderIds = [...new Set(rows.map((p) => p.orderId))];
    const refundRows = paymentIds.length
      ? await tx.select().from(refunds).where(inArray(refunds.paymentId, paymentIds))
      : [];
    const invoiceRows = orderIds.length
      ? await tx
          .select({ orderId: invoices.orderId, number: invoices.number, createdAt: invoices.createdAt })
          .from(invoices)
          .where(inArray(invoices.orderId, orderIds))
      : [];
    return {
      // No client secrets, no gateway secrets: ids, amounts and outcomes only.
      payments: rows.map((p) => ({
        id: p.id,
        order_id: p.orderId,
        gateway: p.gateway,
        status: p.status,
        amount: p.amount,
        amount_refunded: p.amountRefunded,
        currency: p.currency,
        failure_reason: p.failureReason,
        created_at: p.createdAt.toISOString(),
      })),
      refunds: refundRows.map((r) => ({
        id: r.id,
        payment_id: r.paymentId,
        order_id: r.orderId,
        status: r.status,
        amount: r.amount,
        currency: r.currency,
        reason: r.reason,
        created_at: r.createdAt.toISOString(),
      })),
      invoices: invoiceRows.map((i) => ({
        order_id: i.orderId,
        number: i.number,
        issued_at: i.createdAt.toISOString(),
      })),
    };
  },

  async erase() {
    // Legal retention: see above.
  },

  async deactivated() {
    // Nothing to end: payments grant no access.
  },
};
