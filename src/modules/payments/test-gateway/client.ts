import { z } from 'zod';
import { AppError } from '../../../platform/errors.js';
import {
  headerValue,
  type CreatePaymentInput,
  type CreatedPayment,
  type GatewayEvent,
  type GatewayRefund,
  type PaymentGateway,
  type RefundInput,
  type WebhookHeaders,
} from '../gateway.js';
import { verifyWebhook } from '../webhook-signature.js';
import { SIGNATURE_HEADER, type TestGateway } from './service.js';

const metadata = z.record(z.string(), z.string()).default({});
const eventSchema = z.object({
  id: z.string().min(1).max(100),
  created: z.int(),
  type: z.enum([
    'payment.created',
    'payment.requires_action',
    'payment.processing',
    'payment.succeeded',
    'payment.failed',
    'refund.succeeded',
    'refund.failed',
  ]),
  data: z.object({
    object: z.union([
      z.object({
        object: z.literal('payment_intent'),
        id: z.string().min(1),
        metadata,
        last_payment_error: z.object({ code: z.string() }).nullish(),
      }),
      z.object({
        object: z.literal('refund'),
        id: z.string().min(1),
        payment_intent: z.string().min(1),
        metadata,
      }),
    ]),
  }),
});

/**
 * Bazaar's side of the test gateway, as an SDK would be: server-side calls go to the gateway
 * in-process, and webhooks are verified with the shared secret.
 */
export class TestGatewayClient implements PaymentGateway {
  readonly name = 'test' as const;

  constructor(
    private readonly gateway: TestGateway,
    private readonly toleranceSeconds: number,
  ) {}

  async createPayment(input: CreatePaymentInput): Promise<CreatedPayment> {
    const { intent, clientSecret } = await this.gateway.createIntent({
      amount: input.amount,
      currency: input.currency.toLowerCase(),
      metadata: { order_id: input.orderId, payment_id: input.paymentId },
      idempotencyKey: input.idempotencyKey,
    });
    return { reference: String(intent.id), clientSecret, status: 'requires_confirmation' };
  }

  async refund(input: RefundInput): Promise<GatewayRefund> {
    const refund = await this.gateway.refund({
      intentId: input.reference,
      amount: input.amount,
      idempotencyKey: input.idempotencyKey,
      metadata: input.metadata,
    });
    return { refundReference: refund.id, status: refund.status as GatewayRefund['status'] };
  }

  async parseWebhook(rawBody: string, headers: WebhookHeaders): Promise<GatewayEvent | null> {
    const check = verifyWebhook(
      await this.gateway.webhookSecret(),
      rawBody,
      headerValue(headers, SIGNATURE_HEADER),
      this.toleranceSeconds,
    );
    if (!check.valid) throw new AppError('VALIDATION_ERROR', `Webhook rejected: ${check.reason}.`);
    let json: unknown;
    try {
      json = JSON.parse(rawBody);
    } catch {
      throw new AppError('VALIDATION_ERROR', 'Webhook rejected: the body is not JSON.');
    }
    const parsed = eventSchema.safeParse(json);
    if (!parsed.success)
      throw new AppError('VALIDATION_ERROR', 'Webhook rejected: not a test gateway event.');
    const { id, type, created, data } = parsed.data;
    const object = data.object;
    if (object.object === 'refund') {
      return {
        id,
        type,
        created,
        reference: object.payment_intent,
        refundReference: object.id,
        metadata: object.metadata,
      };
    }
    return {
      id,
      type,
      created,
      reference: object.id,
      metadata: object.metadata,
      ...(object.last_payment_error ? { failureReason: object.last_payment_error.code } : {}),
    };
  }
}
