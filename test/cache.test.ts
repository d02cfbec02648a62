import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBazaar, type Bazaar } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createTestApp, signInAdmin, signUp, waitFor, type TestApp } from './helpers/app.js';
import { baseEnv, testRedisUrl } from './helpers/env.js';
import { createProduct, placeOrder, tag, testGatewayWebhook } from './payments-helpers.js';

/** The value of `bazaar_cache_requests_total{entity,result}` in /metrics (0 when absent). */
async function cacheCount(app: { request: TestApp['request'] }, entity: string, result: string) {
  const text = (await app.request({ method: 'GET', url: '/metrics' })).body;
  const match = new RegExp(
    `bazaar_cache_requests_total\\{entity="${entity}",result="${result}"\\} (\\d+)`,
  ).exec(text);
  return match ? Number(match[1]) : 0;
}

/** Until its Redis connection is up, a server refuses sign-ins (their limiter fails closed). */
function redisReady(bazaar: Bazaar) {
  return waitFor(() => (bazaar.redis?.status === 'ready' ? true : undefined), 10_000, 'the Redis connection');
}

/** An active product whose title carries a unique word to search for. */
async function searchableProduct(app: TestApp, token: string, price = 1000) {
  const word = `zq${randomBytes(4).toString('hex')}`;
  const res = await app.api(
    'POST',
    '/api/v1/products',
    {
      title: `Cache ${word} lamp`,
      status: 'active',
      variants: [
        {
          sku: `C-${tag()}`.toUpperCase(),
          options: { size: 'M' },
          price: { amount: price, currency: 'USD' },
          initial_stock: 10,
        },
      ],
    },
    token,
  );
  expect(res.status, res.raw).toBe(201);
  const data = res.body.data;
  return {
    id: data.id as string,
    handle: data.handle as string,
    variantId: data.variants[0].id as string,
    word,
  };
}

/** Changes the price of the product's variant through the admin API. */
async function setPrice(
  app: Pick<TestApp, 'api'>,
  token: string,
  p: { id: string; variantId: string },
  amount: number,
) {
  const patched = await app.api(
    'PATCH',
    `/api/v1/products/${p.id}/variants/${p.variantId}`,
    { price: { amount, currency: 'USD' } },
    token,
  );
  expect(patched.status, patched.raw).toBe(200);
}

