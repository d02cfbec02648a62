/** The events the payments module publishes (envelope: platform/jobs DomainEvent). */
export const PAYMENT_SUCCEEDED = 'payment.succeeded';
export const PAYMENT_FAILED = 'payment.failed';
export const REFUND_SUCCEEDED = 'refund.succeeded';
export const INVOICE_GENERATED = 'invoice.generated';
export const EVENT_SOURCE = 'payments';

/** The order is paid by this payment (published once per order). */
export interface PaymentSucceededEvent {
  payment_id: string;
  order_id: string;
  order_number: string;
  amount: number;
  currency: string;
  user_id: string;
  email: string;
}

/** A payment attempt failed; the order still awaits payment. */
export interface PaymentFailedEvent extends PaymentSucceededEvent {
  failure_reason: string | null;
}

/** Money went back to the customer (an admin refund, or the automatic refund of a duplicate payment). */
export interface RefundSucceededEvent {
  refund_id: string;
  payment_id: string;
  order_id: string;
  order_number: string;
  amount: number;
  currency: string;
  reason: string;
  /** True for the automatic refund of a payment the order did not need (duplicate, or order cancelled). */
  automatic: boolean;
  user_id: string;
  email: string;
}

export interface InvoiceGeneratedEvent {
  invoice_id: string;
  order_id: string;
  order_number: string;
  invoice_number: string;
  user_id: string;
  email: string;
}
