import { rowsOf } from '../src/platform/db/client.js';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signInAdmin, signUp, type TestApp } from './helpers/app.js';
import {
  createProduct,
  orderStatus,
  paymentOf,
  placeOrder,
  waitForOrderStatus,
  type PlacedOrder,
} from './payments-helpers.js';

const WEBHOOK_SECRET = 'whsec_stripe_stand_in_secret';

interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  form: Record<string, string>;
}

/** Stands in for api.stripe.com: the two calls Bazaar makes, in Stripe's JSON shape. */
class StripeStandIn {
  readonly requests: RecordedRequest[] = [];
  refundMode: 'succeed' | 'refuse' | 'down' = 'succeed';
  intentsDown = false;
  private server!: Server;
  private seq = 0;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        const form = Object.fromEntries(new URLSearchParams(body));
        this.requests.push({ method: req.method!, path: req.url!, headers: req.headers, form });
        const send = (status: number, json: unknown, headers: Record<string, string> = {}) => {
          res.writeHead(status, {
            'content-type': 'application/json',
            'request-id': `req_${++this.seq}`,
            ...headers,
          });
          res.end(JSON.stringify(json));
        };
        const metadata = Object.fromEntries(
          Object.entries(form)
            .filter(([k]) => k.startsWith('metadata['))
            .map(([k, v]) => [k.slice(9, -1), v]),
        );
        if (req.method === 'POST' && req.url === '/v1/payment_intents') {
          if (this.intentsDown) return send(503, { error: { type: 'api_error', message: 'Down.' } });
          const id = `pi_stub_${++this.seq}`;
          return send(200, {
            id,
            object: 'payment_intent',
            amount: Number(form.amount),
            currency: form.currency,
            status: 'requires_payment_method',
            client_secret: `${id}_secret_stub`,
            metadata,
            livemode: false,
          });
        }
        if (req.method === 'POST' && req.url === '/v1/refunds') {
          if (this.refundMode === 'refuse') {
            return send(400, {
              error: {
                type: 'invalid_request_error',
                code: 'charge_disputed',
                message: 'This charge is disputed.',
              },
            });
          }
          if (this.refundMode === 'down') {
            return send(
              500,
              { error: { type: 'api_error', message: 'Temporarily unavailable.' } },
              { 'stripe-should-retry': 'false' },
            );
          }
          return send(200, {
            id: `re_stub_${++this.seq}`,
            object: 'refund',
            amount: Number(form.amount),
            currency: 'usd',
            payment_intent: form.payment_intent,
            status: 'succeeded',
            metadata,
          });
        }
        send(404, { error: { type: 'invalid_request_error', message: 'Unrecognized request URL.' } });
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  last(path: string): RecordedRequest {
    const found = this.requests.filter((r) => r.path === path).at(-1);
    if (!found) throw new Error(`no request to ${path}`);
    return found;
  }
}

const stripe = new Stripe('sk_test_unused');

function stripeEvent(
  type: string,
  object: Record<string, unknown>,
  options: { id?: string; timestamp?: number; secret?: string } = {},
) {
  const payload = JSON.stringify({
    id: options.id ?? `evt_${randomUUID().replaceAll('-', '')}`,
    object: 'event',
    api_version: '2026-10-28.endive',
    created: Math.floor(Date.now() / 1000),
    type,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: { object },
  });
  const header = stripe.webhooks.generateTestHeaderString({
    payload,
    secret: options.secret ?? WEBHOOK_SECRET,
    ...(options.timestamp ? { timestamp: options.timestamp } : {}),
  });
  return { payload, header };
}

