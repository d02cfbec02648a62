import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../src/platform/db/client.js';
import { pgliteHandle } from '../src/platform/db/pglite.js';
import { migrate } from '../src/platform/db/migrate.js';
import { migrationsDir } from '../src/platform/paths.js';
import { createTestApp, signInAdmin, signUp, waitFor, type TestApp } from './helpers/app.js';
import {
  createProduct,
  placeOrder,
  testGatewayWebhook,
  waitForOrderStatus,
  waitForPayment,
} from './payments-helpers.js';

/** The order-side tables that copy their order's (or payment's) customer. */
const ORDER_SIDE = ['order_items', 'order_status_history', 'payment_events', 'refunds', 'invoices'];

describe('every order-side row carries its customer', () => {
  let app: TestApp;
  let admin: { accessToken: string };
  let customer: Awaited<ReturnType<typeof signUp>>;
  let secret: string;

  beforeAll(async () => {
    app = await createTestApp({ listen: true, work: true });
    admin = await signInAdmin(app);
    customer = await signUp(app);
    secret = await app.bazaar.payments.testGateway!.webhookSecret();
  });
  afterAll(() => app.close());

  const db = () => app.bazaar.database.db;
  const query = async <T>(statement: ReturnType<typeof sql>) => rowsOf<T>(await db().execute(statement));
  const startPayment = async (orderId: string) => {
    const res = await app.api(
      'POST',
      `/api/v1/orders/${orderId}/payments`,
      { gateway: 'test' },
      customer.accessToken,
    );
    expect(res.status, res.raw).toBe(201);
    return res.body.data as { id: string; client_secret: string; gateway_reference: string };
  };
  const confirm = async (payment: { gateway_reference: string; client_secret: string }) => {
    const res = await fetch(
      `${app.url}/test-gateway/v1/payment_intents/${payment.gateway_reference}/confirm`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_secret: payment.client_secret, card_number: '4242424242424242' }),
      },
    );
    expect(res.status).toBe(200);
  };
  const act = async (orderId: string, action: string, body: unknown) => {
    const res = await app.api('POST', `/api/v1/orders/${orderId}/${action}`, body, admin.accessToken, {
      'idempotency-key': randomUUID(),
    });
    expect(res.status, res.raw).toBeLessThan(300);
  };
  const allDelivered = (references: string[]) =>
    waitFor(
      async () => {
        const rows = await query<{ pending: number }>(
          sql`select count(*)::int as pending from test_gateway_events
            where intent_id in ${references} and delivered_at is null`,
        );
        return rows[0]!.pending === 0 ? true : undefined;
      },
      20_000,
      'every gateway webhook to be delivered',
    );

  /** user_id of every row of `table` that belongs to the order. */
  const userIdsOf = (table: string, orderId: string) =>
    query<{ user_id: string }>(
      table === 'payment_events'
        ? sql`select user_id from payment_events
              where payment_id in (select id from payments where order_id = ${orderId})`
        : sql`select user_id from ${sql.identifier(table)} where order_id = ${orderId}`,
    );

  it('checkout, payments, an automatic and a manual refund, the invoice and shipping all write user_id', async () => {
    const { variantId } = await createProduct(app, admin.accessToken, { price: 2500, stock: 5 });
    const placed = await placeOrder(app, customer.accessToken, variantId, 2);

    // Two attempts both succeed: the second is refunded automatically (its own refund row).
    const first = await startPayment(placed.id);
    const second = await startPayment(placed.id);
    await confirm(first);
    await waitForOrderStatus(app, customer.accessToken, placed.id, 'paid');
    await confirm(second);
    await waitForPayment(app, customer.accessToken, second.id, (p) => p.amount_refunded === placed.total);

    await act(placed.id, 'fulfill', {});
    await act(placed.id, 'ship', { tracking_number: '1Z999AA10123456784', carrier: 'UPS' });
    await act(placed.id, 'refunds', { amount: 1000, reason: 'One item arrived damaged' });
    await waitForOrderStatus(app, customer.accessToken, placed.id, 'partially_refunded');
    await waitFor(async () => {
      const rows = await query<{ n: number }>(
        sql`select count(*)::int as n from invoices where order_id = ${placed.id}`,
      );
      return rows[0]!.n === 1 ? true : undefined;
    });
    await allDelivered([first.gateway_reference, second.gateway_reference]);

    const [order] = await query<{ user_id: string }>(sql`select user_id from orders where id = ${placed.id}`);
    expect(order!.user_id).toBe(customer.userId);
    const counts: Record<string, number> = {};
    for (const table of ORDER_SIDE) {
      const rows = await userIdsOf(table, placed.id);
      counts[table] = rows.length;
      expect(
        rows.every((r) => r.user_id === order!.user_id),
        table,
      ).toBe(true);
    }
    // Placed, paid, fulfilled, shipped, partially refunded; two refunds; both payments' events.
    expect(counts).toMatchObject({ order_items: 1, order_status_history: 5, refunds: 2, invoices: 1 });
    expect(counts.payment_events).toBeGreaterThanOrEqual(4);
    const types = await query<{ type: string }>(
      sql`select distinct type from payment_events where payment_id in ${[first.id, second.id]}`,
    );
    expect(types.map((t) => t.type)).toEqual(
      expect.arrayContaining(['payment.succeeded', 'refund.succeeded']),
    );
  });

  it('a webhook for no known payment is acknowledged but not recorded (it has no customer)', async () => {
    const eventId = `evt_unknown_${randomUUID()}`;
    const webhook = testGatewayWebhook(secret, {
      id: eventId,
      type: 'payment.succeeded',
      object: {
        id: `pi_test_${'0'.repeat(24)}`,
        object: 'payment_intent',
        metadata: {},
        last_payment_error: null,
      },
    });
    for (let delivery = 0; delivery < 2; delivery += 1) {
      const res = await app.request({
        method: 'POST',
        url: '/api/v1/webhooks/test',
        headers: webhook.headers,
        payload: webhook.payload,
      });
      expect(res.statusCode).toBe(200);
    }
    expect(await query(sql`select 1 from payment_events where event_id = ${eventId}`)).toEqual([]);
  });

  it('user_id is NOT NULL on every order-side table', async () => {
    const rows = await query<{ table_name: string; is_nullable: string }>(
      sql`select table_name, is_nullable from information_schema.columns
          where table_schema = 'public' and column_name = 'user_id' and table_name in ${ORDER_SIDE}`,
    );
    expect(Object.fromEntries(rows.map((r) => [r.table_name, r.is_nullable]))).toEqual(
      Object.fromEntries(ORDER_SIDE.map((t) => [t, 'NO'])),
    );
  });
});

