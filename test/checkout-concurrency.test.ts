import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTransaction } from '../src/platform/context.js';
import { rowsOf } from '../src/platform/db/client.js';
import { markOrderPaid } from '../src/modules/orders/index.js';
import { createLogger } from '../src/platform/observability/logger.js';
import { createTestApp, signInAdmin, signUp, type TestApp } from './helpers/app.js';

const RATE_LIMITS =
  'POST /api/v1/auth/register=10000/60,POST /api/v1/auth/login=10000/60,POST /api/v1/auth/refresh=10000/60,POST /api/v1/orders=10000/60';

const address = {
  name: 'Grace Hopper',
  line1: '1 Main St',
  city: 'Arlington',
  postal_code: '22201',
  country: 'US',
};

/** Checkout under contention, over real HTTP against a real PostgreSQL (PGlite has one connection). */
describe.skipIf(!process.env.DATABASE_URL)('checkout under concurrency (PostgreSQL)', () => {
  let app: TestApp;
  let admin: string;
  let customers: { accessToken: string; userId: string }[];
  /** The server's error log lines: a 5xx in an assertion below shows its cause. */
  const errorLines: string[] = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        errorLines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    app = await createTestApp({ listen: true, env: { RATE_LIMITS }, logger: createLogger('error', sink) });
    admin = (await signInAdmin(app)).accessToken;
    customers = await Promise.all(Array.from({ length: 20 }, () => signUp(app)));
  }, 120_000);
  afterAll(() => app.close());

  async function variantWithStock(stock: number) {
    const sku = `RACE-${randomBytes(4).toString('hex').toUpperCase()}`;
    const res = await app.api(
      'POST',
      '/api/v1/products',
      {
        title: `Limited edition ${sku}`,
        status: 'active',
        variants: [{ sku, price: { amount: 4900, currency: 'USD' }, initial_stock: stock }],
      },
      admin,
    );
    if (res.status !== 201) throw new Error(`product: ${res.status} ${res.raw}`);
    return { id: res.body.data.variants[0].id as string, sku };
  }

  const post = (token: string, key: string, variantId: string) =>
    fetch(`${app.url}/api/v1/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
        'idempotency-key': key,
      },
      body: JSON.stringify({
        items: [{ variant_id: variantId, quantity: 1 }],
        email: 'race@example.com',
        shipping_address: address,
      }),
    }).then(async (r) => ({ status: r.status, text: await r.text() }));

  const query = async <T>(q: ReturnType<typeof sql>) => rowsOf<T>(await app.bazaar.database.db.execute(q));
  const stockOf = async (variantId: string) =>
    (await app.api('GET', `/api/v1/admin/inventory/${variantId}`, undefined, admin)).body.data as {
      on_hand: number;
      reserved: number;
      available: number;
    };

  it('200 parallel orders for 50 units: exactly 50 succeed, 150 are OUT_OF_STOCK, none fail', async () => {
    const variant = await variantWithStock(50);
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        post(customers[i % customers.length]!.accessToken, randomUUID(), variant.id),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const byStatus = new Map<number, number>();
    for (const a of answers) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
    console.info(
      `checkout race: 200 requests in ${seconds.toFixed(2)} s (${(200 / seconds).toFixed(0)} req/s, ${(50 / seconds).toFixed(0)} orders/s); statuses ${JSON.stringify(Object.fromEntries(byStatus))}`,
    );

    expect(
      answers.filter((a) => a.status >= 500),
      errorLines.join('\n'),
    ).toEqual([]);
    expect(byStatus.get(201)).toBe(50);
    expect(byStatus.get(409)).toBe(150);
    for (const refused of answers.filter((a) => a.status === 409)) {
      const body = JSON.parse(refused.text) as {
        error: { code: string; details: { items: { sku: string }[] } };
      };
      expect(body.error.code).toBe('OUT_OF_STOCK');
      expect(body.error.details.items.map((i) => i.sku)).toEqual([variant.sku]);
    }
    expect(await stockOf(variant.id)).toEqual(
      expect.objectContaining({ on_hand: 50, reserved: 50, available: 0 }),
    );
    const [orders] = await query<{ n: number; units: number }>(
      sql`select count(distinct order_id)::int as n, coalesce(sum(quantity), 0)::int as units
          from order_items where variant_id = ${variant.id}`,
    );
    expect(orders).toEqual({ n: 50, units: 50 });
    const [reservations] = await query<{ n: number }>(
      sql`select count(*)::int as n from inventory_movements where variant_id = ${variant.id} and kind = 'reservation'`,
    );
    expect(reservations!.n).toBe(50);
  }, 120_000);

  it('20 parallel requests with one Idempotency-Key place one order; the others replay it or wait', async () => {
    const variant = await variantWithStock(100);
    const buyer = customers[0]!;
    const key = randomUUID();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => post(buyer.accessToken, key, variant.id)),
    );

    expect(
      answers.filter((a) => a.status >= 500),
      errorLines.join('\n'),
    ).toEqual([]);
    const created = answers.filter((a) => a.status === 201);
    const busy = answers.filter((a) => a.status === 409);
    expect(created.length + busy.length).toBe(20);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created.map((a) => a.text)).size).toBe(1);
    for (const a of busy) expect(JSON.parse(a.text).error.code).toBe('IDEMPOTENCY_KEY_IN_USE');

    const rows = await query<{ order_id: string }>(
      sql`select order_id from order_items where variant_id = ${variant.id}`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.order_id).toBe(JSON.parse(created[0]!.text).data.id);
    expect(await stockOf(variant.id)).toEqual(expect.objectContaining({ reserved: 1, available: 99 }));

    // Once the first answer is stored, every retry gets it, byte for byte.
    const retry = await post(buyer.accessToken, key, variant.id);
    expect(retry.status).toBe(201);
    expect(retry.text).toBe(created[0]!.text);
  }, 60_000);
  it('status changes race safely: one of ten cancels wins; payment and expiry never both apply', async () => {
    const variant = await variantWithStock(10);
    const buyer = customers[1]!;
    const placed = JSON.parse((await post(buyer.accessToken, randomUUID(), variant.id)).text) as {
      data: { id: string };
    };
    const cancels = await Promise.all(
      Array.from({ length: 10 }, () =>
        fetch(`${app.url}/api/v1/orders/${placed.data.id}/cancel`, {
          method: 'POST',
          headers: { authorization: `Bearer ${buyer.accessToken}` },
        }).then((r) => r.status),
      ),
    );
    expect(cancels.filter((s) => s === 200)).toHaveLength(1);
    expect(cancels.filter((s) => s === 409)).toHaveLength(9);
    expect(await stockOf(variant.id)).toEqual(
      expect.objectContaining({ on_hand: 10, reserved: 0, available: 10 }),
    );

    // A payment arriving while the hold expires: exactly one of them applies, stock stays balanced.
    for (let round = 0; round < 5; round += 1) {
      const order = JSON.parse((await post(buyer.accessToken, randomUUID(), variant.id)).text) as {
        data: { id: string };
      };
      await app.bazaar.database.db.execute(
        sql`update orders set hold_expires_at = now() - interval '1 second' where id = ${order.data.id}`,
      );
      const ctx = app.bazaar.systemContext();
      const [paid, expired] = await Promise.allSettled([
        inTransaction(ctx, (tx) => markOrderPaid(tx, order.data.id, 'race')),
        app.bazaar.orders.expireUnpaidOrders(ctx),
      ]);
      const [row] = await query<{ status: string }>(
        sql`select status from orders where id = ${order.data.id}`,
      );
      if (row!.status === 'paid') {
        expect(paid).toEqual({
          status: 'fulfilled',
          value: { number: expect.stringMatching(/^BZ-\d+$/), email: 'race@example.com' },
        });
        expect(expired).toEqual({ status: 'fulfilled', value: 0 });
      } else {
        expect(row!.status).toBe('cancelled');
        expect(paid).toMatchObject({ status: 'rejected', reason: { code: 'CONFLICT' } });
      }
    }
    const level = await stockOf(variant.id);
    expect(level.reserved).toBe(0);
    expect(level.on_hand).toBe(level.available);
    const [sold] = await query<{ n: number }>(
      sql`select count(*)::int as n from orders o join order_items i on i.order_id = o.id
          where i.variant_id = ${variant.id} and o.status = 'paid'`,
    );
    expect(level.on_hand).toBe(10 - sold!.n);
  }, 60_000);
});
