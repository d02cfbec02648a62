/** Factories shared by the payments suites: a product with stock, an order, webhook bodies, PDF text. */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { waitFor, type TestApp } from './helpers/app.js';
import type { SmtpCatcher } from './helpers/smtp.js';

export { pdfText } from './helpers/pdf.js';

export const tag = () => randomBytes(4).toString('hex');

export const shippingAddress = {
  name: 'Sam Shopper',
  line1: '2 Elm Road',
  city: 'Springfield',
  postal_code: '12345',
  country: 'US',
};

/** An active product with one variant; returns the variant id. */
export async function createProduct(
  app: TestApp,
  adminToken: string,
  options: { price?: number; stock?: number } = {},
): Promise<{ variantId: string; sku: string }> {
  const sku = `PAY-${tag()}`.toUpperCase();
  const res = await app.api(
    'POST',
    '/api/v1/products',
    {
      title: `Payment test product ${sku}`,
      status: 'active',
      variants: [
        {
          sku,
          options: { size: 'M' },
          price: { amount: options.price ?? 2500, currency: 'USD' },
          initial_stock: options.stock ?? 10,
        },
      ],
    },
    adminToken,
  );
  if (res.status !== 201) throw new Error(`product: ${res.status} ${res.raw}`);
  return { variantId: res.body.data.variants[0].id as string, sku };
}

export interface PlacedOrder {
  id: string;
  number: string;
  /** The contact address given at checkout (not the account's). */
  email: string;
  total: number;
  currency: string;
}

export async function placeOrder(
  app: TestApp,
  token: string,
  variantId: string,
  quantity = 1,
): Promise<PlacedOrder> {
  const res = await app.api(
    'POST',
    '/api/v1/orders',
    {
      items: [{ variant_id: variantId, quantity }],
      email: `buyer-${tag()}@example.com`,
      shipping_address: shippingAddress,
    },
    token,
    { 'idempotency-key': randomUUID() },
  );
  if (res.status !== 201) throw new Error(`order: ${res.status} ${res.raw}`);
  const data = res.body.data;
  return {
    id: data.id,
    number: data.number,
    email: data.email,
    total: data.totals.total,
    currency: data.totals.currency,
  };
}

export async function orderStatus(app: TestApp, token: string, orderId: string): Promise<string> {
  const res = await app.api('GET', `/api/v1/orders/${orderId}`, undefined, token);
  if (res.status !== 200) throw new Error(`get order: ${res.status} ${res.raw}`);
  return res.body.data.status as string;
}

export function waitForOrderStatus(app: TestApp, token: string, orderId: string, status: string) {
  return waitFor(
    async () => ((await orderStatus(app, token, orderId)) === status ? true : undefined),
    20_000,
    `order ${orderId} to become ${status}`,
  );
}

// Tests read arbitrary response bodies.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function paymentOf(app: TestApp, token: string, paymentId: string): Promise<any> {
  const res = await app.api('GET', `/api/v1/payments/${paymentId}`, undefined, token);
  if (res.status !== 200) throw new Error(`get payment: ${res.status} ${res.raw}`);
  return res.body.data;
}

export function waitForPayment(
  app: TestApp,
  token: string,
  paymentId: string,
  check: (payment: { status: string; amount_refunded: number; refunds: { status: string }[] }) => boolean,
  what = 'the payment',
) {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return waitFor<any>(
    async () => {
      const payment: unknown = await paymentOf(app, token, paymentId);
      return check(payment as Parameters<typeof check>[0]) ? payment : undefined;
    },
    20_000,
    what,
  );
}

/** A test gateway event as the gateway sends it, with its `Bazaar-Test-Signature` header. */
export function testGatewayWebhook(
  secret: string,
  event: {
    id?: string;
    type: string;
    object: Record<string, unknown>;
  },
  timestamp = Math.floor(Date.now() / 1000),
): { payload: string; headers: Record<string, string> } {
  const payload = JSON.stringify({
    id: event.id ?? `evt_crafted_${tag()}`,
    object: 'event',
    type: event.type,
    created: Math.floor(Date.now() / 1000),
    data: { object: event.object },
  });
  return { payload, headers: signedHeaders(secret, payload, timestamp) };
}

/** Headers of a body signed as the test gateway signs: `t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`. */
export function signedHeaders(secret: string, payload: string, timestamp = Math.floor(Date.now() / 1000)) {
  const signature = createHmac('sha256', secret).update(`${timestamp}.${payload}`).digest('hex');
  return { 'content-type': 'application/json', 'bazaar-test-signature': `t=${timestamp},v1=${signature}` };
}

/**
 * The paid order's receipt reaches `order.email` with its PDF invoice attached, and the invoice
 * downloads as a PDF from the server `baseUrl` with the customer's `token`.
 */
export async function expectReceiptWithInvoice(
  smtp: SmtpCatcher,
  baseUrl: string,
  token: string,
  order: { id: string; number: string; email: string },
) {
  const receipt = await smtp.waitForMail(
    order.email,
    (m) => m.subject.includes(order.number) && /receipt/i.test(m.subject),
    30_000,
  );
  expect(receipt.raw).toMatch(/Content-Type: application\/pdf/i);
  expect(receipt.raw).toMatch(/filename="?[^"\n]*\.pdf/i);
  const invoice = await fetch(`${baseUrl}/api/v1/orders/${order.id}/invoice`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(invoice.headers.get('content-type')).toContain('application/pdf');
  expect(
    Buffer.from(await invoice.arrayBuffer())
      .subarray(0, 5)
      .toString(),
  ).toBe('%PDF-');
}
