import { z } from 'zod';
import { envelope } from '../../platform/http/envelope.js';
import { gatewayNames, isPlaceholderReference, paymentStatuses } from './gateway.js';
import type { Payment, Refund } from './payments.js';

const money = z.int().min(0).max(2_147_483_647);
const currency = z
  .string()
  .regex(/^[A-Z]{3}$/)
  .max(3)
  .meta({ description: 'ISO 4217 currency code.', example: 'USD' });
const gateway = z.enum(gatewayNames).meta({ description: 'The payment gateway.', example: 'test' });
const gatewayReference = z.string().max(255).nullable().meta({
  description: 'The gateway’s id of the payment (its payment intent); null until the gateway answered.',
});
const paymentStatus = z.enum(paymentStatuses).meta({
  description:
    'requires_confirmation → (requires_action | processing) → succeeded | failed. Only forward: late or repeated gateway events never move a payment back.',
});

export const orderIdParams = z.strictObject({ id: z.uuid().meta({ description: 'The order.' }) });
export const paymentIdParams = z.strictObject({ id: z.uuid().meta({ description: 'The payment.' }) });

export const createPaymentBody = z
  .strictObject({
    gateway: gateway.optional().meta({
      description: 'Which gateway to pay with. Default: Stripe when configured, else the test gateway.',
    }),
  })
  .optional();

export const paymentCreatedResponse = envelope(
  z
    .object({
      id: z.uuid(),
      order_id: z.uuid(),
      status: paymentStatus,
      amount: money.meta({ description: 'The order total, in minor units.' }),
      currency,
      gateway,
      gateway_reference: gatewayReference,
      client_secret: z.string().max(500).meta({
        description:
          'Hand this to the storefront: it confirms the payment with the gateway (Stripe.js, or POST /test-gateway/v1/payment_intents/{gateway_reference}/confirm). Returned once; Bazaar does not store it.',
      }),
    })
    .meta({
      id: 'PaymentCreated',
      description: 'A payment attempt: its status and, when needed, the next action for the customer.',
    }),
);

export const refundSchema = z
  .object({
    id: z.uuid(),
    payment_id: z.uuid(),
    order_id: z.uuid(),
    status: z.enum(['pending', 'succeeded', 'failed']).meta({
      description: 'pending until the gateway confirms; failed means no money moved.',
    }),
    amount: money,
    currency,
    reason: z.string().max(500),
    created_at: z.iso.datetime(),
  })
  .meta({ id: 'Refund', description: 'A refund of some or all of a payment.' });

export const paymentSchema = z
  .object({
    id: z.uuid(),
    order_id: z.uuid(),
    status: paymentStatus,
    amount: money,
    amount_refunded: money,
    currency,
    gateway,
    gateway_reference: gatewayReference,
    failure_reason: z
      .string()
      .max(200)
      .nullable()
      .meta({ description: 'Why the payment failed, as the gateway said (e.g. card_declined).' }),
    auto_refund_reason: z.enum(['duplicate_payment', 'order_not_payable']).nullable().meta({
      description:
        'Set when this payment succeeded although the order did not need it (already paid by another attempt, or no longer payable); it is refunded in full automatically.',
    }),
    refunds: z.array(refundSchema).max(1000),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
  })
  .meta({ id: 'Payment', description: 'A payment of an order through a gateway, with its refunds.' });

export const paymentResponse = envelope(paymentSchema);
export const paymentListResponse = envelope(z.array(paymentSchema).max(1000));

export const refundBody = z.strictObject({
  amount: z
    .int()
    .min(1)
    .max(2_147_483_647)
    .optional()
    .meta({ description: 'Minor units. Omitted: everything not yet refunded.', example: 1500 }),
  reason: z.string().trim().min(1).max(500).meta({ example: 'Damaged in transit' }),
});

export const refundResponse = envelope(refundSchema);

export const webhookParams = z.strictObject({
  gateway: z.enum(gatewayNames).meta({ description: 'The gateway that sends the event.' }),
});

export const webhookHeaders = z.looseObject({
  'bazaar-test-signature': z
    .string()
    .max(2048)
    .optional()
    .meta({ description: 'The test gateway’s signature: `t=<unix seconds>,v1=<hex HMAC-SHA256>`.' }),
  'stripe-signature': z.string().max(2048).optional().meta({ description: 'Stripe’s signature header.' }),
});

export const webhookBody = z
  .string()
  .max(1_048_576)
  .meta({
    description: 'The gateway’s event, exactly as sent: the signature covers these bytes.',
    example: JSON.stringify({
      id: 'evt_01JD4Q2M8X',
      created: 1795253400,
      type: 'payment.succeeded',
      data: {
        object: {
          object: 'payment_intent',
          id: 'pi_01JD4Q1Z7K',
          metadata: { payment_id: '0192f5a4-7c1e-7a51-9f0e-3c2b8d4e6a10' },
        },
      },
    }),
  });

export const webhookResponse = z
  .object({ received: z.literal(true) })
  .meta({ description: 'The event was accepted (or had been already): the gateway stops retrying.' });

export const invoicePdfResponse = z.unknown().meta({
  description: 'The invoice as a PDF document.',
  content: {
    'application/pdf': { schema: { type: 'string', format: 'binary', maxLength: 10_485_760 } },
  },
});

const referenceOf = (payment: Payment) =>
  isPlaceholderReference(payment.gatewayReference) ? null : payment.gatewayReference;

export function toRefundDto(refund: Refund): z.infer<typeof refundSchema> {
  return {
    id: refund.id,
    payment_id: refund.paymentId,
    order_id: refund.orderId,
    status: refund.status as 'pending',
    amount: refund.amount,
    currency: refund.currency,
    reason: refund.reason,
    created_at: refund.createdAt.toISOString(),
  };
}

export function toPaymentDto(payment: Payment, refunds: Refund[]): z.infer<typeof paymentSchema> {
  return {
    id: payment.id,
    order_id: payment.orderId,
    status: payment.status as 'succeeded',
    amount: payment.amount,
    amount_refunded: payment.amountRefunded,
    currency: payment.currency,
    gateway: payment.gateway as 'test',
    gateway_reference: referenceOf(payment),
    failure_reason: payment.failureReason,
    auto_refund_reason: payment.autoRefundReason as 'duplicate_payment' | null,
    refunds: refunds.map(toRefundDto),
    created_at: payment.createdAt.toISOString(),
    updated_at: payment.updatedAt.toISOString(),
  };
}

export function toPaymentCreatedDto(
  payment: Payment,
  clientSecret: string,
): z.infer<typeof paymentCreatedResponse>['data'] {
  return {
    id: payment.id,
    order_id: payment.orderId,
    status: payment.status as 'requires_confirmation',
    amount: payment.amount,
    currency: payment.currency,
    gateway: payment.gateway as 'test',
    gateway_reference: referenceOf(payment),
    client_secret: clientSecret,
  };
}
