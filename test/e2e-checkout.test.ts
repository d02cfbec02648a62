import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signInAdmin, waitFor, type TestApp } from './helpers/app.js';
import { startSmtpCatcher, type SmtpCatcher } from './helpers/smtp.js';
import { confirmAtTestGateway } from './helpers/test-gateway.js';
import { expectReceiptWithInvoice } from './payments-helpers.js';

/**
 * The whole shop, as a customer and an operator meet it: real HTTP to a listening server, real
 * SMTP on loopback, the built-in test gateway delivering its signed webhook over HTTP, and the
 * worker running the event handlers.
 */
describe('end to end: sign-up to shipped order', () => {
  let app: TestApp;
  let smtp: SmtpCatcher;
  beforeAll(async () => {
    smtp = await startSmtpCatcher();
    app = await createTestApp({ listen: true, work: true, env: { SMTP_URL: smtp.url } });
  });
  afterAll(async () => {
    await app.close();
    await smtp.close();
  });

  async function call(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
    headers: Record<string, string> = {},
  ) {
    const response = await fetch(`${app.url}${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, text, json };
  }

  it('registers, verifies, searches, orders, pays, gets the receipt with the invoice, and is shipped to', async () => {
    const admin = await signInAdmin(app);
    const word = `Heliotrope${Date.now()}`;
    const product = await call(
      'POST',
      '/api/v1/products',
      {
        title: `${word} linen shirt`,
        description: 'A light shirt for warm days.',
        status: 'active',
        variants: [
          {
            sku: `E2E-${word}-M`,
            options: { size: 'M' },
            price: { amount: 4900, currency: 'USD' },
            initial_stock: 5,
          },
          {
            sku: `E2E-${word}-L`,
            options: { size: 'L' },
            price: { amount: 4900, currency: 'USD' },
            initial_stock: 5,
          },
        ],
      },
      admin.accessToken,
    );
    expect(product.status, product.text).toBe(201);

    // Sign up and verify the address with the link from the mail.
    const email = `e2e-${randomUUID()}@example.com`;
    const password = 'Sturdy-Password-2026';
    expect(
      (await call('POST', '/api/v1/auth/register', { email, password, name: 'Erin End-to-End' })).status,
    ).toBe(201);
    const verifyMail = await smtp.waitForMail(email, (m) => /confirm your e-mail/i.test(m.subject));
    const token = decodeURIComponent(/#token=([^\s"<]+)/.exec(verifyMail.text)![1]!);
    expect((await call('POST', '/api/v1/auth/email/verify', { token })).status).toBe(200);

    const login = await call('POST', '/api/v1/auth/login', { email, password });
    expect(login.status).toBe(200);
    const access = login.json.data.access_token as string;
    expect((await call('GET', '/api/v1/auth/me', undefined, access)).json.data.email_verified).toBe(true);

    // Find the product by search, order it with an Idempotency-Key (and replay safely).
    const search = await call('GET', `/api/v1/products?q=${encodeURIComponent(word)}`);
    expect(search.status).toBe(200);
    const found = search.json.data.find((p: { title: string }) => p.title.startsWith(word));
    const variant = found.variants.find((v: { options: { size: string } }) => v.options.size === 'M');
    expect(variant.available).toBe(5);

    const key = randomUUID();
    const orderBody = {
      items: [{ variant_id: variant.id, quantity: 2 }],
      email,
      shipping_address: {
        name: 'Erin End-to-End',
        line1: '1 Test Street',
        city: 'Springfield',
        postal_code: '12345',
        country: 'US',
      },
    };
    const order = await call('POST', '/api/v1/orders', orderBody, access, { 'idempotency-key': key });
    expect(order.status, order.text).toBe(201);
    const replay = await call('POST', '/api/v1/orders', orderBody, access, { 'idempotency-key': key });
    expect(replay.text).toBe(order.text);
    const orderId = order.json.data.id as string;
    const orderNumber = order.json.data.number as string;
    expect(order.json.data.status).toBe('pending_payment');
    await smtp.waitForMail(email, (m) => m.subject.includes(orderNumber) && /received/i.test(m.subject));

    // Pay with the test gateway, as a storefront would with the client secret.
    const payment = await call('POST', `/api/v1/orders/${orderId}/payments`, { gateway: 'test' }, access);
    expect(payment.status, payment.text).toBe(201);
    const { client_secret: clientSecret, gateway_reference: reference } = payment.json.data as {
      client_secret: string;
      gateway_reference: string;
    };
    const confirm = await confirmAtTestGateway(
      app.url,
      { gateway_reference: reference, client_secret: clientSecret },
      '4242424242424242',
    );
    expect(confirm.status, confirm.raw).toBeLessThan(300);

    await waitFor(
      async () =>
        (await call('GET', `/api/v1/orders/${orderId}`, undefined, access)).json.data.status === 'paid'
          ? true
          : undefined,
      20_000,
      'order paid',
    );
    await expectReceiptWithInvoice(smtp, app.url, access, { id: orderId, number: orderNumber, email });

    // The operator fulfils and ships; the customer hears about it.
    expect(
      (await call('POST', `/api/v1/orders/${orderId}/fulfill`, undefined, admin.accessToken)).status,
    ).toBe(200);
    const shipped = await call(
      'POST',
      `/api/v1/orders/${orderId}/ship`,
      { tracking_number: '1Z999AA10123456784', carrier: 'UPS' },
      admin.accessToken,
    );
    expect(shipped.status, shipped.text).toBe(200);
    expect(shipped.json.data.status).toBe('shipped');
    const shippedMail = await smtp.waitForMail(
      email,
      (m) => m.subject.includes(orderNumber) && /on its way/i.test(m.subject),
      20_000,
    );
    expect(shippedMail.text).toContain('1Z999AA10123456784');

    const history = (await call('GET', `/api/v1/orders/${orderId}`, undefined, access)).json.data
      .status_history as { to: string }[];
    expect(history.map((h) => h.to)).toEqual(['pending_payment', 'paid', 'fulfilled', 'shipped']);
    // Stock: 2 sold of 5.
    const after = await call('GET', `/api/v1/products/${found.id}`);
    expect(after.json.data.variants.find((v: { id: string }) => v.id === variant.id).available).toBe(3);
  }, 120_000);
});
