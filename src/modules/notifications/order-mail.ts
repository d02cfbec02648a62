import { inTransaction, systemContext, type TxContext } from '../../platform/context.js';
import type { Database } from '../../platform/db/client.js';
import type { DomainEvent, Jobs } from '../../platform/jobs/jobs.js';
import {
  getOrderById,
  ORDER_CREATED,
  ORDER_SHIPPED,
  type OrderEvent,
  type OrderShippedEvent,
  type OrderSummary,
} from '../orders/index.js';
import {
  getInvoicePdf,
  INVOICE_GENERATED,
  REFUND_SUCCEEDED,
  type InvoiceGeneratedEvent,
  type RefundSucceededEvent,
} from '../payments/index.js';
import { formatMoney } from '../../platform/money.js';
import { itemsText } from './money-text.js';
import type { NotificationSender } from './send.js';

export interface OrderMailDeps {
  db: Database;
  jobs: Jobs;
  send: NotificationSender;
  /** `PUBLIC_URL`: order links point to `<shop>/account/orders/<number>`. */
  shopUrl: string;
}

/**
 * The customer's mail about their order: received, receipt with the PDF invoice, shipped,
 * refunded. Each handler claims `(event_id, handler)` in the transaction that logs and enqueues
 * the mail, so an event delivered twice sends one mail.
 */
export function subscribeOrderMail(deps: OrderMailDeps): void {
  const on = <T extends OrderEvent>(
    eventType: string,
    handler: string,
    mail: (tx: TxContext, event: DomainEvent<T>, order: OrderSummary) => Promise<unknown>,
  ) =>
    deps.jobs.subscribe<T>(eventType, handler, async (event) => {
      await inTransaction(systemContext(deps.db, event.event_id), async (tx) => {
        if (!(await deps.jobs.claim(tx.db, event.event_id, `notifications.${handler}`))) return;
        const order = await getOrderById(tx, event.data.order_id);
        // Published in the order's own transaction, so this is a bug: fail, retry, dead-letter.
        if (!order) throw new Error(`${eventType} ${event.event_id}: order ${event.data.order_id} not found`);
        await mail(tx, event, order);
      });
    });

  const orderVariables = (order: OrderSummary) => ({
    name: order.shippingAddress.name,
    order_number: order.number,
    order_url: `${deps.shopUrl}/account/orders/${encodeURIComponent(order.number)}`,
    total: formatMoney(order.total, order.currency),
    items_text: itemsText(order.items, order.currency),
  });
  const recipient = (event: DomainEvent<OrderEvent>) => ({
    to: event.data.email,
    userId: event.data.user_id,
    eventId: event.event_id,
  });

  on<OrderEvent>(ORDER_CREATED, 'order-received-email', (tx, event, order) =>
    deps.send(tx, { template: 'order-received', ...recipient(event), variables: orderVariables(order) }),
  );

  on<InvoiceGeneratedEvent>(INVOICE_GENERATED, 'receipt-email', async (tx, event, order) => {
    const invoice = await getInvoicePdf(tx, order.id);
    // Published with the stored invoice; a receipt promises it attached, so never send one without.
    if (!invoice) throw new Error(`${INVOICE_GENERATED} ${event.event_id}: no invoice for ${order.number}`);
    await deps.send(tx, {
      template: 'payment-receipt',
      ...recipient(event),
      variables: { ...orderVariables(order), invoice_number: invoice.number },
      attachments: [
        {
          filename: `${invoice.number.replace(/[^\w.-]/g, '_')}.pdf`,
          contentType: 'application/pdf',
          contentBase64: invoice.pdf.toString('base64'),
        },
      ],
    });
  });

  on<OrderShippedEvent>(ORDER_SHIPPED, 'shipped-email', (tx, event, order) =>
    deps.send(tx, {
      template: 'order-shipped',
      ...recipient(event),
      variables: {
        ...orderVariables(order),
        carrier: event.data.carrier ?? 'our carrier',
        tracking_number: event.data.tracking_number,
      },
    }),
  );

  on<RefundSucceededEvent>(REFUND_SUCCEEDED, 'refund-email', (tx, event, order) =>
    deps.send(tx, {
      template: 'refund-issued',
      ...recipient(event),
      variables: {
        ...orderVariables(order),
        refund_amount: formatMoney(event.data.amount, event.data.currency),
        reason: event.data.reason,
      },
    }),
  );
}
