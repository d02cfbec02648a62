/**
 * The orders module: checkout (price snapshot, totals, stock reservation, `order.created` in one
 * transaction), the order lifecycle with its status history, expiry of unpaid orders, and the
 * shipping and tax rates checkout prices with.
 */
export { createOrdersModule, markOrderPaid, type Orders, type OrdersDeps, type PaidOrder } from './module.js';
export { getOrderById, getOrderForActor } from './queries.js';
export { lastUtcDays, salesByDay, type Revenue, type SalesDay } from './sales-report.js';
export type { OrderLine, OrderSummary } from './records.js';
export type { ShippingAddress } from './schema.js';
export { orderStatuses, paidStatuses, type OrderStatus } from './status.js';
export {
  ORDER_CANCELLED,
  ORDER_CREATED,
  ORDER_DELIVERED,
  ORDER_FULFILLED,
  ORDER_SHIPPED,
  type CancellationReason,
  type OrderCancelledEvent,
  type OrderEvent,
  type OrderShippedEvent,
} from './events.js';

export { recordRefund as recordOrderRefund } from './lifecycle.js';
