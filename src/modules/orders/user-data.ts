import { and, eq, sql } from 'drizzle-orm';
import type { TxContext } from '../../platform/context.js';
import type { Tx } from '../../platform/db/client.js';
import { orderChanged } from './cache.js';
import type { UserDataContributor } from '../users/index.js';
import { ordersOfUser } from './records.js';
import { orders, orderStatusHistory } from './schema.js';

/**
 * What the orders module holds about a user. Orders are kept on erasure — bookkeeping law needs
 * them, and invoices and payments refer to them — but lose what identifies the person: the
 * e-mail becomes the erased account's placeholder, the address keeps only its country (the tax
 * jurisdiction), and notes the customer wrote are removed.
 */
export const ordersUserData: UserDataContributor = {
  name: 'orders',

  async export(tx: Tx, userId: string) {
    const all = await ordersOfUser(tx, userId);
    return all.map(({ record: o, history }) => ({
      id: o.id,
      number: o.number,
      status: o.status,
      email: o.email,
      currency: o.currency,
      subtotal: o.subtotal,
      shipping_total: o.shippingTotal,
      tax_total: o.taxTotal,
      total: o.total,
      refunded_total: o.refundedTotal,
      shipping_address: o.shippingAddress,
      tracking_number: o.trackingNumber,
      carrier: o.carrier,
      items: o.items.map((i) => ({
        variant_id: i.variantId,
        sku: i.sku,
        title: i.title,
        options: i.options,
        quantity: i.quantity,
        unit_price: i.unitPrice,
        line_total: i.lineTotal,
      })),
      status_history: history.map((h) => ({
        from: h.fromStatus,
        to: h.toStatus,
        at: h.createdAt.toISOString(),
        actor_type: h.actorType,
        note: h.note,
      })),
      created_at: o.createdAt.toISOString(),
      paid_at: o.paidAt?.toISOString() ?? null,
      cancelled_at: o.cancelledAt?.toISOString() ?? null,
    }));
  },

  async erase(tx: Tx, userId: string, ctx: TxContext) {
    const erased = await tx
      .update(orders)
      .set({
        email: `erased-${userId}@erased.invalid`,
        shippingAddress: sql`jsonb_build_object(
          'name', 'Erased', 'line1', 'Erased', 'city', 'Erased', 'postal_code', 'Erased',
          'country', ${orders.shippingAddress}->>'country')`,
        updatedAt: sql`now()`,
      })
      .where(eq(orders.userId, userId))
      .returning({ id: orders.id });
    await orderChanged(
      ctx,
      erased.map((o) => o.id),
    );
    await tx
      .update(orderStatusHistory)
      .set({ note: null })
      .where(and(eq(orderStatusHistory.userId, userId), eq(orderStatusHistory.actorId, userId)));
  },

  async deactivated() {
    // Nothing to end: orders grant no access. Unpaid ones expire with their hold.
  },
};