describe('the read cache', () => {
  let app: TestApp;
  let admin: { accessToken: string };
  let customer: Awaited<ReturnType<typeof signUp>>;

  beforeAll(async () => {
    app = await createTestApp();
    admin = await signInAdmin(app);
    customer = await signUp(app);
  });
  afterAll(() => app.close());

  const get = (url: string, token?: string, headers?: Record<string, string>) =>
    app.api('GET', url, undefined, token, headers);
  const priceIn = (product: { variants: { price: { amount: number } }[] }) =>
    product.variants[0]!.price.amount;

  it('never serves a product detail, list or search page older than a price change', async () => {
    const p = await searchableProduct(app, admin.accessToken, 1000);
    const reads = () =>
      Promise.all([
        get(`/api/v1/products/${p.id}`),
        get(`/api/v1/products/${p.handle}`),
        get(`/api/v1/products?q=${p.word}`),
        get('/api/v1/products?sort=newest&per_page=5'),
      ]);
    const hitsBefore = await cacheCount(app, 'product', 'hit');
    await reads();
    const [byId, byHandle, search, list] = await reads();
    expect(await cacheCount(app, 'product', 'hit')).toBeGreaterThanOrEqual(hitsBefore + 2);
    expect(priceIn(byId.body.data)).toBe(1000);
    expect(priceIn(byHandle.body.data)).toBe(1000);
    expect(priceIn(search.body.data[0])).toBe(1000);
    expect(list.body.data.find((x: { id: string }) => x.id === p.id)).toBeDefined();

    await setPrice(app, admin.accessToken, p, 1234);

    const [byId2, byHandle2, search2, list2] = await reads();
    expect(priceIn(byId2.body.data)).toBe(1234);
    expect(priceIn(byHandle2.body.data)).toBe(1234);
    expect(priceIn(search2.body.data[0])).toBe(1234);
    expect(priceIn(list2.body.data.find((x: { id: string }) => x.id === p.id))).toBe(1234);
  });

  it('takes an archived product off cached pages at once', async () => {
    const p = await searchableProduct(app, admin.accessToken);
    expect((await get(`/api/v1/products/${p.id}`)).status).toBe(200);
    expect((await get(`/api/v1/products?q=${p.word}`)).body.data).toHaveLength(1);
    await app.api('POST', `/api/v1/products/${p.id}/archive`, undefined, admin.accessToken);
    expect((await get(`/api/v1/products/${p.id}`)).status).toBe(404);
    expect((await get(`/api/v1/products?q=${p.word}`)).body.data).toHaveLength(0);
  });

  it('caches only the public representation: no admin fields, no drafts', async () => {
    const p = await searchableProduct(app, admin.accessToken);
    const adminView = await get(`/api/v1/admin/products/${p.id}`, admin.accessToken);
    expect(adminView.body.data.variants[0]).toHaveProperty('archived_at');
    for (let i = 0; i < 2; i += 1) {
      const publicView = await get(`/api/v1/products/${p.id}`);
      expect(publicView.body.data.variants[0]).not.toHaveProperty('archived_at');
    }
    await app.api('PATCH', `/api/v1/products/${p.id}`, { status: 'draft' }, admin.accessToken);
    expect((await get(`/api/v1/admin/products/${p.id}`, admin.accessToken)).status).toBe(200);
    expect((await get(`/api/v1/products/${p.id}`)).status).toBe(404);
  });

  it('shows live stock on cached product pages: a sale is visible at once', async () => {
    const p = await searchableProduct(app, admin.accessToken);
    await get(`/api/v1/products/${p.id}`);
    const hits = await cacheCount(app, 'product', 'hit');
    await placeOrder(app, customer.accessToken, p.variantId, 3);
    const after = await get(`/api/v1/products/${p.id}`);
    expect(await cacheCount(app, 'product', 'hit')).toBe(hits + 1);
    expect(after.body.data.variants[0].available).toBe(7);
    const search = await get(`/api/v1/products?q=${p.word}`);
    expect(search.body.data[0].variants[0].available).toBe(7);
  });

  it('searches pages it cannot cache afresh, each product coming from the product cache', async () => {
    const p = await searchableProduct(app, admin.accessToken, 1500);
    const inStock = `/api/v1/products?q=${p.word}&in_stock=true`;
    await get(`/api/v1/products/${p.id}`);
    const hits = await cacheCount(app, 'product', 'hit');
    const found = await get(inStock);
    expect(found.body.data.map((x: { id: string }) => x.id)).toEqual([p.id]);
    expect(found.body.meta.total).toBe(1);
    expect(priceIn(found.body.data[0])).toBe(1500);
    expect(found.body.data[0].variants[0].available).toBe(10);
    // The body is the entry product detail stored; the search itself ran again.
    expect(await cacheCount(app, 'product', 'hit')).toBe(hits + 1);

    await placeOrder(app, customer.accessToken, p.variantId, 10);
    expect((await get(inStock)).body.data).toHaveLength(0);
    const soldOut = await get(`/api/v1/products?q=${p.word}&in_stock=false`);
    expect(soldOut.body.data[0].variants[0].available).toBe(0);

    await setPrice(app, admin.accessToken, p, 1600);
    expect(priceIn((await get(`/api/v1/products?q=${p.word}&in_stock=false`)).body.data[0])).toBe(1600);
  });

  it('remembers what search corrects a misspelt word to, until the catalog changes', async () => {
    // Titles long enough that a misspelt word is not trigram-similar to them: only its correction finds them.
    const lamp = async (word: string) => {
      const created = await app.api(
        'POST',
        '/api/v1/products',
        {
          title: `Reading lamp ${word} for a quiet corner by the window`,
          status: 'active',
          variants: [
            { sku: `W-${tag()}`.toUpperCase(), price: { amount: 900, currency: 'USD' }, initial_stock: 5 },
          ],
        },
        admin.accessToken,
      );
      expect(created.status, created.raw).toBe(201);
      return created.body.data.id as string;
    };
    const word = () => `zq${randomBytes(4).toString('hex')}`;
    const misspelt = (w: string) => `${w.slice(0, 5)}x${w.slice(6)}`;
    const found = async (q: string) => {
      const page = await get(`/api/v1/products?q=${q}&in_stock=true`);
      return (page.body.data as { id: string }[]).map((x) => x.id);
    };

    const first = word();
    const firstId = await lamp(first);
    const misses = await cacheCount(app, 'search_word', 'miss');
    expect(await found(misspelt(first))).toEqual([firstId]);
    expect(await cacheCount(app, 'search_word', 'miss')).toBe(misses + 1);
    const hits = await cacheCount(app, 'search_word', 'hit');
    expect(await found(misspelt(first))).toEqual([firstId]);
    expect(await cacheCount(app, 'search_word', 'hit')).toBe(hits + 1);
    expect(await cacheCount(app, 'search_word', 'miss')).toBe(misses + 1);

    // A word with no correction yet is remembered as such, and forgotten when a product brings one.
    const second = word();
    expect(await found(misspelt(second))).toEqual([]);
    const secondId = await lamp(second);
    expect(await found(misspelt(second))).toEqual([secondId]);
  });

  it('refreshes the category tree after a category write', async () => {
    const name = `Cat ${tag()}`;
    await get('/api/v1/categories');
    const created = await app.api('POST', '/api/v1/categories', { name }, admin.accessToken);
    expect(created.status, created.raw).toBe(201);
    const tree = await get('/api/v1/categories');
    expect(tree.body.data.map((c: { name: string }) => c.name)).toContain(name);
  });

  it('never serves a profile or preferences older than their last change', async () => {
    const user = await signUp(app);
    expect((await get('/api/v1/users/me', user.accessToken)).body.data.name).toBe('Test User');
    await get('/api/v1/users/me', user.accessToken);
    expect((await app.api('PATCH', '/api/v1/users/me', { name: 'Ada' }, user.accessToken)).status).toBe(200);
    expect((await get('/api/v1/users/me', user.accessToken)).body.data.name).toBe('Ada');

    const renamed = await app.api(
      'PATCH',
      `/api/v1/users/${user.userId}`,
      { name: 'Ada L.' },
      admin.accessToken,
    );
    expect(renamed.status, renamed.raw).toBe(200);
    expect((await get('/api/v1/users/me', user.accessToken)).body.data.name).toBe('Ada L.');
    expect((await get(`/api/v1/users/${user.userId}`, admin.accessToken)).body.data.name).toBe('Ada L.');

    const prefs = { locale: 'de', timezone: 'Europe/Berlin', currency: 'EUR', marketing_emails: true };
    await get('/api/v1/users/me/preferences', user.accessToken);
    await app.api('PUT', '/api/v1/users/me/preferences', prefs, user.accessToken);
    expect((await get('/api/v1/users/me/preferences', user.accessToken)).body.data).toEqual(prefs);
    expect(await cacheCount(app, 'user', 'hit')).toBeGreaterThan(0);
  });

  it('never serves an order status older than an admin action or a payment webhook', async () => {
    const { variantId } = await createProduct(app, admin.accessToken, { stock: 10 });
    const status = async (orderId: string) =>
      (await get(`/api/v1/orders/${orderId}`, customer.accessToken)).body.data.status as string;

    const toCancel = await placeOrder(app, customer.accessToken, variantId);
    expect(await status(toCancel.id)).toBe('pending_payment');
    expect(await status(toCancel.id)).toBe('pending_payment');
    const cancelled = await app.api('POST', `/api/v1/orders/${toCancel.id}/cancel`, {}, admin.accessToken);
    expect(cancelled.status, cancelled.raw).toBe(200);
    expect(await status(toCancel.id)).toBe('cancelled');

    const toPay = await placeOrder(app, customer.accessToken, variantId);
    const payment = await app.api(
      'POST',
      `/api/v1/orders/${toPay.id}/payments`,
      { gateway: 'test' },
      customer.accessToken,
    );
    expect(payment.status, payment.raw).toBe(201);
    expect(await status(toPay.id)).toBe('pending_payment');
    const secret = await app.bazaar.payments.testGateway!.webhookSecret();
    const webhook = testGatewayWebhook(secret, {
      type: 'payment.succeeded',
      object: {
        id: payment.body.data.gateway_reference,
        object: 'payment_intent',
        metadata: { order_id: toPay.id, payment_id: payment.body.data.id },
        last_payment_error: null,
      },
    });
    const delivered = await app.request({
      method: 'POST',
      url: '/api/v1/webhooks/test',
      headers: webhook.headers,
      payload: webhook.payload,
    });
    expect(delivered.statusCode, delivered.body).toBe(200);
    expect(await status(toPay.id)).toBe('paid');

    const fulfilled = await app.api('POST', `/api/v1/orders/${toPay.id}/fulfill`, {}, admin.accessToken);
    expect(fulfilled.status, fulfilled.raw).toBe(200);
    expect(await status(toPay.id)).toBe('fulfilled');
    expect(await cacheCount(app, 'order', 'hit')).toBeGreaterThan(0);
  });

  it('checks access on every cached order read', async () => {
    const { variantId } = await createProduct(app, admin.accessToken);
    const order = await placeOrder(app, customer.accessToken, variantId);
    expect((await get(`/api/v1/orders/${order.id}`, customer.accessToken)).status).toBe(200);
    const stranger = await signUp(app);
    const denied = await get(`/api/v1/orders/${order.id}`, stranger.accessToken);
    expect(denied.status).toBe(404);
    expect(denied.body.error.code).toBe('NOT_FOUND');
    expect((await get(`/api/v1/orders/${order.id}`, admin.accessToken)).status).toBe(200);
  });

  it('answers 304 to a matching If-None-Match and a new ETag after a write', async () => {
    const p = await searchableProduct(app, admin.accessToken);
    for (const url of [`/api/v1/products/${p.id}`, `/api/v1/products?q=${p.word}`, '/api/v1/categories']) {
      const first = await get(url);
      expect(first.status).toBe(200);
      expect(first.headers['cache-control']).toBe('public, max-age=30');
      const etag = first.headers.etag as string;
      expect(etag).toMatch(/^W\/"[\w-]{32}"$/);
      expect((await get(url)).headers.etag).toBe(etag);
      const notModified = await get(url, undefined, { 'if-none-match': etag });
      expect(notModified.status).toBe(304);
      expect(notModified.raw).toBe('');
      expect(notModified.headers.etag).toBe(etag);
      expect((await get(url, undefined, { 'if-none-match': `"other", ${etag.slice(2)}` })).status).toBe(304);
    }

    const detail = `/api/v1/products/${p.id}`;
    const before = (await get(detail)).headers.etag as string;
    await app.api('PATCH', `/api/v1/products/${p.id}`, { title: `Renamed ${p.word}` }, admin.accessToken);
    const changed = await get(detail, undefined, { 'if-none-match': before });
    expect(changed.status).toBe(200);
    expect(changed.body.data.title).toBe(`Renamed ${p.word}`);
    expect(changed.headers.etag).not.toBe(before);

    const missing = await get(`/api/v1/products/no-such-product-${tag()}`);
    expect(missing.status).toBe(404);
    expect(missing.headers['cache-control']).toBe('no-store');
    expect(missing.headers.etag).toBeUndefined();

    const me = await get('/api/v1/users/me', customer.accessToken);
    expect(me.headers['cache-control']).toBe('private, no-cache');
    expect(me.headers.vary).toContain('Authorization');
    expect(
      (await get('/api/v1/users/me', customer.accessToken, { 'if-none-match': me.headers.etag as string }))
        .status,
    ).toBe(304);
    expect((await get('/api/v1/admin/products', admin.accessToken)).headers['cache-control']).toBe(
      'no-store',
    );
  });

  it('counts hits and misses per entity in /metrics', async () => {
    const p = await searchableProduct(app, admin.accessToken);
    const misses = await cacheCount(app, 'product', 'miss');
    const hits = await cacheCount(app, 'product', 'hit');
    await get(`/api/v1/products/${p.id}`);
    await get(`/api/v1/products/${p.id}`);
    expect(await cacheCount(app, 'product', 'miss')).toBe(misses + 1);
    expect(await cacheCount(app, 'product', 'hit')).toBe(hits + 1);
    const text = (await app.request({ method: 'GET', url: '/metrics' })).body;
    for (const entity of ['product', 'product_list', 'category_tree', 'user', 'order'])
      expect(text).toContain(`bazaar_cache_requests_total{entity="${entity}",result="miss"}`);
  });

  it('runs the loader once for many concurrent cold reads of one key', async () => {
    const p = await searchableProduct(app, admin.accessToken);
    const misses = await cacheCount(app, 'product', 'miss');
    const answers = await Promise.all(Array.from({ length: 25 }, () => get(`/api/v1/products/${p.id}`)));
    expect(answers.every((a) => a.status === 200 && a.body.data.id === p.id)).toBe(true);
    expect(await cacheCount(app, 'product', 'miss')).toBe(misses + 1);
  });

  it('reads straight from the database when CACHE_TTL_CATALOG is 0', async () => {
    const uncached = await createTestApp({ env: { CACHE_TTL_CATALOG: '0' } });
    try {
      const token = (await signInAdmin(uncached)).accessToken;
      const p = await searchableProduct(uncached, token);
      for (let i = 0; i < 3; i += 1)
        expect((await uncached.api('GET', `/api/v1/products/${p.id}`)).status).toBe(200);
      expect(await cacheCount(uncached, 'product', 'hit')).toBe(0);
      expect(await cacheCount(uncached, 'product', 'miss')).toBe(0);
    } finally {
      await uncached.close();
    }
  });
});

