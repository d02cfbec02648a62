import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTransaction } from '../src/platform/context.js';
import { rowsOf } from '../src/platform/db/client.js';
import type { DomainEvent } from '../src/platform/jobs/jobs.js';
import { markOrderPaid, recordOrderRefund } from '../src/modules/orders/index.js';
import { createTestApp, signInAdmin, signUp, waitFor, type TestApp } from './helpers/app.js';

const tag = () => randomBytes(3).toString('hex').toUpperCase();

/** Generous limits: every test client is one user on 127.0.0.1. */
const RATE_LIMITS =
  'POST /api/v1/auth/register=10000/60,POST /api/v1/auth/login=10000/60,POST /api/v1/auth/refresh=10000/60,POST /api/v1/orders=10000/60';

const address = {
  name: 'Ada Lovelace',
  line1: 'Marktstraße 1',
  city: 'Berlin',
  postal_code: '10115',
  country: 'DE',
};

describe('orders', () => {
  let app: TestApp;
  let admin: string;
  let customer: Awaited<ReturnType<typeof signUp>>;
  let other: Awaited<ReturnType<typeof signUp>>;
  const events: DomainEvent<Record<string, unknown>>[] = [];

  beforeAll(async () => {
    app = await createTestApp({
      work: true,
      env: { RATE_LIMITS },
      setup: (bazaar) => {
        for (const type of [
          'order.created',
          'order.cancelled',
          'order.fulfilled',
          'order.shipped',
          'order.delivered',
        ])
          bazaar.jobs.subscribe<Record<string, unknown>>(type, 'test-spy', async (event) => {
            events.push(event);
          });
      },
    });
    admin = (await signInAdmin(app)).accessToken;
    customer = await signUp(app);
    other = await signUp(app);
    // Tax: 19 % in Germany, none elsewhere. Shipping: 7.00 to Germany (free from 200.00), else 5.00 (free from 100.00).
    expect(
      (
        await app.api(
          'PUT',
          '/api/v1/admin/settings/tax-rates',
          {
            rates: [
              { country: '*', rate_basis_points: 0 },
              { country: 'de', rate_basis_points: 1900 },
            ],
          },
          admin,
        )
      ).status,
    ).toBe(200);
    const shipping = await app.api(
      'PUT',
      '/api/v1/admin/settings/shipping-rates',
      {
        rates: [
          { country: '*', currency: 'USD', amount: 500, free_over: 10_000 },
          { country: 'DE', currency: 'USD', amount: 700, free_over: 20_000 },
        ],
      },
      admin,
    );
    expect(shipping.status, shipping.raw).toBe(200);
  });
  afterAll(() => app.close());

  /** An active product with one variant per entry; returns the variants in that order. */
  async function product(variants: { price: number; stock: number; currency?: string; size?: string }[]) {
    const res = await app.api(
      'POST',
      '/api/v1/products',
      {
        title: `Oxford Shirt ${tag()}`,
        status: 'active',
        variants: variants.map((v, i) => ({
          sku: `OXF-${tag()}-${i}`,
          options: { size: v.size ?? `S${i}` },
          price: { amount: v.price, currency: v.currency ?? 'USD' },
          initial_stock: v.stock,
        })),
      },
      admin,
    );
    if (res.status !== 201) throw new Error(`product: ${res.status} ${res.raw}`);
    return (res.body.data.variants as { id: string; sku: string }[]).map((v) => ({ id: v.id, sku: v.sku }));
  }

  const order = (
    token: string,
    items: { variant_id: string; quantity: number }[],
    options: { key?: string; email?: string; shippingAddress?: Record<string, unknown> } = {},
  ) =>
    app.api(
      'POST',
      '/api/v1/orders',
      {
        items,
        email: options.email ?? 'Ada@Example.com',
        shipping_address: options.shippingAddress ?? address,
      },
      token,
      { 'idempotency-key': options.key ?? randomUUID() },
    );

  const stock = async (variantId: string) =>
    (await app.api('GET', `/api/v1/admin/inventory/${variantId}`, undefined, admin)).body.data as {
      on_hand: number;
      reserved: number;
      available: number;
    };

  const count = async (query: ReturnType<typeof sql>) =>
    Number(rowsOf<{ n: number }>(await app.bazaar.database.db.execute(query))[0]!.n);

  const ordersOf = (userId: string) => count(sql`select count(*) as n from orders where user_id = ${userId}`);

  const eventFor = (type: string, orderId: string) =>
    waitFor(
      () => events.find((e) => e.event_type === type && e.data.order_id === orderId),
      15_000,
      `${type} of ${orderId}`,
    );

  const system = () => app.bazaar.systemContext();
  const pay = (orderId: string) =>
    inTransaction(system(), (tx) => markOrderPaid(tx, orderId, 'Paid in a test.'));

  it('places an order: price snapshot, shipping and tax by destination, stock reserved, order.created', async () => {
    const [shirt, coat] = await product([
      { price: 1999, stock: 10 },
      { price: 5000, stock: 10 },
    ]);
    const res = await order(customer.accessToken, [
      { variant_id: shirt!.id, quantity: 2 },
      { variant_id: coat!.id, quantity: 1 },
    ]);
    expect(res.status, res.raw).toBe(201);
    const o = res.body.data;
    expect(res.headers.location).toBe(`/api/v1/orders/${o.id}`);
    expect(o).toMatchObject({
      status: 'pending_payment',
      user_id: customer.userId,
      email: 'ada@example.com',
      shipping_address: address,
      tracking_number: null,
      paid_at: null,
    });
    expect(o.number).toMatch(/^BZ-1\d{5,}$/);
    expect(o.items).toEqual([
      {
        variant_id: shirt!.id,
        sku: shirt!.sku,
        title: expect.stringMatching(/^Oxford Shirt \w+ — S0$/),
        options: expect.any(Object),
        quantity: 2,
        unit_price: { amount: 1999, currency: 'USD' },
        line_total: { amount: 3998, currency: 'USD' },
      },
      expect.objectContaining({
        variant_id: coat!.id,
        quantity: 1,
        line_total: { amount: 5000, currency: 'USD' },
      }),
    ]);
    // 89.98 subtotal + 7.00 shipping (DE, under 200.00) + 19 % of 96.98 = 18.4262 → 18.43.
    expect(o.totals).toEqual({
      subtotal: 8998,
      shipping: 700,
      tax: 1843,
      total: 11541,
      refunded: 0,
      currency: 'USD',
    });
    const hold = new Date(o.hold_expires_at).getTime() - new Date(o.created_at).getTime();
    expect(hold).toBeGreaterThan(29 * 60_000);
    expect(hold).toBeLessThanOrEqual(30 * 60_000 + 1000);
    expect(o.status_history).toEqual([
      {
        from: null,
        to: 'pending_payment',
        at: expect.any(String),
        actor_type: 'customer',
        note: 'Order placed.',
      },
    ]);
    expect(await stock(shirt!.id)).toMatchObject({ on_hand: 10, reserved: 2, available: 8 });

    const event = await eventFor('order.created', o.id);
    expect(event.data).toEqual({
      order_id: o.id,
      order_number: o.number,
      user_id: customer.userId,
      email: 'ada@example.com',
    });

    // Elsewhere: the * rates — free shipping from 100.00, no tax.
    const us = await order(customer.accessToken, [{ variant_id: coat!.id, quantity: 2 }], {
      shippingAddress: { ...address, country: 'us', region: 'NY' },
    });
    expect(us.status, us.raw).toBe(201);
    expect(us.body.data.shipping_address).toMatchObject({ country: 'US', region: 'NY' });
    expect(us.body.data.totals).toMatchObject({ subtotal: 10_000, shipping: 0, tax: 0, total: 10_000 });
  });

  it('is idempotent: a replay returns the same bytes and places one order; another body with the key is refused', async () => {
    const [v] = await product([{ price: 1000, stock: 10 }]);
    const buyer = await signUp(app);
    const key = randomUUID();
    const items = [{ variant_id: v!.id, quantity: 1 }];
    const first = await order(buyer.accessToken, items, { key });
    expect(first.status).toBe(201);
    const replay = await order(buyer.accessToken, items, { key });
    expect(replay.status).toBe(201);
    expect(replay.raw).toBe(first.raw);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.headers.location).toBe(first.headers.location);
    expect(await ordersOf(buyer.userId)).toBe(1);
    expect(await stock(v!.id)).toMatchObject({ reserved: 1, available: 9 });

    const mismatch = await order(buyer.accessToken, [{ variant_id: v!.id, quantity: 2 }], { key });
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.error.code).toBe('IDEMPOTENCY_KEY_MISMATCH');

    const unkeyed = await app.api(
      'POST',
      '/api/v1/orders',
      { items, email: 'a@example.com', shipping_address: address },
      buyer.accessToken,
    );
    expect(unkeyed.status).toBe(400);
    expect(unkeyed.body.error.code).toBe('VALIDATION_ERROR');
    expect(await ordersOf(buyer.userId)).toBe(1);
  });

  it('refuses what it cannot sell: OUT_OF_STOCK names the short SKUs and changes nothing', async () => {
    const [plenty, few] = await product([
      { price: 100, stock: 50 },
      { price: 100, stock: 1 },
    ]);
    const buyer = await signUp(app);
    const res = await order(buyer.accessToken, [
      { variant_id: plenty!.id, quantity: 5 },
      { variant_id: few!.id, quantity: 2 },
    ]);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('OUT_OF_STOCK');
    expect(res.body.error.details.items).toEqual([
      { variant_id: few!.id, sku: few!.sku, requested: 2, available: 1 },
    ]);
    expect(await stock(plenty!.id)).toMatchObject({ reserved: 0, available: 50 });
    expect(await stock(few!.id)).toMatchObject({ reserved: 0, available: 1 });
    expect(await ordersOf(buyer.userId)).toBe(0);
  });

  it('adds up two lines of one variant before checking stock', async () => {
    const [v] = await product([{ price: 250, stock: 4 }]);
    const short = await order(customer.accessToken, [
      { variant_id: v!.id, quantity: 2 },
      { variant_id: v!.id, quantity: 3 },
    ]);
    expect(short.status).toBe(409);
    expect(short.body.error.details.items).toEqual([
      { variant_id: v!.id, sku: v!.sku, requested: 5, available: 4 },
    ]);

    const ok = await order(customer.accessToken, [
      { variant_id: v!.id, quantity: 1 },
      { variant_id: v!.id, quantity: 3 },
    ]);
    expect(ok.status, ok.raw).toBe(201);
    expect(ok.body.data.items).toHaveLength(1);
    expect(ok.body.data.items[0]).toMatchObject({
      quantity: 4,
      line_total: { amount: 1000, currency: 'USD' },
    });
    expect(await stock(v!.id)).toMatchObject({ reserved: 4, available: 0 });
  });

  it('validates lines: unknown, unsellable and mixed-currency variants, bad addresses', async () => {
    const [usd] = await product([{ price: 100, stock: 5 }]);
    const [eur] = await product([{ price: 100, stock: 5, currency: 'EUR' }]);
    const unknown = randomUUID();
    const res = await order(customer.accessToken, [
      { variant_id: usd!.id, quantity: 1 },
      { variant_id: unknown, quantity: 1 },
    ]);
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([
      { field: 'items.1.variant_id', message: 'no such product variant' },
    ]);

    const mixed = await order(customer.accessToken, [
      { variant_id: usd!.id, quantity: 1 },
      { variant_id: eur!.id, quantity: 1 },
    ]);
    expect(mixed.status).toBe(400);
    expect(mixed.body.error.details[0].field).toBe('items.1.variant_id');

    // No EUR shipping rate is configured: the shop does not ship EUR orders.
    const eurOnly = await order(customer.accessToken, [{ variant_id: eur!.id, quantity: 1 }]);
    expect(eurOnly.status).toBe(400);
    expect(eurOnly.body.error.details[0].field).toBe('shipping_address.country');

    const [archivedProduct] = await product([{ price: 100, stock: 5 }]);
    const products = await app.api('GET', `/api/v1/admin/products?per_page=100`, undefined, admin);
    const owner = (products.body.data as { id: string; variants: { id: string }[] }[]).find((p) =>
      p.variants.some((v) => v.id === archivedProduct!.id),
    )!;
    expect(
      (await app.api('POST', `/api/v1/products/${owner.id}/archive`, undefined, admin)).status,
    ).toBeLessThan(300);
    const archived = await order(customer.accessToken, [{ variant_id: archivedProduct!.id, quantity: 1 }]);
    expect(archived.status).toBe(400);
    expect(archived.body.error.details[0].message).toMatch(/not for sale/);

    for (const bad of [
      { ...address, country: 'XX' },
      { ...address, country: 'Germany' },
      { ...address, postal_code: '' },
      { ...address, phone: '123' },
    ]) {
      const r = await order(customer.accessToken, [{ variant_id: usd!.id, quantity: 1 }], {
        shippingAddress: bad,
      });
      expect(r.status, JSON.stringify(bad)).toBe(400);
    }
    for (const items of [
      [],
      [{ variant_id: usd!.id, quantity: 0 }],
      [{ variant_id: usd!.id, quantity: 1001 }],
    ]) {
      const r = await order(customer.accessToken, items);
      expect(r.status).toBe(400);
    }
    expect(await stock(usd!.id)).toMatchObject({ reserved: 0, available: 5 });
  });

  it('shows an order to its customer and staff only', async () => {
    const [v] = await product([{ price: 100, stock: 5 }]);
    const placed = await order(customer.accessToken, [{ variant_id: v!.id, quantity: 1 }]);
    const id = placed.body.data.id as string;
    const own = await app.api('GET', `/api/v1/orders/${id}`, undefined, customer.accessToken);
    expect(own.status).toBe(200);
    expect(own.body.data.status_history).toHaveLength(1);
    expect((await app.api('GET', `/api/v1/orders/${id}`, undefined, admin)).status).toBe(200);
    const foreign = await app.api('GET', `/api/v1/orders/${id}`, undefined, other.accessToken);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('NOT_FOUND');
    expect((await app.api('POST', `/api/v1/orders/${id}/cancel`, {}, other.accessToken)).status).toBe(404);
    expect((await app.api('GET', `/api/v1/orders/${randomUUID()}`, undefined, admin)).status).toBe(404);
    expect((await app.api('GET', `/api/v1/orders/not-a-uuid`, undefined, admin)).status).toBe(400);
    expect((await app.api('GET', `/api/v1/orders/${id}`)).status).toBe(401);
  });

  it('walks the lifecycle with history: unpaid cannot ship, paid → fulfilled → shipped → delivered, refunds', async () => {
    const [v] = await product([{ price: 2500, stock: 5 }]);
    const placed = await order(customer.accessToken, [{ variant_id: v!.id, quantity: 2 }]);
    const id = placed.body.data.id as string;
    const total = placed.body.data.totals.total as number;
    const act = (action: string, body: unknown = {}, token = admin) =>
      app.api('POST', `/api/v1/orders/${id}/${action}`, body, token);

    const early = await act('ship', { tracking_number: '1Z999' });
    expect(early.status).toBe(409);
    expect(early.body.error).toMatchObject({
      code: 'CONFLICT',
      details: { from: 'pending_payment', to: 'shipped' },
    });
    expect((await act('fulfill')).status).toBe(409);
    expect((await act('fulfill', {}, customer.accessToken)).status).toBe(403);

    expect(await pay(id)).toEqual({ number: expect.stringMatching(/^BZ-\d+$/), email: expect.any(String) });
    expect(await pay(id)).toBeUndefined(); // a second payment changes nothing
    expect(await stock(v!.id)).toMatchObject({ on_hand: 3, reserved: 0, available: 3 });
    expect((await act('cancel', {}, customer.accessToken)).status).toBe(409);

    expect((await act('fulfill', { note: 'packed by Sam' })).status).toBe(200);
    const shipped = await act('ship', { tracking_number: '1Z999AA10123456784', carrier: 'UPS' });
    expect(shipped.status, shipped.raw).toBe(200);
    expect(shipped.body.data).toMatchObject({
      status: 'shipped',
      tracking_number: '1Z999AA10123456784',
      carrier: 'UPS',
    });
    expect((await act('ship', { tracking_number: 'again' })).status).toBe(409);
    expect((await eventFor('order.shipped', id)).data).toMatchObject({
      tracking_number: '1Z999AA10123456784',
      carrier: 'UPS',
      order_number: placed.body.data.number,
    });
    const delivered = await act('deliver');
    expect(delivered.status).toBe(200);
    await eventFor('order.fulfilled', id);
    await eventFor('order.delivered', id);

    expect(await inTransaction(system(), (tx) => recordOrderRefund(tx, id, 1000, 'damaged'))).toBe(
      'partially_refunded',
    );
    await expect(
      inTransaction(system(), (tx) => recordOrderRefund(tx, id, total, 'too much')),
    ).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    expect(await inTransaction(system(), (tx) => recordOrderRefund(tx, id, total - 1000, 'rest'))).toBe(
      'refunded',
    );

    const final = await app.api('GET', `/api/v1/orders/${id}`, undefined, customer.accessToken);
    expect(final.body.data.totals.refunded).toBe(total);
    expect(
      final.body.data.status_history.map((h: { from: string | null; to: string; actor_type: string }) => [
        h.from,
        h.to,
        h.actor_type,
      ]),
    ).toEqual([
      [null, 'pending_payment', 'customer'],
      ['pending_payment', 'paid', 'system'],
      ['paid', 'fulfilled', 'admin'],
      ['fulfilled', 'shipped', 'admin'],
      ['shipped', 'delivered', 'admin'],
      ['delivered', 'partially_refunded', 'system'],
      ['partially_refunded', 'refunded', 'system'],
    ]);
    expect(final.body.data.status_history[2].note).toBe('packed by Sam');
  });

  it('lets the customer cancel while unpaid, releasing the stock; a cancelled order cannot be paid', async () => {
    const [v] = await product([{ price: 300, stock: 3 }]);
    const placed = await order(customer.accessToken, [{ variant_id: v!.id, quantity: 3 }]);
    const id = placed.body.data.id as string;
    expect(await stock(v!.id)).toMatchObject({ available: 0, reserved: 3 });

    const cancelled = await app.api(
      'POST',
      `/api/v1/orders/${id}/cancel`,
      { reason: 'changed my mind' },
      customer.accessToken,
    );
    expect(cancelled.status, cancelled.raw).toBe(200);
    expect(cancelled.body.data).toMatchObject({ status: 'cancelled', hold_expires_at: null });
    expect(cancelled.body.data.cancelled_at).toEqual(expect.any(String));
    expect(cancelled.body.data.status_history.at(-1)).toMatchObject({
      from: 'pending_payment',
      to: 'cancelled',
      actor_type: 'customer',
      note: 'changed my mind',
    });
    expect(await stock(v!.id)).toMatchObject({ available: 3, reserved: 0, on_hand: 3 });
    expect((await eventFor('order.cancelled', id)).data.reason).toBe('requested_by_customer');

    expect((await app.api('POST', `/api/v1/orders/${id}/cancel`, {}, customer.accessToken)).status).toBe(409);
    await expect(pay(id)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await stock(v!.id)).toMatchObject({ available: 3, reserved: 0 });

    // Staff may cancel anyone's unpaid order.
    const second = await order(customer.accessToken, [{ variant_id: v!.id, quantity: 1 }]);
    const byShop = await app.api('POST', `/api/v1/orders/${second.body.data.id}/cancel`, undefined, admin);
    expect(byShop.status).toBe(200);
    expect((await eventFor('order.cancelled', second.body.data.id)).data.reason).toBe('cancelled_by_shop');
  });

  it('expires unpaid orders past their hold and releases their stock', async () => {
    const [v] = await product([{ price: 400, stock: 2 }]);
    const stale = await order(customer.accessToken, [{ variant_id: v!.id, quantity: 1 }]);
    const fresh = await order(customer.accessToken, [{ variant_id: v!.id, quantity: 1 }]);
    await app.bazaar.database.db.execute(
      sql`update orders set hold_expires_at = now() - interval '1 minute' where id = ${stale.body.data.id}`,
    );
    expect(await stock(v!.id)).toMatchObject({ available: 0, reserved: 2 });

    // The `orders.expire` job (every minute in this working app) may win the race; either way once.
    expect(await app.bazaar.orders.expireUnpaidOrders(system())).toBeLessThanOrEqual(1);
    const expired = await app.api(
      'GET',
      `/api/v1/orders/${stale.body.data.id}`,
      undefined,
      customer.accessToken,
    );
    expect(expired.body.data.status).toBe('cancelled');
    expect(expired.body.data.status_history.at(-1)).toMatchObject({
      from: 'pending_payment',
      to: 'cancelled',
      actor_type: 'system',
      note: 'Payment hold expired.',
    });
    const still = await app.api(
      'GET',
      `/api/v1/orders/${fresh.body.data.id}`,
      undefined,
      customer.accessToken,
    );
    expect(still.body.data.status).toBe('pending_payment');
    expect(await stock(v!.id)).toMatchObject({ available: 1, reserved: 1 });
    expect((await eventFor('order.cancelled', stale.body.data.id)).data).toMatchObject({
      reason: 'expired',
      email: 'ada@example.com',
    });
    expect(await app.bazaar.orders.expireUnpaidOrders(system())).toBe(0);
    expect(app.bazaar.jobs.queueNames).toContain('orders.expire');
  });

  it('lists: customers their own with filters, staff everything with search and keyset pages', async () => {
    const [v] = await product([{ price: 100, stock: 100 }]);
    const shopper = await signUp(app);
    const email = `list-${tag().toLowerCase()}@example.com`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const res = await order(shopper.accessToken, [{ variant_id: v!.id, quantity: 1 }], { email });
      ids.push(res.body.data.id as string);
    }
    await app.api('POST', `/api/v1/orders/${ids[0]}/cancel`, {}, shopper.accessToken);

    const mine = await app.api('GET', '/api/v1/orders?per_page=2', undefined, shopper.accessToken);
    expect(mine.status).toBe(200);
    expect(mine.body.meta).toEqual({ page: 1, per_page: 2, total: 5, total_pages: 3 });
    expect(mine.body.data.map((o: { id: string }) => o.id)).toEqual([ids[4], ids[3]]);
    const next = await app.api('GET', mine.body.links.next as string, undefined, shopper.accessToken);
    expect(next.body.data.map((o: { id: string }) => o.id)).toEqual([ids[2], ids[1]]);
    expect(next.body.meta.page).toBe(2);
    const page3 = await app.api('GET', '/api/v1/orders?per_page=2&page=3', undefined, shopper.accessToken);
    expect(page3.body.data.map((o: { id: string }) => o.id)).toEqual([ids[0]]);
    expect(page3.body.links.next).toBeNull();

    const cancelled = await app.api('GET', '/api/v1/orders?status=cancelled', undefined, shopper.accessToken);
    expect(cancelled.body.data.map((o: { id: string }) => o.id)).toEqual([ids[0]]);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const none = await app.api(
      'GET',
      `/api/v1/orders?created_from=${future}`,
      undefined,
      shopper.accessToken,
    );
    expect(none.body.meta.total).toBe(0);
    const other_ = await app.api('GET', '/api/v1/orders', undefined, other.accessToken);
    expect(other_.body.data.every((o: { user_id: string }) => o.user_id === other.userId)).toBe(true);
    expect((await app.api('GET', '/api/v1/admin/orders', undefined, shopper.accessToken)).status).toBe(403);

    const byCustomer = await app.api(
      'GET',
      `/api/v1/admin/orders?customer=${shopper.userId}`,
      undefined,
      admin,
    );
    expect(byCustomer.body.meta.total).toBe(5);
    const byEmail = await app.api(
      'GET',
      `/api/v1/admin/orders?q=${encodeURIComponent(email.slice(0, 10))}&status=pending_payment`,
      undefined,
      admin,
    );
    expect(byEmail.body.data.map((o: { id: string }) => o.id)).toEqual([ids[4], ids[3], ids[2], ids[1]]);
    const number = (byCustomer.body.data as { id: string; number: string }[]).find(
      (o) => o.id === ids[2],
    )!.number;
    const byNumber = await app.api('GET', `/api/v1/admin/orders?q=${number}`, undefined, admin);
    expect(byNumber.body.data.map((o: { id: string }) => o.id)).toEqual([ids[2]]);
    const all = await app.api('GET', '/api/v1/admin/orders?per_page=100', undefined, admin);
    expect(all.body.meta.total).toBeGreaterThan(5);
    expect((await app.api('GET', '/api/v1/admin/orders?cursor=bm90LWE', undefined, admin)).status).toBe(400);
    expect((await app.api('GET', '/api/v1/admin/orders?status=lost', undefined, admin)).status).toBe(400);
  });

  it('prices the next order with the settings an admin PUTs; validates and audits them', async () => {
    const [v] = await product([{ price: 1000, stock: 10 }]);
    const fr = { ...address, country: 'FR' };
    const before = await order(customer.accessToken, [{ variant_id: v!.id, quantity: 1 }], {
      shippingAddress: fr,
    });
    expect(before.body.data.totals).toMatchObject({ shipping: 500, tax: 0, total: 1500 });

    const tax = await app.api(
      'PUT',
      '/api/v1/admin/settings/tax-rates',
      {
        rates: [
          { country: '*', rate_basis_points: 0 },
          { country: 'DE', rate_basis_points: 1900 },
          { country: 'FR', rate_basis_points: 2000 },
        ],
      },
      admin,
    );
    expect(tax.status).toBe(200);
    const shipping = await app.api(
      'PUT',
      '/api/v1/admin/settings/shipping-rates',
      {
        rates: [
          { country: '*', currency: 'USD', amount: 500, free_over: 10_000 },
          { country: 'DE', currency: 'USD', amount: 700, free_over: 20_000 },
          { country: 'FR', currency: 'USD', amount: 900, free_over: null },
        ],
      },
      admin,
    );
    expect(shipping.status).toBe(200);
    expect(shipping.body.data.rates).toContainEqual({
      country: 'FR',
      currency: 'USD',
      amount: 900,
      free_over: null,
    });
    const read = await app.api('GET', '/api/v1/admin/settings/tax-rates', undefined, admin);
    expect(read.body.data.rates).toContainEqual({ country: 'FR', rate_basis_points: 2000 });

    const after = await order(customer.accessToken, [{ variant_id: v!.id, quantity: 1 }], {
      shippingAddress: fr,
    });
    // 10.00 + 9.00 shipping, 20 % of 19.00 = 3.80.
    expect(after.body.data.totals).toMatchObject({ subtotal: 1000, shipping: 900, tax: 380, total: 2280 });
    const unchanged = await app.api(
      'GET',
      `/api/v1/orders/${before.body.data.id}`,
      undefined,
      customer.accessToken,
    );
    expect(unchanged.body.data.totals.total).toBe(1500);

    const noFallback = await app.api(
      'PUT',
      '/api/v1/admin/settings/tax-rates',
      { rates: [{ country: 'DE', rate_basis_points: 1900 }] },
      admin,
    );
    expect(noFallback.status).toBe(400);
    const twice = await app.api(
      'PUT',
      '/api/v1/admin/settings/shipping-rates',
      {
        rates: [
          { country: 'DE', currency: 'USD', amount: 1, free_over: null },
          { country: 'DE', currency: 'USD', amount: 2, free_over: null },
        ],
      },
      admin,
    );
    expect(twice.status).toBe(400);
    expect(twice.body.error.details[0].field).toBe('rates.1.country');
    for (const rate of [
      { country: 'ZZ', rate_basis_points: 1 },
      { country: '*', rate_basis_points: 10_001 },
    ]) {
      const r = await app.api('PUT', '/api/v1/admin/settings/tax-rates', { rates: [rate] }, admin);
      expect(r.status).toBe(400);
    }
    expect(
      (
        await app.api(
          'PUT',
          '/api/v1/admin/settings/tax-rates',
          { rates: [{ country: '*', rate_basis_points: 0 }] },
          customer.accessToken,
        )
      ).status,
    ).toBe(403);
    const audit = await app.api(
      'GET',
      '/api/v1/admin/audit-log?action=orders.tax_rates_replaced',
      undefined,
      admin,
    );
    expect(audit.body.data.length).toBeGreaterThanOrEqual(2);
    expect(audit.body.data[0].diff.rates.to).toContainEqual({ country: 'FR', rateBasisPoints: 2000 });
  });

  it('exports a customer’s orders and anonymises them on erasure, keeping them for the books', async () => {
    const [v] = await product([{ price: 700, stock: 5 }]);
    const leaving = await signUp(app);
    const placed = await order(leaving.accessToken, [{ variant_id: v!.id, quantity: 1 }], {
      email: leaving.email,
      shippingAddress: { ...address, line2: 'Hinterhaus' },
    });
    await app.api(
      'POST',
      `/api/v1/orders/${placed.body.data.id}/cancel`,
      { reason: 'moving house' },
      leaving.accessToken,
    );

    const exported = await app.api('GET', '/api/v1/users/me/export', undefined, leaving.accessToken);
    expect(exported.status).toBe(200);
    expect(exported.body.data.orders).toHaveLength(1);
    expect(exported.body.data.orders[0]).toMatchObject({
      id: placed.body.data.id,
      email: leaving.email,
      shipping_address: { line2: 'Hinterhaus' },
    });

    expect((await app.api('DELETE', '/api/v1/users/me', undefined, leaving.accessToken)).status).toBe(204);
    const kept = await app.api('GET', `/api/v1/orders/${placed.body.data.id}`, undefined, admin);
    expect(kept.status).toBe(200);
    expect(kept.body.data.email).toBe(`erased-${leaving.userId}@erased.invalid`);
    expect(kept.body.data.shipping_address).toEqual({
      name: 'Erased',
      line1: 'Erased',
      city: 'Erased',
      postal_code: 'Erased',
      country: 'DE',
    });
    expect(kept.body.data.totals.total).toBe(placed.body.data.totals.total);
    expect(kept.body.data.status_history.map((h: { note: string | null }) => h.note)).not.toContain(
      'moving house',
    );
  });
});
