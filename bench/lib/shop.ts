import { randomUUID } from 'node:crypto';
import { ADMIN_EMAIL, ADMIN_PASSWORD } from './bazaar.js';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access -- API answers are read as plain JSON here */

export interface ApiAnswer {
  status: number;
  json: any;
  text: string;
}

/** One JSON call to the API; keep-alive connections come from fetch's shared pool. */
export async function call(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<ApiAnswer> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
  });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

async function expectStatus(answer: Promise<ApiAnswer>, status: number, what: string): Promise<any> {
  const a = await answer;
  if (a.status !== status)
    throw new Error(`${what}: expected ${status}, got ${a.status}: ${a.text.slice(0, 400)}`);
  return a.json;
}

export interface Customer {
  email: string;
  password: string;
  token: string;
}

export interface Fixtures {
  adminToken: string;
  customers: Customer[];
  /** Variants with stock raised far above what a run sells, for order scenarios. */
  variantIds: string[];
  productIds: string[];
  productHandles: string[];
  categoryHandle: string;
  searchWord: string;
}

export const CUSTOMER_PASSWORD = 'Bench-Customer-Password-2026';
export const shippingAddress = {
  name: 'Bench Customer',
  line1: '1 Load Street',
  city: 'Springfield',
  postal_code: '12345',
  country: 'US',
};

/** Signs in the admin, registers customers and raises stock of the bench variants. */
export async function prepareFixtures(base: string, customers: number, variants: number): Promise<Fixtures> {
  const admin = await expectStatus(
    call(base, 'POST', '/api/v1/auth/login', { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } }),
    200,
    'admin login',
  );
  const adminToken = admin.data.access_token as string;

  const registered: Customer[] = [];
  for (let i = 0; i < customers; i += 1) {
    const email = `bench-${randomUUID()}@example.com`;
    const answer = await expectStatus(
      call(base, 'POST', '/api/v1/auth/register', {
        body: { email, password: CUSTOMER_PASSWORD, name: `Bench Customer ${i + 1}` },
      }),
      201,
      'register',
    );
    registered.push({ email, password: CUSTOMER_PASSWORD, token: answer.data.access_token as string });
  }

  const list = await expectStatus(call(base, 'GET', '/api/v1/products?per_page=100'), 200, 'product list');
  const products = list.data as { id: string; handle: string; variants: { id: string }[] }[];
  const variantIds = products.flatMap((p) => p.variants.map((v) => v.id)).slice(0, variants);
  for (const id of variantIds)
    await expectStatus(
      call(base, 'POST', `/api/v1/admin/inventory/${id}/adjustments`, {
        token: adminToken,
        body: { delta: 1_000_000, reason: 'benchmark stock' },
      }),
      201,
      'stock adjustment',
    );

  const tree = await expectStatus(call(base, 'GET', '/api/v1/categories'), 200, 'categories');
  const categoryHandle = firstCategoryHandle(tree.data);
  return {
    adminToken,
    customers: registered,
    variantIds,
    productIds: products.map((p) => p.id),
    productHandles: products.map((p) => p.handle),
    categoryHandle,
    searchWord: 'linen',
  };
}

function firstCategoryHandle(data: any): string {
  const list = (Array.isArray(data) ? data : (data?.categories ?? [])) as { handle: string }[];
  const handle = list[0]?.handle;
  if (!handle) throw new Error('the demo catalog has no categories');
  return handle;
}

export function orderBody(variantId: string, email: string) {
  return { items: [{ variant_id: variantId, quantity: 1 }], email, shipping_address: shippingAddress };
}

/**
 * How often a checkout reads its order while waiting for `paid`. Every 5 ms, ten clients spent
 * more of the server on these reads than on the checkouts; every 20 ms a flow's time is at most
 * 20 ms late, never early.
 */
const PAID_POLL_MS = 20;

/**
 * One whole paid checkout as a storefront performs it: order (with an Idempotency-Key), payment
 * with the test gateway, card confirmation, then reading the order until the webhook has made it
 * `paid`. Returns the milliseconds it took.
 */
/** Milliseconds of each step of one checkout, and of the whole flow. */
export interface CheckoutTimes {
  total: number;
  steps: Record<CheckoutStep, number>;
}
export type CheckoutStep = 'order' | 'payment' | 'confirm' | 'until_paid';

export async function checkout(base: string, customer: Customer, variantId: string): Promise<CheckoutTimes> {
  const started = performance.now();
  let last = started;
  const steps = {} as Record<CheckoutStep, number>;
  const step = (name: CheckoutStep) => {
    const now = performance.now();
    steps[name] = now - last;
    last = now;
  };
  const order = await expectStatus(
    call(base, 'POST', '/api/v1/orders', {
      token: customer.token,
      headers: { 'idempotency-key': randomUUID() },
      body: orderBody(variantId, customer.email),
    }),
    201,
    'create order',
  );
  step('order');
  const orderId = order.data.id as string;
  const payment = await expectStatus(
    call(base, 'POST', `/api/v1/orders/${orderId}/payments`, {
      token: customer.token,
      body: { gateway: 'test' },
    }),
    201,
    'create payment',
  );
  step('payment');
  await expectStatus(
    call(base, 'POST', `/test-gateway/v1/payment_intents/${payment.data.gateway_reference}/confirm`, {
      body: { client_secret: payment.data.client_secret, card_number: '4242424242424242' },
    }),
    200,
    'confirm card',
  );
  step('confirm');
  const deadline = performance.now() + 30_000;
  for (;;) {
    const read = await expectStatus(
      call(base, 'GET', `/api/v1/orders/${orderId}`, { token: customer.token }),
      200,
      'read order',
    );
    if (read.data.status === 'paid') {
      step('until_paid');
      return { total: last - started, steps };
    }
    if (performance.now() > deadline) throw new Error(`order ${orderId} not paid after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, PAID_POLL_MS));
  }
}
