import { rowsOf } from '../src/platform/db/client.js';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../src/platform/jobs/jobs.js';
import { createTestApp, signInAdmin, signUp, waitFor, type TestApp } from './helpers/app.js';
import {
  createProduct,
  orderStatus,
  paymentOf,
  pdfText,
  placeOrder,
  signedHeaders,
  testGatewayWebhook,
  waitForOrderStatus,
  waitForPayment,
  type PlacedOrder,
} from './payments-helpers.js';
import { payThroughTestGateway, type TestGatewayPayment } from './helpers/test-gateway.js';

const onPostgres = Boolean(process.env.DATABASE_URL);

describe('payments through the test gateway', () => {
  let app: TestApp;
  let admin: { accessToken: string };
  let customer: Awaited<ReturnType<typeof signUp>>;
  let secret: string;

  const succeeded: DomainEvent<Record<string, unknown>>[] = [];
  beforeAll(async () => {
    app = await createTestApp({
      listen: true,
      work: true,
      env: { SHOP_NAME: 'Payments Test Shop', SHOP_ADDRESS: '1 Market Street|10115 Berlin|Germany' },
      setup: (bazaar) =>
        bazaar.jobs.subscribe<Record<string, unknown>>('payment.succeeded', 'test-spy', async (event) => {
          succeeded.push(event);
        }),
    });
    admin = await signInAdmin(app);
    customer = await signUp(app);
    // The default: no TEST_GATEWAY_WEBHOOK_SECRET, so the gateway generated one and stored it.
    secret = await app.bazaar.payments.testGateway!.webhookSecret();
  });
  afterAll(() => app.close());

  const db = () => app.bazaar.database.db;
  const product = (stock = 10) => createProduct(app, admin.accessToken, { price: 2500, stock });
  const order = async (quantity = 1, token = customer.accessToken) =>
    placeOrder(app, token, (await product()).variantId, quantity);
  const startPayment = async (
    orderId: string,
    token = customer.accessToken,
    headers: Record<string, string> = {},
  ) => {
    const res = await app.api(
      'POST',
      `/api/v1/orders/${orderId}/payments`,
      { gateway: 'test' },
      token,
      headers,
    );
    expect(res.status, res.raw).toBe(201);
    return res.body.data as TestGatewayPayment;
  };
  /** The storefront's call to the gateway, over real HTTP. */
  const gatewayCall = async (
    reference: string,
    action: 'confirm' | 'authenticate',
    body: Record<string, string>,
  ) => {
    const res = await fetch(`${app.url}/test-gateway/v1/payment_intents/${reference}/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const confirm = (payment: { gateway_reference: string; client_secret: string }, card: string) =>
    gatewayCall(payment.gateway_reference, 'confirm', {
      client_secret: payment.client_secret,
      card_number: card,
    });
  const postWebhook = (webhook: { payload: string; headers: Record<string, string> }) =>
    app.request({
      method: 'POST',
      url: '/api/v1/webhooks/test',
      headers: webhook.headers,
      payload: webhook.payload,
    });
  const stockOf = async (variantId: string) =>
    (await app.api('GET', `/api/v1/admin/inventory/${variantId}`, undefined, admin.accessToken)).body
      .data as {
      on_hand: number;
      reserved: number;
      available: number;
    };
  const intentObject = (payment: { id: string; gateway_reference: string }, orderId: string) => ({
    id: payment.gateway_reference,
    object: 'payment_intent',
    metadata: { order_id: orderId, payment_id: payment.id },
    last_payment_error: null,
  });
  const refund = (orderId: string, body: Record<string, unknown>, key: string = randomUUID()) =>
    app.api('POST', `/api/v1/orders/${orderId}/refunds`, body, admin.accessToken, { 'idempotency-key': key });
  const invoice = (orderId: string, token = customer.accessToken) =>
    app.request({
      method: 'GET',
      url: `/api/v1/orders/${orderId}/invoice`,
      headers: { authorization: `Bearer ${token}` },
    });

  it('pays an order: confirm with 4242 → signed webhook → order paid, stock committed, invoice issued', async () => {
    const { variantId } = await product(10);
    const placed = await placeOrder(app, customer.accessToken, variantId, 2);
    expect(await stockOf(variantId)).toMatchObject({ on_hand: 10, reserved: 2, available: 8 });

    const payment = await startPayment(placed.id);
    expect(payment).toMatchObject({
      status: 'requires_confirmation',
      amount: placed.total,
      currency: placed.currency,
      gateway: 'test',
      gateway_reference: expect.stringMatching(/^pi_test_[0-9a-f]{24}$/),
      client_secret: expect.stringMatching(/^pi_test_[0-9a-f]{24}_secret_/),
    });

    const confirmed = await confirm(payment, '4242 4242 4242 4242');
    expect(confirmed.status).toBe(200);
    expect(confirmed.body).toMatchObject({
      id: payment.gateway_reference,
      object: 'payment_intent',
      status: 'succeeded',
    });
    expect(confirmed.body).not.toHaveProperty('request_id');

    await waitForOrderStatus(app, customer.accessToken, placed.id, 'paid');
    const event = await waitFor(() => succeeded.find((e) => e.data.payment_id === payment.id));
    expect(event.data).toEqual({
      payment_id: payment.id,
      order_id: placed.id,
      order_number: placed.number,
      amount: placed.total,
      currency: placed.currency,
      user_id: customer.userId,
      email: placed.email,
    });
    expect(await paymentOf(app, customer.accessToken, payment.id)).toMatchObject({
      status: 'succeeded',
      amount_refunded: 0,
      auto_refund_reason: null,
      refunds: [],
    });
    expect(await stockOf(variantId)).toMatchObject({ on_hand: 8, reserved: 0, available: 8 });

    // The gateway delivered its events over HTTP, signed, each once.
    const deliveries = rowsOf<{ type: string; attempts: number; delivered: boolean }>(
      await db().execute(
        sql`select type, attempts, delivered_at is not null as delivered from test_gateway_events where intent_id = ${payment.gateway_reference} order by seq`,
      ),
    );
    await waitFor(async () => {
      const rows = rowsOf<{ delivered: boolean }>(
        await db().execute(
          sql`select delivered_at is not null as delivered from test_gateway_events where intent_id = ${payment.gateway_reference}`,
        ),
      );
      return rows.every((r) => r.delivered) ? true : undefined;
    });
    expect(deliveries.map((d) => d.type)).toEqual(['payment.created', 'payment.succeeded']);

    // The PDF invoice, for the owner and admins only.
    const pdf = await waitFor(async () => {
      const res = await invoice(placed.id);
      return res.statusCode === 200 ? res : undefined;
    });
    expect(pdf.headers['content-type']).toBe('application/pdf');
    expect(pdf.headers['content-disposition']).toMatch(/^inline; filename="INV-\d{6}\.pdf"$/);
    const bytes = pdf.rawPayload;
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    const text = pdfText(bytes);
    expect(text).toContain('Payments Test Shop');
    expect(text).toContain('10115 Berlin');
    expect(text).toContain(`Order: ${placed.number}`);
    expect(text).toContain('Sam Shopper');
    expect((await invoice(placed.id, admin.accessToken)).statusCode).toBe(200);
    const stranger = await signUp(app);
    const forbidden = await invoice(placed.id, stranger.accessToken);
    expect(forbidden.statusCode).toBe(404);
    expect(JSON.parse(forbidden.body).error.code).toBe('NOT_FOUND');
    expect(
      (await app.api('GET', `/api/v1/payments/${payment.id}`, undefined, stranger.accessToken)).status,
    ).toBe(404);
    expect(
      (await app.api('GET', `/api/v1/payments/${payment.id}`, undefined, admin.accessToken)).status,
    ).toBe(200);

    // A paid order takes no new payment.
    const again = await app.api('POST', `/api/v1/orders/${placed.id}/payments`, {}, customer.accessToken);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('CONFLICT');

    // The customer's data export lists the payment and the invoice, without secrets.
    const exported = await app.api('GET', '/api/v1/users/me/export', undefined, customer.accessToken);
    expect(exported.status).toBe(200);
    expect(exported.body.data.payments.payments).toContainEqual(
      expect.objectContaining({ id: payment.id, status: 'succeeded', amount: placed.total }),
    );
    expect(exported.body.data.payments.invoices).toHaveLength(1);
    expect(exported.raw).not.toContain(payment.client_secret);
  });

  it('only the owner or an admin starts a payment; others get 404', async () => {
    const placed = await order();
    const stranger = await signUp(app);
    const res = await app.api(
      'POST',
      `/api/v1/orders/${placed.id}/payments`,
      { gateway: 'test' },
      stranger.accessToken,
    );
    expect(res.status).toBe(404);
    expect((await app.api('POST', `/api/v1/orders/${placed.id}/payments`, { gateway: 'test' })).status).toBe(
      401,
    );
    expect((await startPayment(placed.id, admin.accessToken)).status).toBe('requires_confirmation');
    const bad = await app.api(
      'POST',
      `/api/v1/orders/${placed.id}/payments`,
      { gateway: 'paypal' },
      customer.accessToken,
    );
    expect(bad.status).toBe(400);
    const stripe = await app.api(
      'POST',
      `/api/v1/orders/${placed.id}/payments`,
      { gateway: 'stripe' },
      customer.accessToken,
    );
    expect(stripe.status).toBe(400);
    expect(stripe.body.error.details[0].message).toMatch(/stripe gateway is not enabled/);
  });

  it('replays a payment request with the same Idempotency-Key', async () => {
    const placed = await order();
    const key = randomUUID();
    const first = await app.api(
      'POST',
      `/api/v1/orders/${placed.id}/payments`,
      { gateway: 'test' },
      customer.accessToken,
      {
        'idempotency-key': key,
      },
    );
    const second = await app.api(
      'POST',
      `/api/v1/orders/${placed.id}/payments`,
      { gateway: 'test' },
      customer.accessToken,
      {
        'idempotency-key': key,
      },
    );
    expect(first.status).toBe(201);
    expect(second.raw).toBe(first.raw);
    expect(second.headers['idempotent-replayed']).toBe('true');
    const count = rowsOf<{ n: number }>(
      await db().execute(sql`select count(*)::int as n from payments where order_id = ${placed.id}`),
    );
    expect(count[0]!.n).toBe(1);
  });

  it('a declined card fails the payment and leaves the order awaiting payment; a new attempt can pay it', async () => {
    const placed = await order();
    const payment = await startPayment(placed.id);
    const declined = await confirm(payment, '4000000000000002');
    expect(declined.status).toBe(402);
    expect(declined.body.error).toMatchObject({ type: 'card_error', code: 'card_declined' });
    expect(declined.body.error.payment_intent.status).toBe('failed');

    const failed = await waitForPayment(app, customer.accessToken, payment.id, (p) => p.status === 'failed');
    expect(failed.failure_reason).toBe('card_declined');
    expect(await orderStatus(app, customer.accessToken, placed.id)).toBe('pending_payment');
    // The gateway refuses a second confirmation of a failed intent.
    expect((await confirm(payment, '4242424242424242')).status).toBe(400);

    const retry = await startPayment(placed.id);
    expect((await confirm(retry, '4242424242424242')).status).toBe(200);
    await waitForOrderStatus(app, customer.accessToken, placed.id, 'paid');
  });

  it('3-D Secure: requires action, then the customer approves (paid) or fails (failed)', async () => {
    const placed = await order();
    const payment = await startPayment(placed.id);
    const challenged = await confirm(payment, '4000002500003155');
    expect(challenged.status).toBe(200);
    expect(challenged.body).toMatchObject({
      status: 'requires_action',
      next_action: { type: 'use_test_authentication' },
    });
    await waitForPayment(app, customer.accessToken, payment.id, (p) => p.status === 'requires_action');
    expect(await orderStatus(app, customer.accessToken, placed.id)).toBe('pending_payment');

    const wrongSecret = await gatewayCall(payment.gateway_reference, 'authenticate', {
      client_secret: `${payment.gateway_reference}_secret_wrong`,
      outcome: 'approve',
    });
    expect(wrongSecret.status).toBe(401);
    const approved = await gatewayCall(payment.gateway_reference, 'authenticate', {
      client_secret: payment.client_secret,
      outcome: 'approve',
    });
    expect(approved.body.status).toBe('succeeded');
    await waitForOrderStatus(app, customer.accessToken, placed.id, 'paid');

    const other = await order();
    const second = await startPayment(other.id);
    await confirm(second, '4000002500003155');
    const refused = await gatewayCall(second.gateway_reference, 'authenticate', {
      client_secret: second.client_secret,
      outcome: 'fail',
    });
    expect(refused.body.status).toBe('failed');
    const failed = await waitForPayment(app, customer.accessToken, second.id, (p) => p.status === 'failed');
    expect(failed.failure_reason).toBe('payment_intent_authentication_failure');
    expect(await orderStatus(app, customer.accessToken, other.id)).toBe('pending_payment');
  });

  it('a card that fails later: processing, then failed', async () => {
    const placed = await order();
    const payment = await startPayment(placed.id);
    const accepted = await confirm(payment, '4000000000000341');
    expect(accepted.body.status).toBe('processing');
    await waitForPayment(
      app,
      customer.accessToken,
      payment.id,
      (p) => p.status === 'processing',
      'processing',
    );
    const failed = await waitForPayment(
      app,
      customer.accessToken,
      payment.id,
      (p) => p.status === 'failed',
      'failure',
    );
    expect(failed.failure_reason).toBe('processing_error');
    expect(await orderStatus(app, customer.accessToken, placed.id)).toBe('pending_payment');
  });

  it('the gateway API refuses a wrong client secret and unknown cards', async () => {
    const placed = await order();
    const payment = await startPayment(placed.id);
    const wrong = await confirm(
      { ...payment, client_secret: `${payment.gateway_reference}_secret_x` },
      '4242424242424242',
    );
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.type).toBe('authentication_error');
    const unknown = await confirm(payment, '4111111111111111');
    expect(unknown.status).toBe(402);
    expect(unknown.body.error.code).toBe('incorrect_number');
    const malformed = await gatewayCall(payment.gateway_reference, 'confirm', {
      client_secret: payment.client_secret,
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.type).toBe('invalid_request_error');
    expect((await paymentOf(app, customer.accessToken, payment.id)).status).toBe('requires_confirmation');
  });

  it('refuses webhooks with a bad signature or a timestamp outside the tolerance, changing nothing', async () => {
    const placed = await order();
    const payment = await startPayment(placed.id);
    const event = { type: 'payment.succeeded', object: intentObject(payment, placed.id) };
    const now = Math.floor(Date.now() / 1000);

    const forged = await postWebhook(testGatewayWebhook('whsec_someone_else_entirely', event));
    const stale = await postWebhook(testGatewayWebhook(secret, event, now - 360));
    const future = await postWebhook(testGatewayWebhook(secret, event, now + 360));
    const unsigned = await app.request({
      method: 'POST',
      url: '/api/v1/webhooks/test',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ id: 'evt_x', type: 'payment.succeeded' }),
    });
    const tampered = testGatewayWebhook(secret, event);
    const altered = await postWebhook({
      ...tampered,
      payload: tampered.payload.replace('payment.succeeded', 'payment.failed'),
    });
    for (const res of [forged, stale, future, unsigned, altered]) {
      expect(res.statusCode).toBe(400);
      const body = JSON.parse(res.body);
      expect(body.request_id).toEqual(expect.any(String));
      expect(body.error.code).toBe('VALIDATION_ERROR');
    }
    expect(JSON.parse(stale.body).error.message).toMatch(/tolerance/);
    const notJson = await postWebhook({ payload: 'not json', headers: signedHeaders(secret, 'not json') });
    expect(notJson.statusCode).toBe(400);
    expect(JSON.parse(notJson.body).error.message).toMatch(/not JSON/);
    const notAnEvent = await postWebhook({ payload: '{"id":1}', headers: signedHeaders(secret, '{"id":1}') });
    expect(notAnEvent.statusCode).toBe(400);

    // Within the tolerance, both directions: accepted.
    expect((await postWebhook(testGatewayWebhook(secret, event, now - 240))).statusCode).toBe(200);
    await waitForOrderStatus(app, customer.accessToken, placed.id, 'paid');
    const stranger = await postWebhook(
      testGatewayWebhook(secret, { ...event, type: 'payment.failed' }, now + 240),
    );
    expect(stranger.statusCode).toBe(200);
    expect(JSON.parse(stranger.body)).toEqual({ received: true });
    expect((await paymentOf(app, customer.accessToken, payment.id)).status).toBe('succeeded');

    const unknownGateway = await app.request({
      method: 'POST',
      url: '/api/v1/webhooks/paypal',
      headers: { 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(unknownGateway.statusCode).toBe(400);
  });

  it('events out of order or repeated change nothing: a late created, requires_action or failure after success', async () => {
    const placed = await order();
    const payment = await startPayment(placed.id);
    const succeeded = testGatewayWebhook(secret, {
      type: 'payment.succeeded',
      object: intentObject(payment, placed.id),
    });
    expect((await postWebhook(succeeded)).statusCode).toBe(200);
    await waitForOrderStatus(app, customer.accessToken, placed.id, 'paid');

    for (const type of [
      'payment.created',
      'payment.requires_action',
      'payment.processing',
      'payment.failed',
    ]) {
      const late = await postWebhook(
        testGatewayWebhook(secret, { type, object: intentObject(payment, placed.id) }),
      );
      expect(late.statusCode).toBe(200);
    }
    expect(await postWebhook(succeeded).then((r) => r.statusCode)).toBe(200); // the same delivery again
    const after = await paymentOf(app, customer.accessToken, payment.id);
    expect(after).toMatchObject({ status: 'succeeded', failure_reason: null });
    expect(await orderStatus(app, customer.accessToken, placed.id)).toBe('paid');
    const jobs = await succeededJobs(placed.id);
    expect(jobs).toBe(1);
  });

  it('a second payment that succeeds for a paid order is flagged and refunded automatically', async () => {
    const placed = await order();
    const first = await startPayment(placed.id);
    const second = await startPayment(placed.id);
    expect(second.id).not.toBe(first.id);
    await confirm(first, '4242424242424242');
    await waitForOrderStatus(app, customer.accessToken, placed.id, 'paid');
    await confirm(second, '4242424242424242');

    const refunded = await waitForPayment(
      app,
      customer.accessToken,
      second.id,
      (p) => p.amount_refunded === placed.total,
      'the automatic refund',
    );
    expect(refunded).toMatchObject({ status: 'succeeded', auto_refund_reason: 'duplicate_payment' });
    expect(refunded.refunds).toEqual([
      expect.objectContaining({
        status: 'succeeded',
        amount: placed.total,
        reason: expect.stringMatching(/^Automatic refund/),
      }),
    ]);
    // The order keeps the first payment; its refunded total is untouched.
    expect(await orderStatus(app, customer.accessToken, placed.id)).toBe('paid');
    expect((await paymentOf(app, customer.accessToken, first.id)).amount_refunded).toBe(0);
    const audit = await app.api(
      'GET',
      `/api/v1/admin/audit-log?action=payments.automatic_refund&target_id=${second.id}`,
      undefined,
      admin.accessToken,
    );
    expect(audit.status).toBe(200);
    expect(audit.body.data).toHaveLength(1);
  });

  it('a payment that succeeds after its order was cancelled is refunded automatically; the order stays cancelled', async () => {
    const placed = await order();
    const payment = await startPayment(placed.id);
    const cancelled = await app.api(
      'POST',
      `/api/v1/orders/${placed.id}/cancel`,
      { reason: 'changed my mind' },
      customer.accessToken,
    );
    expect(cancelled.status, cancelled.raw).toBe(200);
    // The customer completes the payment page anyway.
    expect((await confirm(payment, '4242424242424242')).status).toBe(200);
    const refunded = await waitForPayment(
      app,
      customer.accessToken,
      payment.id,
      (p) => p.amount_refunded === placed.total,
      'the automatic refund',
    );
    expect(refunded).toMatchObject({ status: 'succeeded', auto_refund_reason: 'order_not_payable' });
    expect(await orderStatus(app, customer.accessToken, placed.id)).toBe('cancelled');
    expect(await succeededJobs(placed.id)).toBe(0);
  });

  it('refunds partially then fully; the order follows; over-refunds are refused; replays return the same refund', async () => {
    const placed = await order(2); // 2 × 25.00 plus shipping and tax
    const payment = await payThroughTestGateway(app, customer.accessToken, placed.id);

    const customerTry = await app.api(
      'POST',
      `/api/v1/orders/${placed.id}/refunds`,
      { reason: 'mine' },
      customer.accessToken,
      {
        'idempotency-key': randomUUID(),
      },
    );
    expect(customerTry.status).toBe(403);
    const noKey = await app.api(
      'POST',
      `/api/v1/orders/${placed.id}/refunds`,
      { reason: 'x' },
      admin.accessToken,
    );
    expect(noKey.status).toBe(400);

    const key = randomUUID();
    const partial = await refund(placed.id, { amount: 1000, reason: 'One item arrived damaged' }, key);
    expect(partial.status, partial.raw).toBe(201);
    expect(partial.body.data).toMatchObject({
      payment_id: payment.id,
      order_id: placed.id,
      amount: 1000,
      currency: placed.currency,
      reason: 'One item arrived damaged',
      status: 'pending',
    });
    const replay = await refund(placed.id, { amount: 1000, reason: 'One item arrived damaged' }, key);
    expect(replay.status).toBe(201);
    expect(replay.raw).toBe(partial.raw);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    const mismatch = await refund(placed.id, { amount: 2000, reason: 'One item arrived damaged' }, key);
    expect(mismatch.status).toBe(422);

    await waitForOrderStatus(app, customer.accessToken, placed.id, 'partially_refunded');
    let current = await paymentOf(app, admin.accessToken, payment.id);
    expect(current.amount_refunded).toBe(1000);
    expect(current.refunds).toHaveLength(1);
    expect(current.refunds[0].status).toBe('succeeded');

    const tooMuch = await refund(placed.id, { amount: placed.total, reason: 'Too much' });
    expect(tooMuch.status).toBe(409);
    expect(tooMuch.body.error).toMatchObject({
      code: 'CONFLICT',
      details: { refundable: placed.total - 1000 },
    });

    const rest = await refund(placed.id, { reason: 'Customer returned everything' });
    expect(rest.status, rest.raw).toBe(201);
    expect(rest.body.data.amount).toBe(placed.total - 1000);
    await waitForOrderStatus(app, customer.accessToken, placed.id, 'refunded');
    current = await paymentOf(app, admin.accessToken, payment.id);
    expect(current.amount_refunded).toBe(placed.total);

    const more = await refund(placed.id, { amount: 1, reason: 'Once more' });
    expect(more.status).toBe(409);
    const audit = await app.api(
      'GET',
      `/api/v1/admin/audit-log?action=payments.refund_issued&target_id=${placed.id}`,
      undefined,
      admin.accessToken,
    );
    expect(audit.body.data).toHaveLength(2);

    const unpaid = await order();
    const refused = await refund(unpaid.id, { reason: 'Not paid yet' });
    expect(refused.status).toBe(409);
  });

  it('numbers invoices sequentially across orders', async () => {
    const numbers: number[] = [];
    for (const placed of [await order(), await order()] as PlacedOrder[]) {
      const payment = await startPayment(placed.id);
      await confirm(payment, '4242424242424242');
      const res = await waitFor(async () => {
        const r = await invoice(placed.id);
        return r.statusCode === 200 ? r : undefined;
      });
      numbers.push(Number(/INV-(\d+)/.exec(String(res.headers['content-disposition']))![1]));
    }
    expect(numbers[1]).toBe(numbers[0]! + 1);
  });

  it('issues invoices to orders paid at once without gaps, each event naming its stored invoice', async () => {
    const placed = await Promise.all(Array.from({ length: 6 }, () => order()));
    await Promise.all(placed.map(async (p) => confirm(await startPayment(p.id), '4242424242424242')));
    const numbers = await Promise.all(
      placed.map(async (p) => {
        const res = await waitFor(async () => {
          const r = await invoice(p.id);
          return r.statusCode === 200 ? r : undefined;
        });
        return Number(/INV-(\d+)/.exec(String(res.headers['content-disposition']))![1]);
      }),
    );
    expect(new Set(numbers).size).toBe(6);
    // A number is taken and its invoice stored in one transaction: the stored ones never skip one.
    const [span] = rowsOf<{ n: number; first: number; last: number }>(
      await db().execute(sql`
        select count(*)::int as n, min(substr(number, 5)::int) as first, max(substr(number, 5)::int) as last
        from invoices`),
    );
    expect(span!.n).toBe(span!.last - span!.first + 1);
    const ids = placed.map((p) => p.id);
    const named = rowsOf<{ order_id: string; stored: string; announced: string }>(
      await db().execute(sql`
        select i.order_id::text, i.id::text as stored, j.data->'data'->>'invoice_id' as announced
        from invoices i
        join (
          select data from pgboss.job where name = 'invoice.generated.receipt-email'
          union all
          select data from pgboss.archive where name = 'invoice.generated.receipt-email'
        ) j on j.data->'data'->>'order_id' = i.order_id::text
        where i.order_id in (${sql.join(
          ids.map((id) => sql`${id}::uuid`),
          sql`, `,
        )})`),
    );
    expect(named).toHaveLength(6);
    for (const row of named) expect(row.announced).toBe(row.stored);
  });

  async function succeededJobs(orderId: string): Promise<number> {
    const rows = rowsOf<{ n: number }>(
      await db().execute(sql`
        select count(*)::int as n from (
          select data from pgboss.job where name = 'payment.succeeded.invoice'
          union all
          select data from pgboss.archive where name = 'payment.succeeded.invoice'
        ) j where j.data->'data'->>'order_id' = ${orderId}`),
    );
    return rows[0]!.n;
  }

  describe.skipIf(!onPostgres)('on PostgreSQL', () => {
    it('the same webhook event delivered 10 times at once changes the state once and publishes once', async () => {
      const placed = await order();
      const payment = await startPayment(placed.id);
      const webhook = testGatewayWebhook(secret, {
        id: `evt_storm_${randomUUID()}`,
        type: 'payment.succeeded',
        object: intentObject(payment, placed.id),
      });
      const answers = await Promise.all(
        Array.from({ length: 10 }, () =>
          fetch(`${app.url}/api/v1/webhooks/test`, {
            method: 'POST',
            headers: webhook.headers,
            body: webhook.payload,
          }),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
      await waitForOrderStatus(app, customer.accessToken, placed.id, 'paid');
      const recorded = rowsOf<{ n: number }>(
        await db().execute(
          sql`select count(*)::int as n from payment_events where payment_id = ${payment.id} and type = 'payment.succeeded'`,
        ),
      );
      expect(recorded[0]!.n).toBe(1);
      const transitions = rowsOf<{ n: number }>(
        await db().execute(
          sql`select count(*)::int as n from order_status_history where order_id = ${placed.id} and to_status = 'paid'`,
        ),
      );
      expect(transitions[0]!.n).toBe(1);
      expect(await succeededJobs(placed.id)).toBe(1);
    });
  });
});

describe('test gateway webhook delivery', () => {
  it('retries a delivery the endpoint did not accept, with backoff, until it is accepted', async () => {
    // A proxy in front of Bazaar's webhook endpoint that refuses the first two deliveries.
    let refuse = 2;
    let target = '';
    const attempts: number[] = [];
    const proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        attempts.push(Date.now());
        if (refuse > 0) {
          refuse -= 1;
          res.writeHead(503).end();
          return;
        }
        void fetch(target, {
          method: 'POST',
          headers: {
            'content-type': String(req.headers['content-type']),
            'bazaar-test-signature': String(req.headers['bazaar-test-signature']),
          },
          body: Buffer.concat(chunks),
        }).then(async (answer) => res.writeHead(answer.status).end(await answer.text()));
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const app = await createTestApp({
      listen: true,
      work: true,
      env: {
        TEST_GATEWAY_WEBHOOK_URL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/hook`,
        WORKER_CONCURRENCY: '1',
      },
    });
    target = `${app.url}/api/v1/webhooks/test`;
    try {
      const admin = await signInAdmin(app);
      const customer = await signUp(app);
      const { variantId } = await createProduct(app, admin.accessToken);
      const placed = await placeOrder(app, customer.accessToken, variantId);
      const { gateway_reference: reference } = await payThroughTestGateway(
        app,
        customer.accessToken,
        placed.id,
      );
      const rows = await waitFor(async () => {
        const events = rowsOf<{
          type: string;
          attempts: number;
          delivered: boolean;
          last_error: string | null;
        }>(
          await app.bazaar.database.db.execute(
            sql`select type, attempts, delivered_at is not null as delivered, last_error from test_gateway_events where intent_id = ${reference} order by seq`,
          ),
        );
        return events.every((e) => e.delivered) ? events : undefined;
      });
      // Two refused deliveries, each retried; every event delivered in the end.
      expect(rows.reduce((sum, e) => sum + e.attempts, 0)).toBe(rows.length + 2);
      expect(rows.every((e) => e.last_error === null)).toBe(true);
      expect(attempts.length).toBe(rows.length + 2);
    } finally {
      await app.close();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});

describe('payment webhooks when the database is down', () => {
  it('answers 5xx so the gateway retries', async () => {
    const secret = 'whsec_test_database_down_secret';
    const app = await createTestApp({ env: { TEST_GATEWAY_WEBHOOK_SECRET: secret } });
    try {
      const webhook = testGatewayWebhook(secret, {
        type: 'payment.succeeded',
        object: {
          id: 'pi_test_000000000000000000000000',
          object: 'payment_intent',
          metadata: { payment_id: randomUUID() },
          last_payment_error: null,
        },
      });
      await app.bazaar.database.close();
      const res = await app.request({
        method: 'POST',
        url: '/api/v1/webhooks/test',
        headers: webhook.headers,
        payload: webhook.payload,
      });
      expect(res.statusCode).toBeGreaterThanOrEqual(500);
      expect(JSON.parse(res.body).error.code).toMatch(/INTERNAL_ERROR|SERVICE_UNAVAILABLE/);
    } finally {
      await app.close();
    }
  });
});