describe.skipIf(!testRedisUrl)('two servers sharing one Redis', () => {
  let a: TestApp;
  let b: Bazaar;
  let bData: string;

  beforeAll(async () => {
    a = await createTestApp();
    bData = mkdtempSync(path.join(os.tmpdir(), 'bazaar-test-b-'));
    // Server B: the same database and Redis (and key prefix) as A, its own process state.
    const config = loadConfig(
      baseEnv({
        DATA_DIR: bData,
        DATABASE_URL: a.bazaar.config.DATABASE_URL,
        REDIS_KEY_PREFIX: a.bazaar.config.REDIS_KEY_PREFIX,
      }),
    );
    b = await buildBazaar(config, { database: a.bazaar.database, migrate: false });
    await b.http.ready();
    await Promise.all([redisReady(a.bazaar), redisReady(b)]);
  });
  afterAll(async () => {
    await b.stop();
    await a.close();
    rmSync(bData, { recursive: true, force: true });
  });

  it('a write on one server is seen fresh on the other', async () => {
    const token = (await signInAdmin(a)).accessToken;
    const p = await searchableProduct(a, token, 1000);
    const priceOnB = async () =>
      (await b.http.inject({ method: 'GET', url: `/api/v1/products/${p.id}` })).json<{
        data: { variants: { price: { amount: number } }[] };
      }>().data.variants[0]!.price.amount;
    expect(await priceOnB()).toBe(1000);
    const hits = await cacheCount({ request: (o) => b.http.inject(o) }, 'product', 'hit');
    expect(await priceOnB()).toBe(1000);
    expect(await cacheCount({ request: (o) => b.http.inject(o) }, 'product', 'hit')).toBe(hits + 1);

    await setPrice(a, token, p, 2000);
    expect(await priceOnB()).toBe(2000);
  });
});

