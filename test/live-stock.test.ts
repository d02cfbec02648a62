import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveStock } from '../src/modules/inventory/live-stock.js';
import type { Inventory, StockLine } from '../src/modules/inventory/index.js';
import { broadcastFor, inProcessBroadcast, type Broadcast } from '../src/platform/broadcast.js';
import { inTransaction, type Context } from '../src/platform/context.js';
import type { Database } from '../src/platform/db/client.js';
import { Registry } from 'prom-client';
import { createTestApp, signInAdmin, signUp, waitFor, type TestApp } from './helpers/app.js';
import { placeOrder } from './payments-helpers.js';

/**
 * Storefront stock: one process' copies of what is available, dropped by every committed change,
 * here and (by broadcast) in other processes. Orders never read these copies.
 */
describe('storefront stock', () => {
  let app: TestApp;
  let inventory: Inventory;
  let ctx: Context;
  const started: LiveStock[] = [];

  beforeAll(async () => {
    app = await createTestApp();
    inventory = app.bazaar.inventory;
    ctx = app.bazaar.systemContext();
  });
  afterAll(async () => {
    await Promise.all(started.map((live) => live.stop()));
    await app.close();
  });

  async function stocked(onHand: number) {
    const variant = { id: randomUUID(), sku: `SKU-${randomBytes(4).toString('hex').toUpperCase()}` };
    await inTransaction(ctx, (tx) => inventory.initializeStock(tx, variant, onHand));
    return variant;
  }
  const reserve = (items: StockLine[]) =>
    inTransaction(ctx, (tx) => inventory.reserveStock(tx, items, `order-${randomUUID()}`));

  /** A LiveStock of its own over the app's database, counting the statements it runs. */
  function liveStock(options: {
    ttlMs: number;
    broadcast?: Broadcast;
    beforeStatement?: () => Promise<void>;
  }) {
    const statements = { run: 0 };
    const db = observed(app.bazaar.database.db, async () => {
      statements.run += 1;
      await options.beforeStatement?.();
    });
    const live = new LiveStock({
      db,
      broadcast: options.broadcast ?? inProcessBroadcast(),
      ttlMs: options.ttlMs,
      logger: app.bazaar.logger,
      registry: new Registry(),
    });
    started.push(live);
    return { live, statements };
  }

  /** `available` of each id, in order (undefined: no stock row). */
  const availableOf = async (live: LiveStock, ids: string[]) => {
    const map = await live.availableOf(ids);
    return ids.map((id) => map.get(id));
  };

  it('reads the variants of concurrent callers in one shared query; a bad id never reaches it', async () => {
    const [a, b, c] = [await stocked(5), await stocked(7), await stocked(0)];
    await reserve([{ variantId: a.id, quantity: 2 }]);
    const { live, statements } = liveStock({ ttlMs: 0 });
    const answers = await Promise.all([
      live.availableOf([a.id]),
      live.availableOf([b.id, c.id]),
      live.availableOf([a.id, 'not-a-uuid', randomUUID()]),
    ]);
    expect(statements.run).toBe(1);
    expect(answers.map((m) => [a.id, b.id, c.id].map((id) => m.get(id)))).toEqual([
      [3, 7, 0],
      [3, 7, 0],
      [3, 7, 0],
    ]);
    // With no TTL a later call is a new query that sees the stock as it is then.
    await reserve([{ variantId: b.id, quantity: 7 }]);
    expect(await availableOf(live, [b.id])).toEqual([0]);
    expect(statements.run).toBe(2);
  });

  it('answers from its copy within the TTL, also for variants without stock', async () => {
    const a = await stocked(4);
    const none = randomUUID();
    const { live, statements } = liveStock({ ttlMs: 60_000 });
    expect(await availableOf(live, [a.id, none])).toEqual([4, undefined]);
    expect(await availableOf(live, [a.id, none])).toEqual([4, undefined]);
    expect(await availableOf(live, [none])).toEqual([undefined]);
    expect(statements.run).toBe(1);
  });

  it('reads a variant again once its copy has expired', async () => {
    const a = await stocked(2);
    const { live, statements } = liveStock({ ttlMs: 1_000 });
    await availableOf(live, [a.id]);
    await availableOf(live, [a.id]);
    expect(statements.run).toBe(1);
    await waitFor(
      async () => {
        expect(await availableOf(live, [a.id])).toEqual([2]);
        return statements.run === 2 ? true : undefined;
      },
      5_000,
      'the copy to expire',
    );
  });

  it('forgets a variant once a transaction that changed it commits, before the commit returns; never on rollback', async () => {
    const a = await stocked(6);
    const b = await stocked(6);
    const { live, statements } = liveStock({ ttlMs: 60_000 });
    expect(await availableOf(live, [a.id, b.id])).toEqual([6, 6]);

    const rollBack = new Error('roll back');
    await expect(
      inTransaction(ctx, async (tx) => {
        await inventory.reserveStock(tx, [{ variantId: a.id, quantity: 1 }], 'undone');
        live.changedBy(tx.db, [a.id]);
        throw rollBack;
      }),
    ).rejects.toBe(rollBack);
    expect(await availableOf(live, [a.id, b.id])).toEqual([6, 6]);
    expect(statements.run).toBe(1);

    await inTransaction(ctx, async (tx) => {
      await inventory.reserveStock(tx, [{ variantId: a.id, quantity: 2 }], 'kept');
      live.changedBy(tx.db, [a.id.toUpperCase()]);
      // Not yet committed: the copy still answers, as the database does to everyone else.
      expect(await availableOf(live, [a.id])).toEqual([6]);
    });
    // b's copy stays; a is read again, and only a.
    expect(await availableOf(live, [a.id, b.id])).toEqual([4, 6]);
    expect(statements.run).toBe(2);
    expect(await availableOf(live, [a.id, b.id])).toEqual([4, 6]);
    expect(statements.run).toBe(2);
  });

  it('answers the same map for a key until a change is heard or a copy expires; never while it may miss changes', async () => {
    const [a, b] = [await stocked(5), await stocked(2)];
    let hearing: (listening: boolean) => void = () => undefined;
    const broadcast = inProcessBroadcast();
    const { live, statements } = liveStock({
      ttlMs: 1_500,
      broadcast: {
        send: (message) => broadcast.send(message),
        listen: (onMessage, onListening) =>
          broadcast.listen(onMessage, (listening) => {
            hearing = onListening!;
            onListening!(listening);
          }),
      },
    });
    await live.availableOf([randomUUID()]); // listening from here on
    const page = {};
    const ids = () => [a.id, b.id];
    const first = await live.availableFor(page, ids);
    expect([first.get(a.id), first.get(b.id)]).toEqual([5, 2]);
    expect(await live.availableFor(page, ids)).toBe(first);
    // Another key over the same variants has its own answer, from the same copies.
    const other = await live.availableFor({}, ids);
    expect(other).not.toBe(first);
    expect(statements.run).toBe(2);

    // A change committed here: a new answer with the new units.
    await inTransaction(ctx, async (tx) => {
      await inventory.reserveStock(tx, [{ variantId: a.id, quantity: 1 }], `order-${randomUUID()}`);
      live.changedBy(tx.db, [a.id]);
    });
    const afterSale = await live.availableFor(page, ids);
    expect(afterSale).not.toBe(first);
    expect(afterSale.get(a.id)).toBe(4);
    expect(await live.availableFor(page, ids)).toBe(afterSale);
    // Any change heard from elsewhere, even of another variant, ends the remembered answers.
    await broadcast.send([randomUUID()]);
    await waitFor(
      async () => ((await live.availableFor(page, ids)) !== afterSale ? true : undefined),
      5_000,
      'the message',
    );

    // While changes may be missed, every call looks up afresh.
    hearing(false);
    const unheard = await live.availableFor(page, ids);
    expect(await live.availableFor(page, ids)).not.toBe(unheard);
    hearing(true);

    // A remembered answer ends with the copies it came from.
    const kept = await live.availableFor(page, ids);
    expect(await live.availableFor(page, ids)).toBe(kept);
    const reads = statements.run;
    await waitFor(
      async () => ((await live.availableFor(page, ids)) !== kept ? true : undefined),
      5_000,
      'the copies to expire',
    );
    expect(statements.run).toBe(reads + 1);
  });

  it('does not keep a read that was in flight when a change arrived', async () => {
    const a = await stocked(9);
    let release: () => void = () => undefined;
    let gate: Promise<void> | undefined;
    const broadcast = inProcessBroadcast();
    const { live, statements } = liveStock({ ttlMs: 60_000, broadcast, beforeStatement: async () => gate });
    await availableOf(live, [randomUUID()]); // listening from here on
    gate = new Promise((resolve) => (release = resolve));
    const inFlight = availableOf(live, [a.id]);
    await waitFor(() => (statements.run === 2 ? true : undefined), 5_000, 'the read to start');
    // Another process changed the stock and said so while this read was under way.
    await broadcast.send([a.id]);
    gate = undefined;
    release();
    expect(await inFlight).toEqual([9]);
    expect(await availableOf(live, [a.id])).toEqual([9]);
    expect(statements.run).toBe(3);
  });

  it('keeps no copies while it may be missing changes, and forgets them when it might have missed one', async () => {
    const a = await stocked(3);
    let hearing: (listening: boolean) => void = () => undefined;
    const broadcast: Broadcast = {
      send: async () => undefined,
      listen: async (_onMessage, onListening) => {
        hearing = onListening!;
        onListening!(true);
        return async () => undefined;
      },
    };
    const { live, statements } = liveStock({ ttlMs: 60_000, broadcast });
    await availableOf(live, [a.id]);
    await availableOf(live, [a.id]);
    expect(statements.run).toBe(1);
    hearing(false); // the subscription dropped
    await availableOf(live, [a.id]);
    await availableOf(live, [a.id]);
    expect(statements.run).toBe(3);
    hearing(true); // subscribed again
    await availableOf(live, [a.id]);
    await availableOf(live, [a.id]);
    expect(statements.run).toBe(4);
  });

  it('hears changes made by another process through the deployment’s broadcast (Redis, PostgreSQL or in-process)', async () => {
    const a = await stocked(8);
    const channel = `test:stock:${randomBytes(4).toString('hex')}`;
    const deployment = { database: app.bazaar.database, redis: app.bazaar.redis, keyPrefix: 'bazaar-test:' };
    // Each process has a connection of its own; embedded, both are this process and share one.
    const embedded = broadcastFor(deployment, channel);
    const separate = Boolean(deployment.redis) || deployment.database.kind === 'postgres';
    const broadcast = () => (separate ? broadcastFor(deployment, channel) : embedded);
    const writer = liveStock({ ttlMs: 60_000, broadcast: broadcast() });
    const reader = liveStock({ ttlMs: 60_000, broadcast: broadcast() });
    // The reader listens once it has been asked, and keeps copies once it hears every change.
    const answeredFromCopy = async () => {
      const before = reader.statements.run;
      const [units] = await availableOf(reader.live, [a.id]);
      return units === 8 && reader.statements.run === before ? true : undefined;
    };
    await waitFor(answeredFromCopy, 5_000, 'the reader to keep a copy');
    const readsBefore = reader.statements.run;

    await inTransaction(ctx, async (tx) => {
      await inventory.reserveStock(tx, [{ variantId: a.id, quantity: 5 }], 'elsewhere');
      writer.live.changedBy(tx.db, [a.id]);
    });
    await waitFor(
      async () => ((await availableOf(reader.live, [a.id]))[0] === 3 ? true : undefined),
      5_000,
      'the reader to see the other process’ reservation',
    );
    expect(reader.statements.run).toBeGreaterThan(readsBefore);
  });

  it('shows every change on the storefront at once: a reservation, an admin adjustment, a cancellation', async () => {
    const admin = await signInAdmin(app);
    const customer = await signUp(app);
    const created = await app.api(
      'POST',
      '/api/v1/products',
      {
        title: `Stock test ${randomBytes(3).toString('hex')}`,
        status: 'active',
        variants: [
          {
            sku: `LIVE-${randomBytes(4).toString('hex')}`,
            price: { amount: 1500, currency: 'USD' },
            initial_stock: 5,
          },
        ],
      },
      admin.accessToken,
    );
    expect(created.status).toBe(201);
    const productId = created.body.data.id as string;
    const variantId = created.body.data.variants[0].id as string;
    const shown = async () => {
      const res = await app.api('GET', `/api/v1/products/${productId}`);
      expect(res.status).toBe(200);
      return res.body.data.variants[0].available as number;
    };
    const fromCopy = () => metric(app, 'bazaar_stock_reads_total{source="copy"}');

    // Once the server hears every stock change (it subscribes with its first read), it answers
    // from its copy; from then on each change below must drop that copy at once.
    await waitFor(
      async () => {
        const copiesBefore = await fromCopy();
        expect(await shown()).toBe(5);
        return (await fromCopy()) > copiesBefore ? true : undefined;
      },
      5_000,
      'an answer from the copy',
    );

    const order = await placeOrder(app, customer.accessToken, variantId, 2);
    expect(await shown()).toBe(3);
    const adjusted = await app.api(
      'POST',
      `/api/v1/admin/inventory/${variantId}/adjustments`,
      { delta: 10, reason: 'delivery' },
      admin.accessToken,
    );
    expect(adjusted.status).toBe(201);
    expect(await shown()).toBe(13);
    const cancelled = await app.api('POST', `/api/v1/orders/${order.id}/cancel`, {}, customer.accessToken);
    expect(cancelled.status).toBe(200);
    expect(await shown()).toBe(15);
  });
});

