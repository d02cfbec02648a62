import type Stripe from 'stripe';
import { AppError } from '../../platform/errors.js';
import {
  GatewayError,
  headerValue,
  type CreatePaymentInput,
  type CreatedPayment,
  type GatewayEvent,
  type GatewayEventType,
  type GatewayRefund,
  type PaymentGateway,
  type PaymentStatus,
  type RefundInput,
  type WebhookHeaders,
} from './gateway.js';

export interface StripeGatewayOptions {
  secretKey: string;
  webhookSecret: string;
  /** STRIPE_API_BASE: another host for the API (a stand-in in tests, a proxy). */
  apiBase?: string;
  toleranceSeconds: number;
}

const paymentStatusOf: Record<Stripe.PaymentIntent.Status, PaymentStatus> = {
  requires_payment_method: 'requires_confirmation',
  requires_confirmation: 'requires_confirmation',
  requires_action: 'requires_action',
  processing: 'processing',
  requires_capture: 'processing',
  succeeded: 'succeeded',
  canceled: 'cancelled',
};

const paymentEventOf: Partial<Record<Stripe.Event['type'], GatewayEventType>> = {
  'payment_intent.created': 'payment.created',
  'payment_intent.requires_action': 'payment.requires_action',
  'payment_intent.processing': 'payment.processing',
  'payment_intent.succeeded': 'payment.succeeded',
  'payment_intent.payment_failed': 'payment.failed',
};

type StripeSdk = typeof Stripe;

/**
 * Stripe through its SDK: PaymentIntents and refunds, webhooks verified with the endpoint's
 * signing secret. Configure the endpoint for `payment_intent.*` and `refund.*` events. The SDK
 * is loaded on first use, so processes without Stripe do not pay for importing it.
 */
export class StripeGateway implements PaymentGateway {
  readonly name = 'stripe' as const;
  private sdk: Promise<{ Sdk: StripeSdk; stripe: Stripe }> | undefined;

  constructor(private readonly options: StripeGatewayOptions) {}

  private client(): Promise<{ Sdk: StripeSdk; stripe: Stripe }> {
    this.sdk ??= import('stripe').then(({ default: Sdk }) => {
      const base = this.options.apiBase ? new URL(this.options.apiBase) : undefined;
      const protocol = base?.protocol === 'http:' ? 'http' : 'https';
      const stripe = new Sdk(this.options.secretKey, {
        ...(base
          ? { host: base.hostname, port: base.port || (protocol === 'http' ? 80 : 443), protocol }
          : {}),
        // Retries reuse the idempotency key we pass, so they cannot charge or refund twice.
        maxNetworkRetries: 2,
        timeout: 20_000,
        telemetry: false,
        appInfo: { name: 'Bazaar' },
      });
      return { Sdk, stripe };
    });
    return this.sdk;
  }

  async createPayment(input: CreatePaymentInput): Promise<CreatedPayment> {
    const { Sdk, stripe } = await this.client();
    try {
      const intent = await stripe.paymentIntents.create(
        {
          amount: input.amount,
          currency: input.currency.toLowerCase(),
          metadata: { order_id: input.orderId, payment_id: input.paymentId },
          automatic_payment_methods: { enabled: true },
        },
        { idempotencyKey: input.idempotencyKey },
      );
      if (!intent.client_secret) throw new GatewayError('Stripe returned no client secret.', false);
      return {
        reference: intent.id,
        clientSecret: intent.client_secret,
        status: paymentStatusOf[intent.status] ?? 'requires_confirmation',
      };
    } catch (error) {
      throw gatewayError(Sdk, error);
    }
  }

  async refund(input: RefundInput): Promise<GatewayRefund> {
    const { Sdk, stripe } = await this.client();
    try {
      const refund = await stripe.refunds.create(
        { payment_intent: input.reference, amount: input.amount, metadata: input.metadata },
        { idempotencyKey: input.idempotencyKey },
      );
      return { refundReference: refund.id, status: refundStatusOf(refund.status) };
    } catch (error) {
      throw gatewayError(Sdk, error);
    }
  }

  async parseWebhook(rawBody: string, headers: WebhookHeaders): Promise<GatewayEvent | null> {
    const signature = headerValue(headers, 'stripe-signature');
    if (!signature) throw new AppError('VALIDATION_ERROR', 'Webhook rejected: missing signature header.');
    const { stripe } = await this.client();
    let event: Stripe.Event;
    try {
      event = stripe.webhooks.constructEvent(
        rawBody,
        signature,
        this.options.webhookSecret,
        this.options.toleranceSeconds,
      );
    } catch (error) {
      throw new AppError('VALIDATION_ERROR', `Webhook rejected: ${(error as Error).message}`);
    }
    // The SDK refuses old timestamps only; one from the future is as suspicious.
    const timestamp = Number(/(?:^|,)\s*t=(\d+)/.exec(signature)?.[1]);
    if (timestamp - Math.floor(Date.now() / 1000) > this.options.toleranceSeconds)
      throw new AppError('VALIDATION_ERROR', 'Webhook rejected: timestamp outside the tolerance.');
    return toGatewayEvent(event);
  }
}

function toGatewayEvent(event: Stripe.Event): GatewayEvent | null {
  const paymentType = paymentEventOf[event.type];
  if (paymentType) {
    const intent = event.data.object as Stripe.PaymentIntent;
    const failure = intent.last_payment_error;
    return {
      id: event.id,
      type: paymentType,
      reference: intent.id,
      created: event.created,
      metadata: { ...intent.metadata },
      ...(paymentType === 'payment.failed' && failure
        ? { failureReason: failure.decline_code ?? failure.code ?? failure.type }
        : {}),
    };
  }
  if (event.type === 'refund.created' || event.type === 'refund.updated' || event.type === 'refund.failed') {
    const refund = event.data.object;
    const status = event.type === 'refund.failed' ? 'failed' : refundStatusOf(refund.status);
    const reference =
      typeof refund.payment_intent === 'string' ? refund.payment_intent : refund.payment_intent?.id;
    if (status === 'pending' || !reference) return null;
    return {
      id: event.id,
      type: status === 'succeeded' ? 'refund.succeeded' : 'refund.failed',
      reference,
      refundReference: refund.id,
      created: event.created,
      metadata: { ...refund.metadata },
      ...(refund.failure_reason ? { failureReason: refund.failure_reason } : {}),
    };
  }
  return null;
}

function refundStatusOf(status: string | null): GatewayRefund['status'] {
  if (status === 'succeeded') return 'succeeded';
  if (status === 'failed' || status === 'canceled') return 'failed';
  return 'pending';
}

/** Stripe refused (4xx): definitive. No answer, 409 (a concurrent request), 429 or 5xx: unknown. */
function gatewayError(Sdk: StripeSdk, error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof Sdk.errors.StripeError) {
    const status = error.statusCode;
    const definitive =
      status !== undefined && status >= 400 && status < 500 && status !== 409 && status !== 429;
    return new GatewayError(`Stripe: ${error.message}`, definitive, error.code);
  }
  return new GatewayError(`Stripe: ${(error as Error).message}`, false);
}