describe('payments through Stripe (against a local stand-in)', () => {
  const standIn = new StripeStandIn();
  let app: TestApp;
  let admin: { accessToken: string };
  let customer: Awaited<ReturnType<typeof signUp>>;

  beforeAll(async () => {
    const base = await standIn.start();
    app = await createTestApp({
      work: true,
      env: {
        STRIPE_SECRET_KEY: 'sk_test_bazaar_stand_in',
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        STRIPE_API_BASE: base,
        TEST_GATEWAY_ENABLED: 'false',
      },
    });
    admin = await signInAdmin(app);
    customer = await signUp(app);
  });
  afterAll(async () => {
    await app.close();
    await standIn.stop();
  });

  const order = async (): Promise<PlacedOrder> =>
    placeOrder(
      app,
      customer.accessToken,
      (await createProduct(app, admin.accessToken, { price: 4200 })).variantId,
    );
  const startPayment = async (orderId: string) => {
    const res = await app.api('POST', `/api/v1/orders/${orderId}/payments`, {}, customer.accessToken);
    expect(res.status, res.raw).toBe(201);
    return res.body.data as { id: string; gateway: string; gateway_reference: string; client_secret: string };
  };
  const postWebhook = (event: { payload: string; header: string }) =>
    app.request({
      method: 'POST',
      url: '/api/v1/webhooks/stripe',
      headers: { 'content-type': 'application/json', 'stripe-signature': event.header },
      payload: event.payload,
    });
  const intent = (
    payment: { id: string; gateway_reference: string },
    orderId: string,
    extra: Record<string, unknown> = {},
  ) => ({
    id: payment.gateway_reference,
    object: 'payment_intent',
    amount: 0,
    currency: 'usd',
    metadata: { order_id: orderId, payment_id: payment.id },
    ...extra,
  });
  const pay = async (placed: PlacedOrder) => {
    const payment = await startPayment(placed.id);
    const res = await postWebhook(
      stripeEvent('payment_intent.succeeded', intent(payment, placed.id, { status: 'succeeded' })),
    );
    expect(res.statusCode, res.body).toBe(200);
    await waitForOrderStatus(app, customer.accessToken, placed.id, 'paid');
    return payment;
  };
  const refund = (orderId: string, body: Record<string, unknown>, key: string = randomUUID()) =>
    app.api('POST', `/api/v1/orders/${orderId}/refunds`, body, admin.accessToken, { 'idempotency-key': key });

  it('creates a PaymentIntent through the SDK: form body, metadata, idempotency key', async () => {
    const placed = await order();
    const payment = await startPayment(placed.id);
    expect(payment).toMatchObject({
      gateway: 'stripe',
      gateway_reference: expect.stringMatching(/^pi_stub_/),
      client_secret: expect.stringMatching(/_secret_stub$/),
    });
    const sent = standIn.last('/v1/payment_intents');
    expect(sent.method).toBe('POST');
    expect(sent.headers.authorization).toBe('Bearer sk_test_bazaar_stand_in');
    expect(sent.headers['idempotency-key']).toBe(`payment-${payment.id}`);
    expect(sent.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(sent.form).toMatchObject({
      amount: String(placed.total),
      currency: 'usd',
      'metadata[order_id]': placed.id,
      'metadata[payment_id]': payment.id,
    });
    expect(await orderStatus(app, customer.accessToken, placed.id)).toBe('pending_payment');
  });

  it('answers 503 when Stripe cannot create the PaymentIntent, and the attempt is recorded as failed', async () => {
    const placed = await order();
    standIn.intentsDown = true;
    try {
      const res = await app.api('POST', `/api/v1/orders/${placed.id}/payments`, {}, customer.accessToken);
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('SERVICE_UNAVAILABLE');
      expect(res.headers['retry-after']).toBe('5');
    } finally {
      standIn.intentsDown = false;
    }
    const attempts = await app.bazaar.database.db.execute(
      sql`select status, failure_reason from payments where order_id = ${placed.id}`,
    );
    expect(rowsOf(attempts)).toEqual([{ status: 'failed', failure_reason: 'gateway_unavailable' }]);
    // Stripe is back: a new attempt works.
    expect((await startPayment(placed.id)).gateway).toBe('stripe');
  });

  it('applies payment_intent.succeeded once; failures and unknown events are handled', async () => {
    const placed = await order();
    const payment = await startPayment(placed.id);
    const succeeded = stripeEvent(
      'payment_intent.succeeded',
      intent(payment, placed.id, { status: 'succeeded' }),
    );
    expect((await postWebhook(succeeded)).statusCode).toBe(200);
    expect((await postWebhook(succeeded)).statusCode).toBe(200);
    await waitForOrderStatus(app, customer.accessToken, placed.id, 'paid');
    expect((await paymentOf(app, customer.accessToken, payment.id)).status).toBe('succeeded');

    const other = await order();
    const second = await startPayment(other.id);
    const failed = stripeEvent(
      'payment_intent.payment_failed',
      intent(second, other.id, {
        status: 'requires_payment_method',
        last_payment_error: { type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds' },
      }),
    );
    expect((await postWebhook(failed)).statusCode).toBe(200);
    const after = await paymentOf(app, customer.accessToken, second.id);
    expect(after).toMatchObject({ status: 'failed', failure_reason: 'insufficient_funds' });
    expect(await orderStatus(app, customer.accessToken, other.id)).toBe('pending_payment');

    const ignored = await postWebhook(stripeEvent('customer.created', { id: 'cus_1', object: 'customer' }));
    expect(ignored.statusCode).toBe(200);
    expect(JSON.parse(ignored.body)).toEqual({ received: true });
  });

  it('refuses a wrong signature and timestamps outside the tolerance in both directions', async () => {
    const placed = await order();
    const payment = await startPayment(placed.id);
    const object = intent(payment, placed.id, { status: 'succeeded' });
    const now = Math.floor(Date.now() / 1000);
    for (const event of [
      stripeEvent('payment_intent.succeeded', object, { secret: 'whsec_not_the_secret' }),
      stripeEvent('payment_intent.succeeded', object, { timestamp: now - 360 }),
      stripeEvent('payment_intent.succeeded', object, { timestamp: now + 360 }),
    ]) {
      const res = await postWebhook(event);
      expect(res.statusCode).toBe(400);
      expect(JSON.parse(res.body).error.code).toBe('VALIDATION_ERROR');
    }
    const missing = await app.request({
      method: 'POST',
      url: '/api/v1/webhooks/stripe',
      headers: { 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(missing.statusCode).toBe(400);
    expect((await paymentOf(app, customer.accessToken, payment.id)).status).toBe('requires_confirmation');
    // The test gateway is off here: its webhook endpoint does not exist.
    const test = await app.request({
      method: 'POST',
      url: '/api/v1/webhooks/test',
      headers: { 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(test.statusCode).toBe(404);
  });

  it('refunds through the SDK: synchronous success, then the refund webhook changes nothing more', async () => {
    const placed = await order();
    const payment = await pay(placed);
    const res = await refund(placed.id, { amount: 1000, reason: 'Late delivery' });
    expect(res.status, res.raw).toBe(201);
    expect(res.body.data).toMatchObject({ status: 'succeeded', amount: 1000, currency: 'USD' });
    const sent = standIn.last('/v1/refunds');
    expect(sent.headers['idempotency-key']).toBe(`refund-${res.body.data.id}`);
    expect(sent.form).toMatchObject({
      payment_intent: payment.gateway_reference,
      amount: '1000',
      'metadata[refund_id]': res.body.data.id,
    });
    expect(await orderStatus(app, customer.accessToken, placed.id)).toBe('partially_refunded');

    const refundObject = {
      id: 're_from_webhook',
      object: 'refund',
      amount: 1000,
      currency: 'usd',
      status: 'succeeded',
      payment_intent: payment.gateway_reference,
      metadata: { refund_id: res.body.data.id },
    };
    expect((await postWebhook(stripeEvent('refund.created', refundObject))).statusCode).toBe(200);
    expect((await postWebhook(stripeEvent('refund.updated', refundObject))).statusCode).toBe(200);
    const after = await paymentOf(app, admin.accessToken, payment.id);
    expect(after.amount_refunded).toBe(1000);
    expect(after.refunds).toHaveLength(1);
  });

  it('a refused refund is marked failed with no money moved; an unanswered one stays pending and its retry resumes it', async () => {
    const placed = await order();
    const payment = await pay(placed);

    standIn.refundMode = 'refuse';
    const refused = await refund(placed.id, { amount: 500, reason: 'Refused' });
    expect(refused.status).toBe(503);
    expect(refused.body.error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', details: { status: 'failed' } });
    expect(await orderStatus(app, customer.accessToken, placed.id)).toBe('paid');

    standIn.refundMode = 'down';
    const key = randomUUID();
    const unanswered = await refund(placed.id, { amount: 700, reason: 'Gateway down' }, key);
    expect(unanswered.status).toBe(503);
    expect(unanswered.body.error).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      details: { status: 'pending' },
    });
    const pendingId = unanswered.body.error.details.refund_id as string;

    standIn.refundMode = 'succeed';
    const retried = await refund(placed.id, { amount: 700, reason: 'Gateway down' }, key);
    expect(retried.status, retried.raw).toBe(201);
    expect(retried.body.data).toMatchObject({ id: pendingId, status: 'succeeded', amount: 700 });
    const keys = standIn.requests
      .filter((r) => r.path === '/v1/refunds')
      .map((r) => r.headers['idempotency-key']);
    expect(keys.filter((k) => k === `refund-${pendingId}`).length).toBeGreaterThanOrEqual(2);

    const after = await paymentOf(app, admin.accessToken, payment.id);
    expect(after.amount_refunded).toBe(700);
    expect(after.refunds.map((r: { status: string; amount: number }) => [r.status, r.amount])).toEqual([
      ['failed', 500],
      ['succeeded', 700],
    ]);
    expect(await orderStatus(app, customer.accessToken, placed.id)).toBe('partially_refunded');
  });
});