/** The value of one sample in /metrics (0 when absent). */
async function metric(app: TestApp, sample: string): Promise<number> {
  const text = (await app.request({ method: 'GET', url: '/metrics' })).body;
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}

/**
 * `db` with `before` awaited ahead of every statement it sends: the driver's client under its
 * drizzle session (postgres.js `unsafe`, PGlite `query`) is wrapped, so statements built once and
 * bound to a handle's client (`prepared`) are seen as well as query builders.
 */
function observed(db: Database, before: () => Promise<void>): Database {
  type Run = (...args: unknown[]) => PromiseLike<unknown> & { values?: () => PromiseLike<unknown> };
  const session = db._.session as unknown as { client: object };
  const client = new Proxy(session.client, {
    get(target, key) {
      const member = Reflect.get(target, key, target) as unknown;
      if (key === 'query')
        return (...args: unknown[]) => before().then(() => (member as Run).apply(target, args));
      if (key === 'unsafe') {
        // postgres.js queries are lazy: nothing is sent before `then` or `values()`.
        return (...args: unknown[]) => ({
          values: () => before().then(() => (member as Run).apply(target, args).values!()),
          then: (resolve: (v: unknown) => unknown, reject: (e: unknown) => unknown) =>
            before()
              .then(() => (member as Run).apply(target, args))
              .then(resolve, reject),
        });
      }
      return typeof member === 'function' ? (member as Run).bind(target) : member;
    },
  });
  const watched = new Proxy(session, {
    get: (target, key) => (key === 'client' ? client : (Reflect.get(target, key, target) as unknown)),
  });
  return new Proxy(db, {
    get: (target, key) =>
      key === '_' ? { ...target._, session: watched } : (Reflect.get(target, key, target) as unknown),
  });
}