describe('when Redis goes away', () => {
  let redis: ChildProcess | undefined;
  let port: number;
  let app: TestApp;

  const startRedis = async () => {
    redis = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    await waitFor(() => canConnect(port), 10_000, 'redis-server to listen');
  };
  const stopRedis = async () => {
    const child = redis!;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    redis = undefined;
  };

  beforeAll(async () => {
    port = await freePort();
    await startRedis();
    app = await createTestApp({ env: { REDIS_URL: `redis://127.0.0.1:${port}/0` } });
    await redisReady(app.bazaar);
  });
  afterAll(async () => {
    await app.close();
    if (redis) await stopRedis();
  });

  it('keeps serving the catalog from the database and uses the cache again once Redis is back', async () => {
    const token = (await signInAdmin(app)).accessToken;
    const p = await searchableProduct(app, token, 1000);
    const detail = () => app.api('GET', `/api/v1/products/${p.id}`);
    await detail();
    const hits = await cacheCount(app, 'product', 'hit');
    await detail();
    expect(await cacheCount(app, 'product', 'hit')).toBe(hits + 1);

    await stopRedis();
    const errors = await cacheCount(app, 'product', 'error');
    for (const url of [`/api/v1/products/${p.id}`, `/api/v1/products?q=${p.word}`, '/api/v1/categories']) {
      const res = await app.api('GET', url);
      expect(res.status, res.raw).toBe(200);
    }
    expect(await cacheCount(app, 'product', 'error')).toBeGreaterThan(errors);
    // A write while Redis is down still answers and is seen at once.
    await setPrice(app, token, p, 1500);
    expect((await detail()).body.data.variants[0].price.amount).toBe(1500);

    await startRedis();
    await waitFor(
      async () => {
        const before = await cacheCount(app, 'product', 'hit');
        const res = await detail();
        expect(res.body.data.variants[0].price.amount).toBe(1500);
        return (await cacheCount(app, 'product', 'hit')) > before ? true : undefined;
      },
      15_000,
      'product reads to hit the cache again',
    );
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(undefined));
  });
}