describe('migration 0005 backfills user_id from the parent rows', () => {
  const TAG = '0005_order_side_user_id';
  let dir: string;
  let client: PGlite;
  beforeAll(async () => {
    // The migrations folder as it was before 0005.
    dir = mkdtempSync(path.join(tmpdir(), 'bazaar-migrations-'));
    cpSync(migrationsDir, dir, { recursive: true });
    const journalPath = path.join(dir, 'meta', '_journal.json');
    const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
    const index = journal.entries.findIndex((e) => e.tag === TAG);
    expect(index).toBeGreaterThan(0);
    journal.entries = journal.entries.slice(0, index);
    writeFileSync(journalPath, JSON.stringify(journal));
    client = await PGlite.create({ extensions: { pg_trgm } });
  });
  afterAll(async () => {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies the customer from orders and payments, drops unattributable webhook records, then requires it', async () => {
    const { db } = pgliteHandle(client);
    expect(await migrate(db, dir)).toBeGreaterThan(0);
    const userId = randomUUID();
    const orderId = randomUUID();
    const paymentId = randomUUID();
    await db.execute(sql`
      insert into orders (id, user_id, email, currency, subtotal, shipping_total, tax_total, total, shipping_address)
      values (${orderId}, ${userId}, 'old@example.com', 'USD', 2500, 0, 0, 2500, '{}'::jsonb)`);
    await db.execute(sql`
      insert into order_items (order_id, variant_id, product_id, sku, title, unit_price, quantity, line_total)
      values (${orderId}, ${randomUUID()}, ${randomUUID()}, 'OLD-1', 'Old', 2500, 1, 2500)`);
    await db.execute(sql`
      insert into order_status_history (order_id, to_status, actor_type) values (${orderId}, 'pending_payment', 'customer')`);
    await db.execute(sql`
      insert into payments (id, order_id, user_id, gateway, gateway_reference, status, amount, currency)
      values (${paymentId}, ${orderId}, ${userId}, 'test', 'pi_old', 'succeeded', 2500, 'USD')`);
    await db.execute(sql`
      insert into payment_events (gateway, event_id, type, payment_id)
      values ('test', 'evt_known', 'payment.succeeded', ${paymentId}),
             ('test', 'evt_unknown', 'payment.succeeded', null)`);
    await db.execute(sql`
      insert into refunds (payment_id, order_id, amount, currency, reason) values (${paymentId}, ${orderId}, 100, 'USD', 'old')`);
    await db.execute(
      sql`insert into invoices (order_id, number, pdf) values (${orderId}, 'INV-000001', '\\x00'::bytea)`,
    );

    expect(await migrate(db)).toBeGreaterThanOrEqual(1);

    for (const table of ORDER_SIDE) {
      const rows = rowsOf<{ user_id: string }>(
        await db.execute(sql`select user_id from ${sql.identifier(table)}`),
      );
      expect(rows, table).toEqual([{ user_id: userId }]);
    }
    const events = rowsOf<{ event_id: string }>(await db.execute(sql`select event_id from payment_events`));
    expect(events).toEqual([{ event_id: 'evt_known' }]);
    // Not null from now on (23502: not_null_violation).
    const refused = await db
      .execute(
        sql`insert into invoices (order_id, number, pdf) values (${orderId}, 'INV-000002', '\\x00'::bytea)`,
      )
      .then(
        () => undefined,
        (error: Error) => error.cause,
      );
    expect(refused).toMatchObject({ code: '23502', message: expect.stringMatching(/user_id/) });
  });
});
