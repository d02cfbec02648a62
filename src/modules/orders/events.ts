import { formatOrderNumber, type OrderRow } from './records.js';

/** The events the orders module publishes (envelope: platform/jobs DomainEvent). */
export const ORDER_CREATED = 'order.created';
export const ORDER_CANCELLED = 'order.cancelled';
export const ORDER_FULFILLED = 'order.fulfilled';
export const ORDER_SHIPPED = 'order.shipped';
export const ORDER_DELIVERED = 'order.delivered';
export const EVENT_SOURCE = 'orders';

/** Who the order belongs to and where its mail goes; every order event carries it. */
export interface OrderEvent {
  order_id: string;
  order_number: string;
  user_id: string;
  email: string;
}

/** Why an unpaid order was cancelled. */
export type CancellationReason = 'expired' | 'requested_by_customer' | 'cancelled_by_shop';

export interface OrderCancelledEvent extends OrderEvent {
  reason: CancellationReason;
}

export interface OrderShippedEvent extends OrderEvent {
  tracking_number: string;
  carrier: string | null;
}

export function eventOf(row: OrderRow): OrderEvent {
  return {
    order_id: row.id,
    order_number: formatOrderNumber(row.number),
    user_id: row.userId,
    email: row.email,
  };
}
