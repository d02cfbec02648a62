import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastUtcDays } from '../src/modules/orders/index.js';
import { createTestApp, signInAdmin, signUp, waitFor, type TestApp } from './helpers/app.js';
import { payThroughTestGateway, startTestGatewayPayment } from './helpers/test-gateway.js';
import { createProduct, placeOrder } from './payments-helpers.js';

let app: TestApp;
let admin: Awaited<ReturnType<typeof signInAdmin>>;
let customer: Awaited<ReturnType<typeof signUp>>;

beforeAll(async () => {
  app = await createTestApp({ listen: true, work: true });
  admin = await signInAdmin(app);
  customer = await signUp(app);
});
afterAll(() => app.close());

const overview = async (token = admin.accessToken) =>
  app.api('GET', '/api/v1/admin/overview', undefined, token);

/** Starts a test-gateway payment and has the gateway decline the card; answers the payment's id. */
async function payDeclined(orderId: string) {
  const { payment } = await startTestGatewayPayment(app, customer.accessToken, orderId, '4000000000000002');
  return payment.id;
}

describe('shop overview', () => {
  it('counts today’s orders, revenue, sign-ups, failed payments and low stock', async () => {
    const before = (await overview()).body.data;
    expect(before.days).toHaveLength(30);
    expect(before.days.map((d: { date: string }) => d.date)).toEqual(lastUtcDays(30));
    expect(before.today).toEqual(before.days[29]);

    const { variantId, sku } = await createProduct(app, admin.accessToken, { price: 2500, stock: 3 });
    const paid = await placeOrder(app, customer.accessToken, variantId, 2);
    await payThroughTestGateway(app, customer.accessToken, paid.id);
    const unpaid = await placeOrder(app, customer.accessToken, variantId, 1);
    const failedId = await payDeclined(unpaid.id);
    await waitFor(async () => {
      const res = await app.api('GET', `/api/v1/payments/${failedId}`, undefined, customer.accessToken);
      return res.body.data.status === 'failed' ? true : undefined;
    });
    await signUp(app);

    const after = (await overview()).body.data;
    const revenueOf = (day: { revenue: { currency: string; amount: number }[] }) =>
      day.revenue.find((r) => r.currency === 'USD')?.amount ?? 0;
    expect(after.today.orders).toBe(before.today.orders + 2);
    // Only the paid order counts as revenue.
    expect(revenueOf(after.today)).toBe(revenueOf(before.today) + paid.total);
    expect(after.signups.today).toBe(before.signups.today + 1);
    expect(after.signups.last_30_days).toBe(before.signups.last_30_days + 1);
    expect(after.failed_payments.today).toBe(before.failed_payments.today + 1);
    // 3 in stock, 2 sold and 1 reserved: nothing available, below the default threshold.
    expect(after.low_stock.total).toBe(before.low_stock.total + 1);
    expect(after.low_stock.variants).toContainEqual(
      expect.objectContaining({ variant_id: variantId, sku, available: 0 }),
    );
    expect(after.dead_letters).toBe(0);
  });

  it('is for admins only', async () => {
    expect((await overview(customer.accessToken)).status).toBe(403);
    expect((await app.api('GET', '/api/v1/admin/overview')).status).toBe(401);
  });

  it('lastUtcDays ends with today and steps over month ends', () => {
    expect(lastUtcDays(3, new Date('2026-03-01T05:00:00Z'))).toEqual([
      '2026-02-27',
      '2026-02-28',
      '2026-03-01',
    ]);
  });
});

describe('admin views the dashboard needs', () => {
  it('lists an order’s payments with failures and successes, oldest first', async () => {
    const { variantId } = await createProduct(app, admin.accessToken, { stock: 5 });
    const placed = await placeOrder(app, customer.accessToken, variantId, 1);
    const declined = await payDeclined(placed.id);
    await waitFor(async () => {
      const res = await app.api('GET', `/api/v1/payments/${declined}`, undefined, customer.accessToken);
      return res.body.data.status === 'failed' ? true : undefined;
    });
    const succeeded = (await payThroughTestGateway(app, customer.accessToken, placed.id)).id;

    const list = await app.api('GET', `/api/v1/orders/${placed.id}/payments`, undefined, admin.accessToken);
    expect(list.status).toBe(200);
    expect(list.body.data.map((p: { id: string; status: string }) => [p.id, p.status])).toEqual([
      [declined, 'failed'],
      [succeeded, 'succeeded'],
    ]);
    expect(list.body.data[0].failure_reason).toBe('card_declined');
    const forbidden = await app.api(
      'GET',
      `/api/v1/orders/${placed.id}/payments`,
      undefined,
      customer.accessToken,
    );
    expect(forbidden.status).toBe(403);
  });

  it('audits staff moves of an order, with the status change and the tracking number', async () => {
    const { variantId } = await createProduct(app, admin.accessToken, { stock: 5 });
    const placed = await placeOrder(app, customer.accessToken, variantId, 1);
    await payThroughTestGateway(app, customer.accessToken, placed.id);
    const act = (step: string, body: unknown) =>
      app.api('POST', `/api/v1/orders/${placed.id}/${step}`, body, admin.accessToken);
    expect((await act('fulfill', {})).status).toBe(200);
    expect((await act('ship', { tracking_number: 'TRK-1', carrier: 'DHL' })).status).toBe(200);
    const audit = await app.api(
      'GET',
      `/api/v1/admin/audit-log?target_type=order&target_id=${placed.id}`,
      undefined,
      admin.accessToken,
    );
    const entries = audit.body.data.map((e: { action: string; diff: unknown; metadata: unknown }) => [
      e.action,
      e.diff,
      e.metadata,
    ]);
    expect(entries).toEqual(
      expect.arrayContaining([
        ['orders.fulfilled', { status: { from: 'paid', to: 'fulfilled' } }, null],
        [
          'orders.shipped',
          { status: { from: 'fulfilled', to: 'shipped' } },
          { tracking_number: 'TRK-1', carrier: 'DHL' },
        ],
      ]),
    );
  });

  it('shows a user’s sessions to an admin, and only to an admin', async () => {
    const user = await signUp(app);
    await app.api('POST', '/api/v1/auth/login', { email: user.email, password: user.password });
    const sessions = await app.api(
      'GET',
      `/api/v1/users/${user.userId}/sessions`,
      undefined,
      admin.accessToken,
    );
    expect(sessions.status).toBe(200);
    expect(sessions.body.data).toHaveLength(2);
    expect(sessions.body.data[0]).toMatchObject({ current: false, expires_at: expect.any(String) });
    expect(
      (await app.api('GET', `/api/v1/users/${user.userId}/sessions`, undefined, user.accessToken)).status,
    ).toBe(403);
    const unknown = await app.api(
      'GET',
      `/api/v1/users/${crypto.randomUUID()}/sessions`,
      undefined,
      admin.accessToken,
    );
    expect(unknown.status).toBe(404);
  });
});
