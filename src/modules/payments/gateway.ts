/**
 * What Bazaar needs from a payment gateway. Two implementations: the built-in test gateway
 * (test-gateway/) and Stripe (stripe-gateway.ts). Gateways report outcomes asynchronously, by
 * signed webhooks; `parseWebhook` turns one into a GatewayEvent after checking its signature.
 */

export const gatewayNames = ['test', 'stripe'] as const;
export type GatewayName = (typeof gatewayNames)[number];

export const paymentStatuses = [
  'requires_confirmation',
  'requires_action',
  'processing',
  'succeeded',
  'failed',
  'cancelled',
] as const;
export type PaymentStatus = (typeof paymentStatuses)[number];

export type RefundStatus = 'pending' | 'succeeded' | 'failed';

export const gatewayEventTypes = [
  'payment.created',
  'payment.requires_action',
  'payment.processing',
  'payment.succeeded',
  'payment.failed',
  'refund.succeeded',
  'refund.failed',
] as const;
export type GatewayEventType = (typeof gatewayEventTypes)[number];

export interface GatewayEvent {
  /** The gateway's event id: the dedupe key (with the gateway's name). */
  id: string;
  type: GatewayEventType;
  /** The gateway's payment reference (payment intent id). */
  reference: string;
  /** When the gateway created the event (unix seconds). */
  created: number;
  failureReason?: string;
  refundReference?: string;
  /** The metadata Bazaar attached when creating the payment or refund (`payment_id`, `refund_id`). */
  metadata: Record<string, string>;
}

export interface CreatePaymentInput {
  /** Minor units. */
  amount: number;
  currency: string;
  orderId: string;
  /** Bazaar's payment id; sent as metadata so webhooks find the payment even before its reference is stored. */
  paymentId: string;
  idempotencyKey: string;
}

export interface CreatedPayment {
  reference: string;
  clientSecret: string;
  status: PaymentStatus;
}

export interface RefundInput {
  reference: string;
  amount: number;
  idempotencyKey: string;
  metadata: Record<string, string>;
}

export interface GatewayRefund {
  refundReference: string;
  status: RefundStatus;
}

export type WebhookHeaders = Record<string, string | string[] | undefined>;

export interface PaymentGateway {
  readonly name: GatewayName;
  createPayment(input: CreatePaymentInput): Promise<CreatedPayment>;
  refund(input: RefundInput): Promise<GatewayRefund>;
  /**
   * Verifies signature and timestamp (both directions, within the tolerance) and parses the
   * event; throws AppError VALIDATION_ERROR when either is wrong. `null`: a genuine event of a
   * kind Bazaar does not act on.
   */
  parseWebhook(rawBody: string, headers: WebhookHeaders): Promise<GatewayEvent | null>;
}

/**
 * A gateway call that failed. `definitive`: the gateway answered and refused, so nothing
 * happened there; otherwise the outcome is unknown (timeout, connection reset, 5xx) and the
 * call must be retried with the same idempotency key to learn it.
 */
export class GatewayError extends Error {
  override name = 'GatewayError';

  constructor(
    message: string,
    readonly definitive: boolean,
    readonly code?: string,
  ) {
    super(message);
  }
}

// Payments only move forward; a late or repeated event never moves one back.
const rank: Record<PaymentStatus, number> = {
  requires_confirmation: 0,
  requires_action: 1,
  processing: 2,
  failed: 3,
  succeeded: 4,
  cancelled: 4,
};

/**
 * Whether a payment in `from` may become `to`. Succeeded and cancelled are final. A failed
 * payment may still succeed: a gateway lets the customer retry the same intent with another card,
 * and money that moved must be recorded.
 */
export function canMovePayment(from: PaymentStatus, to: PaymentStatus): boolean {
  if (from === to || from === 'succeeded' || from === 'cancelled') return false;
  if (from === 'failed') return to === 'succeeded';
  return rank[to] > rank[from];
}

export const statusOfEvent: Partial<Record<GatewayEventType, PaymentStatus>> = {
  'payment.created': 'requires_confirmation',
  'payment.requires_action': 'requires_action',
  'payment.processing': 'processing',
  'payment.succeeded': 'succeeded',
  'payment.failed': 'failed',
};

/** The reference of a payment whose gateway call has not answered yet. */
export const placeholderReference = (paymentId: string) => `pending:${paymentId}`;
export const isPlaceholderReference = (reference: string) => reference.startsWith('pending:');

export function headerValue(headers: WebhookHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
