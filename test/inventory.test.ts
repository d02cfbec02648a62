import { rowsOf } from '../src/platform/db/client.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTransaction, type Context } from '../src/platform/context.js';
import { AppError } from '../src/platform/errors.js';
import type { Inventory, StockLine } from '../src/modules/inventory/index.js';
import { createTestApp, signInAdmin, signUp, type TestApp } from './helpers/app.js';

const onPostgres = Boolean(process.env.DATABASE_URL);

describe('inventory', () => {
  let app: TestApp;
  let inventory: Inventory;
  let ctx: Context;
  let admin: Awaited<ReturnType<typeof signInAdmin>>;

  beforeAll(async () => {
    app = await createTestApp();
    inventory = app.bazaar.inventory;
    ctx = app.bazaar.systemContext();
    admin = await signInAdmin(app);
  });
  afterAll(() => app.close());

  /** A variant with stock; inventory does not need the catalog to hold it. */
  async function stocked(onHand: number) {
    const variant = { id: randomUUID(), sku: `SKU-${randomBytes(4).toString('hex').toUpperCase()}` };
    await inTransaction(ctx, (tx) => inventory.initializeStock(tx, variant, onHand));
    return variant;
  }
  const levelOf = async (variantId: string) => (await inventory.stockOf(ctx, [variantId])).get(variantId)!;
  /** The variant's movements, newest first, as the admin API lists them. */
  const movementsOf = async (variantId: string): Promise<{ kind: string }[]> => {
    const res = await app.api(
      'GET',
      `/api/v1/admin/inventory/${variantId}/movements`,
      undefined,
      admin.accessToken,
    );
    expect(res.status).toBe(200);
    return res.body.data as { kind: string }[];
  };
  const reserve = (items: StockLine[], reference = 'order-1') =>
    inTransaction(ctx, (tx) => inventory.reserveStock(tx, items, reference));
  const outOfStock = async (work: Promise<unknown>) => {
    const error = await work.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('OUT_OF_STOCK');
    return (error as AppError).details as { items: Record<string, unknown>[] };
  };

  it('reserves, releases and commits with exact arithmetic, recording each movement', async () => {
    const v = await stocked(10);
    expect(await levelOf(v.id)).toMatchObject({ onHand: 10, reserved: 0, available: 10, sku: v.sku });

    const reserved = await reserve([{ variantId: v.id, quantity: 3 }], 'order-a');
    expect(reserved).toEqual([{ variantId: v.id, sku: v.sku, quantity: 3, available: 7 }]);
    expect(await levelOf(v.id)).toMatchObject({ onHand: 10, reserved: 3, available: 7 });

    await inTransaction(ctx, (tx) =>
      inventory.releaseStock(tx, [{ variantId: v.id, quantity: 1 }], 'order-a'),
    );
    expect(await levelOf(v.id)).toMatchObject({ onHand: 10, reserved: 2, available: 8 });

    await inTransaction(ctx, (tx) =>
      inventory.commitStock(tx, [{ variantId: v.id, quantity: 2 }], 'order-a'),
    );
    expect(await levelOf(v.id)).toMatchObject({ onHand: 8, reserved: 0, available: 8 });

    // Nothing reserved any more: releasing or committing more is a conflict, and changes nothing.
    for (const op of [inventory.releaseStock, inventory.commitStock]) {
      await expect(
        inTransaction(ctx, (tx) => op(tx, [{ variantId: v.id, quantity: 1 }], 'order-a')),
      ).rejects.toMatchObject({ code: 'CONFLICT' });
    }
    expect(await levelOf(v.id)).toMatchObject({ onHand: 8, reserved: 0, available: 8 });

    const movements = await app.api(
      'GET',
      `/api/v1/admin/inventory/${v.id}/movements`,
      undefined,
      admin.accessToken,
    );
    expect(movements.status).toBe(200);
    expect(
      movements.body.data.map((m: { kind: string; on_hand_delta: number; reserved_delta: number }) => [
        m.kind,
        m.on_hand_delta,
        m.reserved_delta,
      ]),
    ).toEqual([
      ['sale', -2, -2],
      ['release', 0, -1],
      ['reservation', 0, 3],
      ['adjustment', 10, 0],
    ]);
    expect(movements.body.data[0].reference).toBe('order-a');
    expect(movements.body.data[3].reason).toBe('initial stock');
  });

  it('releases and sells all lines or none: a short line leaves the others reserved', async () => {
    const [a, b] = [await stocked(10), await stocked(10)];
    await reserve(
      [
        { variantId: a.id, quantity: 4 },
        { variantId: b.id, quantity: 1 },
      ],
      'order-m',
    );
    for (const op of [inventory.releaseStock, inventory.commitStock]) {
      // b has only 1 unit reserved: the caller commits after catching the conflict.
      let error: unknown;
      await inTransaction(ctx, async (tx) => {
        error = await op(
          tx,
          [
            { variantId: a.id, quantity: 3 },
            { variantId: b.id, quantity: 2 },
          ],
          'order-m',
        ).catch((e: unknown) => e);
      });
      expect(error).toMatchObject({
        code: 'CONFLICT',
        details: { variant_id: b.id, requested: 2, reserved: 1 },
      });
      expect(await levelOf(a.id)).toMatchObject({ onHand: 10, reserved: 4, available: 6 });
      expect(await levelOf(b.id)).toMatchObject({ onHand: 10, reserved: 1, available: 9 });
    }
    expect((await movementsOf(a.id)).map((m) => m.kind)).toEqual(['reservation', 'adjustment']);
  });

  it('sums two lines of the same variant before checking', async () => {
    const v = await stocked(4);
    const details = await outOfStock(
      reserve([
        { variantId: v.id, quantity: 2 },
        { variantId: v.id, quantity: 3 },
      ]),
    );
    expect(details.items).toEqual([{ variant_id: v.id, sku: v.sku, requested: 5, available: 4 }]);
    expect(await levelOf(v.id)).toMatchObject({ available: 4, reserved: 0 });

    await reserve([
      { variantId: v.id, quantity: 1 },
      { variantId: v.id, quantity: 3 },
    ]);
    expect(await levelOf(v.id)).toMatchObject({ onHand: 4, available: 0, reserved: 4 });
  });

  it('answers OUT_OF_STOCK naming every short SKU and leaves all stock untouched', async () => {
    const plenty = await stocked(50);
    const few = await stocked(1);
    const none = await stocked(0);
    const details = await outOfStock(
      reserve([
        { variantId: plenty.id, quantity: 5 },
        { variantId: few.id, quantity: 2 },
        { variantId: none.id, quantity: 1 },
      ]),
    );
    expect(details.items).toHaveLength(2);
    expect(details.items).toEqual(
      expect.arrayContaining([
        { variant_id: few.id, sku: few.sku, requested: 2, available: 1 },
        { variant_id: none.id, sku: none.sku, requested: 1, available: 0 },
      ]),
    );
    expect(await levelOf(plenty.id)).toMatchObject({ available: 50, reserved: 0 });
    expect(await levelOf(few.id)).toMatchObject({ available: 1, reserved: 0 });

    // Even a caller that catches the error and commits keeps the stock untouched: the lines
    // already taken were given back.
    await inTransaction(ctx, async (tx) => {
      await inventory
        .reserveStock(
          tx,
          [
            { variantId: plenty.id, quantity: 5 },
            { variantId: none.id, quantity: 1 },
          ],
          'order-x',
        )
        .catch(() => undefined);
    });
    expect(await levelOf(plenty.id)).toMatchObject({ onHand: 50, available: 50, reserved: 0 });
    // … and recorded no movement for it.
    expect((await movementsOf(plenty.id)).map((m) => m.kind)).toEqual(['adjustment']);

    // A variant inventory has never heard of is short too, without a SKU.
    const ghost = randomUUID();
    const unknown = await outOfStock(reserve([{ variantId: ghost, quantity: 1 }]));
    expect(unknown.items).toEqual([{ variant_id: ghost, sku: null, requested: 1, available: 0 }]);
    await expect(reserve([{ variantId: plenty.id, quantity: 0 }])).rejects.toMatchObject({
      code: 'VALIDATION_ERROR',
    });
  });

  it('adjusts stock through the admin API: audited, never below zero available', async () => {
    const v = await stocked(5);
    await reserve([{ variantId: v.id, quantity: 2 }]);
    const url = `/api/v1/admin/inventory/${v.id}/adjustments`;

    const added = await app.api(
      'POST',
      url,
      { delta: 10, reason: 'delivery from supplier' },
      admin.accessToken,
    );
    expect(added.status).toBe(201);
    expect(added.body.data).toMatchObject({
      variant_id: v.id,
      sku: v.sku,
      on_hand: 15,
      reserved: 2,
      available: 13,
    });

    const removed = await app.api(
      'POST',
      url,
      { delta: -4, reason: 'damaged in transit' },
      admin.accessToken,
    );
    expect(removed.body.data).toMatchObject({ on_hand: 11, reserved: 2, available: 9 });

    // Reserved units cannot be removed: available would go negative.
    const tooMuch = await app.api('POST', url, { delta: -10, reason: 'stock count' }, admin.accessToken);
    expect(tooMuch.status).toBe(409);
    expect(tooMuch.body.error.code).toBe('CONFLICT');
    expect(tooMuch.body.error.message).toContain('only 9 are available');
    expect(await levelOf(v.id)).toMatchObject({ onHand: 11, reserved: 2, available: 9 });

    for (const body of [
      { delta: 0, reason: 'x' },
      { delta: 1, reason: '' },
      { delta: 1.5, reason: 'x' },
      { delta: 1 },
    ]) {
      expect((await app.api('POST', url, body, admin.accessToken)).status).toBe(400);
    }
    const missing = await app.api(
      'POST',
      `/api/v1/admin/inventory/${randomUUID()}/adjustments`,
      { delta: 1, reason: 'x' },
      admin.accessToken,
    );
    expect(missing.status).toBe(404);

    const customer = await signUp(app);
    expect((await app.api('POST', url, { delta: 1, reason: 'x' }, customer.accessToken)).status).toBe(403);
    expect((await app.api('GET', '/api/v1/admin/inventory', undefined, customer.accessToken)).status).toBe(
      403,
    );

    const audit = await app.api(
      'GET',
      `/api/v1/admin/audit-log?action=inventory.adjusted&target_id=${v.id}&order=asc`,
      undefined,
      admin.accessToken,
    );
    expect(audit.body.data).toHaveLength(2);
    expect(audit.body.data[1]).toMatchObject({
      target_type: 'variant',
      diff: { on_hand: { from: 15, to: 11 }, available: { from: 13, to: 9 } },
      metadata: { sku: v.sku, delta: -4, reason: 'damaged in transit' },
    });

    const movements = await app.api(
      'GET',
      `/api/v1/admin/inventory/${v.id}/movements`,
      undefined,
      admin.accessToken,
    );
    expect(movements.body.data[0]).toMatchObject({
      kind: 'adjustment',
      on_hand_delta: -4,
      reason: 'damaged in transit',
    });
  });

  it('publishes inventory.low_stock once per crossing of the threshold, in the same transaction', async () => {
    const v = await stocked(7); // default threshold 5: low below 5
    const events = async () =>
      rowsOf<{ available: number; threshold: number }>(
        await app.bazaar.database.db.execute(sql`
          select (data->'data'->>'available')::int as available, (data->'data'->>'threshold')::int as threshold
          from pgboss.job where name = 'inventory.low_stock.log' and data->'data'->>'variant_id' = ${v.id}
          order by created_on`),
      );
    await reserve([{ variantId: v.id, quantity: 2 }]); // 7 → 5: not below
    expect(await events()).toEqual([]);
    await reserve([{ variantId: v.id, quantity: 2 }]); // 5 → 3: crosses
    expect(await events()).toEqual([{ available: 3, threshold: 5 }]);
    await reserve([{ variantId: v.id, quantity: 1 }]); // 3 → 2: already low
    expect(await events()).toHaveLength(1);

    // A failed (rolled back) order publishes nothing.
    await outOfStock(reserve([{ variantId: v.id, quantity: 50 }]));
    expect(await events()).toHaveLength(1);

    // Back above, then below again: a second crossing, a second event.
    await inTransaction(ctx, (tx) =>
      inventory.releaseStock(tx, [{ variantId: v.id, quantity: 5 }], 'order-1'),
    );
    await reserve([{ variantId: v.id, quantity: 4 }]); // 7 → 3
    expect(await events()).toHaveLength(2);

    // An admin removing stock can cross it too.
    const w = await stocked(6);
    await app.api(
      'POST',
      `/api/v1/admin/inventory/${w.id}/adjustments`,
      { delta: -3, reason: 'count' },
      admin.accessToken,
    );
    const published = rowsOf<{ n: number }>(
      await app.bazaar.database.db.execute(
        sql`select count(*)::int as n from pgboss.job where name = 'inventory.low_stock.log' and data->'data'->>'variant_id' = ${w.id}`,
      ),
    );
    expect(published[0]!.n).toBe(1);

    const low = await app.api(
      'GET',
      '/api/v1/admin/inventory?low_stock=true&per_page=100',
      undefined,
      admin.accessToken,
    );
    expect(low.status).toBe(200);
    const ids = low.body.data.map((s: { variant_id: string }) => s.variant_id);
    expect(ids).toEqual(expect.arrayContaining([v.id, w.id]));
    expect(low.body.data.every((s: { low_stock: boolean }) => s.low_stock)).toBe(true);
    const bySku = await app.api('GET', `/api/v1/admin/inventory?sku=${w.sku}`, undefined, admin.accessToken);
    expect(bySku.body.data).toEqual([
      expect.objectContaining({ variant_id: w.id, available: 3, low_stock_threshold: 5 }),
    ]);
    expect(bySku.body.meta).toMatchObject({ page: 1, total: 1 });
  });

  async function raceFor(stock: number, buyers: number) {
    const v = await stocked(stock);
    const outcomes = await Promise.all(
      Array.from({ length: buyers }, (_, i) =>
        reserve([{ variantId: v.id, quantity: 1 }], `race-${i}`).then(
          () => 'reserved',
          (e: unknown) => (e instanceof AppError ? e.code : `unexpected: ${String(e)}`),
        ),
      ),
    );
    const tally = outcomes.reduce<Record<string, number>>((t, o) => ({ ...t, [o]: (t[o] ?? 0) + 1 }), {});
    expect(tally).toEqual({ reserved: stock, OUT_OF_STOCK: buyers - stock });
    expect(await levelOf(v.id)).toMatchObject({ onHand: stock, available: 0, reserved: stock });
  }

  it('never oversells under concurrent reservations (embedded engine serialises them)', async () => {
    await raceFor(10, 40);
  });

  describe.skipIf(!onPostgres)('on PostgreSQL', () => {
    it('200 parallel reservations against stock 50: exactly 50 succeed, 150 are OUT_OF_STOCK', async () => {
      await raceFor(50, 200);
    });
  });
});
