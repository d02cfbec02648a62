/**
 * The payments module: payment attempts through a gateway (the built-in test gateway or
 * Stripe), their signed webhooks, refunds, and PDF invoices with sequential numbers.
 */
export { createPaymentsModule, type PaymentsModule, type PaymentsModuleDeps } from './module.js';
export { getInvoicePdf } from './invoices.js';
export { countFailedPayments } from './failure-report.js';
export {
  INVOICE_GENERATED,
  PAYMENT_FAILED,
  PAYMENT_SUCCEEDED,
  REFUND_SUCCEEDED,
  type InvoiceGeneratedEvent,
  type PaymentFailedEvent,
  type PaymentSucceededEvent,
  type RefundSucceededEvent,
} from './events.js';
export type { GatewayName, PaymentStatus } from './gateway.js';
