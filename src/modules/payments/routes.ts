import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorEnvelope } from '../../platform/http/envelope.js';
import { contextOf } from '../../platform/http/server.js';
import type { PaymentsDeps } from './deps.js';
import {
  createPaymentBody,
  invoicePdfResponse,
  orderIdParams,
  paymentCreatedResponse,
  paymentIdParams,
  paymentListResponse,
  paymentResponse,
  refundBody,
  refundResponse,
  toPaymentCreatedDto,
  toPaymentDto,
  toRefundDto,
  webhookBody,
  webhookHeaders,
  webhookParams,
  webhookResponse,
} from './http-schemas.js';
import { getInvoiceForActor } from './invoices.js';
import { getPayment, listOrderPayments, startPayment, type Refund, type StartedPayment } from './payments.js';
import { issueRefund } from './refunds.js';
import { receiveWebhook } from './webhooks.js';

const tags = ['payments'];
const unavailable = errorEnvelope.describe(
  'SERVICE_UNAVAILABLE: the payment gateway did not take the request; retry after the Retry-After header.',
);

/** Payments, refunds and invoices; register under `/api/v1`. */
export function paymentRoutes(deps: PaymentsDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/orders/:id/payments',
      {
        config: { permission: 'payments:write', idempotency: 'optional' },
        schema: {
          operationId: 'createPayment',
          tags,
          summary: 'Start paying an order',
          description:
            'Creates a payment attempt for an order awaiting payment (its owner, or an admin) and returns the gateway’s client secret, with which the storefront confirms the payment at the gateway. The outcome arrives by the gateway’s webhook. Several attempts may be open; the first that succeeds pays the order, and a later success is refunded automatically.',
          params: orderIdParams,
          body: createPaymentBody,
          response: {
            201: paymentCreatedResponse,
            409: errorEnvelope.describe('CONFLICT: the order is not awaiting payment.'),
            503: unavailable,
          },
        },
      },
      async (request, reply) => {
        const answer = (started: StartedPayment) => ({
          request_id: request.id,
          data: toPaymentCreatedDto(started.payment, started.clientSecret),
        });
        const started = await startPayment(
          contextOf(request),
          deps,
          request.params.id,
          request.body?.gateway,
          (tx, recorded) => request.idempotency?.complete(tx.db, 201, answer(recorded)) ?? Promise.resolve(),
        );
        return reply.code(201).send(answer(started));
      },
    );

    app.get(
      '/orders/:id/payments',
      {
        config: { permission: 'orders:read' },
        schema: {
          operationId: 'listOrderPayments',
          tags,
          summary: 'List an order’s payments (admin)',
          description:
            'Every payment attempt of the order, oldest first, with status, failure reason and refunds. An unknown order has none.',
          params: orderIdParams,
          response: { 200: paymentListResponse },
        },
      },
      async (request) => {
        const rows = await listOrderPayments(contextOf(request), request.params.id);
        return { request_id: request.id, data: rows.map((r) => toPaymentDto(r.payment, r.refunds)) };
      },
    );

    app.get(
      '/payments/:id',
      {
        config: { permission: 'authenticated' },
        schema: {
          operationId: 'getPayment',
          tags,
          summary: 'Get a payment',
          description: 'A payment with its status and refunds: the payer’s own, or any for an admin.',
          params: paymentIdParams,
          response: { 200: paymentResponse },
        },
      },
      async (request) => {
        const { payment, refunds } = await getPayment(contextOf(request), request.params.id);
        return { request_id: request.id, data: toPaymentDto(payment, refunds) };
      },
    );

    app.post(
      '/orders/:id/refunds',
      {
        config: { permission: 'orders:write', idempotency: 'required' },
        schema: {
          operationId: 'refundOrder',
          tags,
          summary: 'Refund an order (admin)',
          description:
            'Refunds part or all of a paid order through its gateway; `amount` omitted refunds everything not yet refunded. Answers the refund, `pending` until the gateway confirms it; then the order becomes partially_refunded or refunded and `refund.succeeded` is published. Audited. Requires an Idempotency-Key: a retry returns the same refund.',
          params: orderIdParams,
          body: refundBody,
          response: {
            201: refundResponse,
            409: errorEnvelope.describe(
              'CONFLICT: the order is not paid, or the amount exceeds what is not yet refunded (`details.refundable`); or IDEMPOTENCY_KEY_IN_USE.',
            ),
            503: unavailable,
          },
        },
      },
      async (request, reply) => {
        const claim = request.idempotency;
        const answer = (refund: Refund) => ({ request_id: request.id, data: toRefundDto(refund) });
        const refund = await issueRefund(contextOf(request), deps, request.params.id, request.body, {
          requestKey: claim ? `${claim.scope}:${claim.key}` : undefined,
          onRecorded: (tx, recorded) => claim?.complete(tx.db, 201, answer(recorded)) ?? Promise.resolve(),
        });
        return reply.code(201).send(answer(refund));
      },
    );

    app.get(
      '/orders/:id/invoice',
      {
        config: { permission: 'authenticated' },
        schema: {
          operationId: 'getOrderInvoice',
          tags,
          summary: 'Download the invoice of an order',
          description:
            'The PDF invoice, issued once the order is paid (404 until then): the order’s owner, or an admin.',
          params: orderIdParams,
          response: { 200: invoicePdfResponse },
        },
      },
      async (request, reply) => {
        const invoice = await getInvoiceForActor(contextOf(request), request.params.id);
        return reply
          .type('application/pdf')
          .header('Content-Disposition', `inline; filename="${invoice.number}.pdf"`)
          .header('Cache-Control', 'private, no-store')
          .send(invoice.pdf);
      },
    );

    await app.register(webhookRoutes(deps));
  };
}

/**
 * Gateways' webhooks. In a scope of their own, JSON bodies stay raw text: the signature is
 * computed over the exact bytes received.
 */
function webhookRoutes(deps: PaymentsDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.removeContentTypeParser('application/json');
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
      done(null, body);
    });

    app.post(
      '/webhooks/:gateway',
      {
        schema: {
          operationId: 'receivePaymentWebhook',
          tags,
          summary: 'Receive a payment gateway event',
          description:
            'Called by the gateway, not by clients. The signature (`Bazaar-Test-Signature` or `Stripe-Signature`) and its timestamp are checked, in both directions within WEBHOOK_TOLERANCE_SECONDS; events are applied once (deduplicated on the gateway’s event id) and only ever move a payment forward. 400 for a bad signature; 5xx when the event could not be processed, so the gateway retries.',
          params: webhookParams,
          headers: webhookHeaders,
          body: webhookBody,
          response: {
            200: webhookResponse,
            400: errorEnvelope.describe(
              'The signature or its timestamp is invalid, or the body is not an event.',
            ),
            503: errorEnvelope.describe('The event could not be processed now; the gateway retries.'),
          },
        },
      },
      async (request) => {
        await receiveWebhook(contextOf(request), deps, request.params.gateway, request.body, request.headers);
        return { received: true as const };
      },
    );
  };
}
