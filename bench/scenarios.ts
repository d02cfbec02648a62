import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type autocannon from 'autocannon';
import { hash, verify, Algorithm } from '@node-rs/argon2';
import type { RunningBazaar } from './lib/bazaar.js';
import { openIdleConnections, runCheckouts, percentile } from './lib/drivers.js';
import { loadWith, warmThenLoad, type RequestSpec } from './lib/load.js';
import { measureAgainstCeiling, rowOfFlows, rowOfLoad, type ResultRow } from './lib/measure.js';
import { sampleProcess } from './lib/sampler.js';
import type { BenchSettings } from './lib/settings.js';
import { orderBody, type Fixtures } from './lib/shop.js';

export interface ScenarioContext {
  settings: BenchSettings;
  /** Starts Bazaar for this scenario with the run's environment plus `env`. */
  start: (options?: {
    worker?: boolean;
    env?: Record<string, string>;
    name?: string;
  }) => Promise<RunningBazaar>;
  /** Customers, admin token and well-stocked variants; made once per run, on the given server. */
  fixtures: (bazaar: RunningBazaar) => Promise<Fixtures>;
  /** A free TCP port for a ceiling server. */
  nextPort: () => Promise<number>;
}

export interface ScenarioOutcome {
  rows: ResultRow[];
  notes: string[];
}

export interface Scenario {
  name: string;
  title: string;
  description: string;
  run: (ctx: ScenarioContext) => Promise<ScenarioOutcome>;
}

const json = { 'content-type': 'application/json' };

/** Round-robin over `items`: each request of a load gets the next one. */
function rotate<T>(items: T[]) {
  let i = 0;
  return () => items[i++ % items.length]!;
}

async function loadOptions(ctx: ScenarioContext, connections = ctx.settings.connections) {
  return {
    connections,
    warmupSeconds: ctx.settings.warmupSeconds,
    seconds: ctx.settings.durationSeconds,
    rounds: ctx.settings.rounds,
    ceilingPort: await ctx.nextPort(),
  };
}

/** Runs `body` against a freshly started Bazaar and stops it afterwards, whatever happens. */
async function withBazaar<T>(
  ctx: ScenarioContext,
  options: { worker?: boolean; env?: Record<string, string>; name?: string },
  body: (bazaar: RunningBazaar) => Promise<T>,
): Promise<T> {
  const bazaar = await ctx.start(options);
  try {
    return await body(bazaar);
  } finally {
    await bazaar.stop();
  }
}

const target = (bazaar: RunningBazaar) => ({ url: bazaar.url, pid: bazaar.server.pid });

/** A single-request scenario measured against its ceiling. */
function httpScenario(
  name: string,
  title: string,
  description: string,
  spec: (fixtures: Fixtures) => RequestSpec,
  env: Record<string, string> = {},
  notes: string[] = [],
): Scenario {
  return {
    name,
    title,
    description,
    run: (ctx) =>
      withBazaar(ctx, { env, name }, async (bazaar) => {
        const fixtures = await ctx.fixtures(bazaar);
        const row = await measureAgainstCeiling(
          title,
          target(bazaar),
          spec(fixtures),
          await loadOptions(ctx),
        );
        return { rows: [row], notes };
      }),
  };
}

const productPath = (fixtures: Fixtures) => {
  const next = rotate(fixtures.productIds);
  return (request: autocannon.Request) => ({ ...request, path: `/api/v1/products/${next()}` });
};

const searchRequest = (fixtures: Fixtures): RequestSpec => ({
  method: 'GET',
  path: `/api/v1/products?q=${fixtures.searchWord}&min_price=500&max_price=50000&in_stock=true&per_page=20`,
});

/** Storefront reads of the mixed load: lists, product pages, the category tree. */
function storefrontReads(fixtures: Fixtures): RequestSpec {
  const products = rotate(fixtures.productIds);
  const pages = rotate([1, 2, 3, 4, 5]);
  let n = 0;
  return {
    method: 'GET',
    path: '/api/v1/products?per_page=20',
    setupRequest: (request) => {
      n += 1;
      const path =
        n % 10 < 6
          ? `/api/v1/products/${products()}`
          : n % 10 < 9
            ? `/api/v1/products?per_page=20&page=${pages()}`
            : '/api/v1/categories';
      return { ...request, path };
    },
  };
}

/** 90 % of clients read (autocannon), 10 % run whole paid checkouts, at the same time. */
async function mixedLoad(ctx: ScenarioContext, bazaar: RunningBazaar, fixtures: Fixtures) {
  const checkoutClients = Math.max(1, Math.round(ctx.settings.connections / 10));
  const readers = ctx.settings.connections - checkoutClients;
  const reads = storefrontReads(fixtures);
  if (ctx.settings.warmupSeconds > 0)
    await Promise.all([
      loadWith(bazaar.url, reads, { connections: readers, seconds: ctx.settings.warmupSeconds }),
      runCheckouts(bazaar.url, fixtures, { clients: checkoutClients, seconds: ctx.settings.warmupSeconds }),
    ]);
  const sampler = sampleProcess(bazaar.server.pid, { workerPid: bazaar.worker?.pid });
  const [readLoad, flows] = await Promise.all([
    loadWith(bazaar.url, reads, { connections: readers, seconds: ctx.settings.durationSeconds }),
    runCheckouts(bazaar.url, fixtures, { clients: checkoutClients, seconds: ctx.settings.durationSeconds }),
  ]);
  const usage = sampler.stop();
  return {
    reads: rowOfLoad(`reads (${readers} connections)`, readLoad, usage),
    checkouts: rowOfFlows(`paid checkouts (${checkoutClients} clients)`, flows, usage),
  };
}

/** Median time of one argon2id verification with Bazaar's parameters, on this machine. */
async function argon2VerifyMs(): Promise<number> {
  const options = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 };
  const digest = await hash('Bench-Customer-Password-2026', options);
  const times: number[] = [];
  for (let i = 0; i < 15; i += 1) {
    const started = performance.now();
    await verify(digest, 'Bench-Customer-Password-2026');
    times.push(performance.now() - started);
  }
  return percentile(
    times.sort((a, b) => a - b),
    50,
  );
}

export const scenarios: Scenario[] = [
  httpScenario(
    'product-list',
    'product list (20 per page, default sort)',
    'GET /api/v1/products?per_page=20: the first page of the storefront list, newest first, with variants, prices and stock.',
    () => ({ method: 'GET', path: '/api/v1/products?per_page=20' }),
  ),
  httpScenario(
    'product-detail',
    'product detail',
    'GET /api/v1/products/{id}, rotating over 100 products.',
    (fixtures) => ({
      method: 'GET',
      path: `/api/v1/products/${fixtures.productIds[0]}`,
      setupRequest: productPath(fixtures),
    }),
  ),
  httpScenario(
    'search',
    'search with q and filters (uncached)',
    'GET /api/v1/products?q=…&min_price=…&max_price=…&in_stock=true: full-text search with typo tolerance, price and stock filters. A page filtered by stock is never cached: every request searches PostgreSQL afresh (matches, ranking, total); the products’ representations come from the product cache, their stock is read live.',
    searchRequest,
  ),
  httpScenario(
    'search-cache-off',
    'search with q and filters, catalog cache off',
    'The same search with CACHE_TTL_CATALOG=0: PostgreSQL also builds every product’s representation, as on a deployment without the read cache.',
    searchRequest,
    { CACHE_TTL_CATALOG: '0' },
  ),
  httpScenario('category-tree', 'category tree', 'GET /api/v1/categories: the whole category tree.', () => ({
    method: 'GET',
    path: '/api/v1/categories',
  })),
  httpScenario(
    'users-me',
    'authenticated GET /users/me',
    'GET /api/v1/users/me with a Bearer token, rotating over the bench customers: JWT verification, session and user liveness checks, the profile.',
    (fixtures) => {
      const next = rotate(fixtures.customers);
      return {
        method: 'GET',
        path: '/api/v1/users/me',
        headers: { authorization: `Bearer ${fixtures.customers[0]!.token}` },
        setupRequest: (request) => ({
          ...request,
          headers: { ...request.headers, authorization: `Bearer ${next().token}` },
        }),
      };
    },
  ),
  {
    name: 'login',
    title: 'login',
    description:
      'POST /api/v1/auth/login with the right password, rotating over the bench customers: argon2id verification, a new session, a signed token pair.',
    run: (ctx) =>
      withBazaar(ctx, { name: 'login' }, async (bazaar) => {
        const fixtures = await ctx.fixtures(bazaar);
        const next = rotate(fixtures.customers);
        const spec: RequestSpec = {
          method: 'POST',
          path: '/api/v1/auth/login',
          headers: json,
          setupRequest: (request) => {
            const customer = next();
            return {
              ...request,
              body: JSON.stringify({ email: customer.email, password: customer.password }),
            };
          },
        };
        // argon2id is the bound: 50 connections would only queue behind the hashing threads.
        const connections = Math.min(ctx.settings.connections, 10);
        const row = await measureAgainstCeiling(
          `login (${connections} connections)`,
          target(bazaar),
          spec,
          await loadOptions(ctx, connections),
        );
        const verifyMs = await argon2VerifyMs();
        const cores = (await import('node:os')).cpus().length;
        return {
          rows: [row],
          notes: [
            `argon2id parameters: m=19456 KiB (19 MiB), t=2, p=1 (OWASP baseline). One verification takes ${verifyMs} ms on this machine, so ${cores} cores bound sign-ins at about ${Math.round((cores * 1000) / verifyMs)}/s before any other work.`,
          ],
        };
      }),
  },
  {
    name: 'order-create',
    title: 'order creation',
    description:
      'POST /api/v1/orders, each request with its own Idempotency-Key, rotating over customers and well-stocked variants: validation, price snapshot, conditional stock reservation, order insert and the order.created event in one transaction.',
    run: (ctx) =>
      withBazaar(ctx, { name: 'order-create' }, async (bazaar) => {
        const fixtures = await ctx.fixtures(bazaar);
        const customers = rotate(fixtures.customers);
        const variants = rotate(fixtures.variantIds);
        const spec: RequestSpec = {
          method: 'POST',
          path: '/api/v1/orders',
          headers: json,
          setupRequest: (request) => {
            const customer = customers();
            return {
              ...request,
              headers: {
                ...request.headers,
                authorization: `Bearer ${customer.token}`,
                'idempotency-key': randomUUID(),
              },
              body: JSON.stringify(orderBody(variants(), customer.email)),
            };
          },
        };
        const row = await measureAgainstCeiling(
          'order creation',
          target(bazaar),
          spec,
          await loadOptions(ctx),
        );
        return { rows: [row], notes: [] };
      }),
  },
  {
    name: 'checkout',
    title: 'full paid checkout',
    description:
      'Whole checkouts by concurrent storefront clients (not autocannon): order → payment with the test gateway → card confirmation → the signed webhook (delivered by a worker process) → the order reads `paid`. Measured once with one client and once with BENCH_CHECKOUT_CLIENTS (10) clients.',
    run: (ctx) =>
      withBazaar(ctx, { worker: true, name: 'checkout' }, async (bazaar) => {
        const fixtures = await ctx.fixtures(bazaar);
        const seconds = ctx.settings.durationSeconds;
        if (ctx.settings.warmupSeconds > 0)
          await runCheckouts(bazaar.url, fixtures, { clients: 2, seconds: ctx.settings.warmupSeconds });
        const rows: ResultRow[] = [];
        const notes: string[] = [];
        for (const clients of [1, ctx.settings.checkoutClients]) {
          const sampler = sampleProcess(bazaar.server.pid, { workerPid: bazaar.worker?.pid });
          const flows = await runCheckouts(bazaar.url, fixtures, { clients, seconds });
          const label = `paid checkouts, ${clients} client${clients > 1 ? 's' : ''}`;
          rows.push(rowOfFlows(label, flows, sampler.stop()));
          const steps = flows.step_ms_p50;
          notes.push(
            `${label}, median of each step: order ${steps.order} ms, payment ${steps.payment} ms, card confirmation ${steps.confirm} ms, then ${steps.until_paid} ms until the order reads paid (the webhook through the worker; polled every 20 ms).`,
          );
        }
        return { rows, notes };
      }),
  },
  {
    name: 'mixed',
    title: 'mixed storefront traffic',
    description:
      '90 % of the clients read (60 % product pages, 30 % list pages 1–5, 10 % the category tree) through autocannon while 10 % run whole paid checkouts, at the same time, with a worker.',
    run: (ctx) =>
      withBazaar(ctx, { worker: true, name: 'mixed' }, async (bazaar) => {
        const fixtures = await ctx.fixtures(bazaar);
        const { reads, checkouts } = await mixedLoad(ctx, bazaar, fixtures);
        return { rows: [reads, checkouts], notes: [] };
      }),
  },
  {
    name: 'idle-connections',
    title: 'mixed traffic with 10,000 idle keep-alive connections',
    description:
      'Opens BENCH_IDLE_CONNECTIONS (10,000) keep-alive connections, each after one real request, leaves them idle, runs the mixed load, then counts how many are still open.',
    run: (ctx) =>
      withBazaar(ctx, { worker: true, name: 'idle-connections' }, async (bazaar) => {
        const fixtures = await ctx.fixtures(bazaar);
        const port = Number(new URL(bazaar.url).port);
        const openStarted = performance.now();
        const idle = await openIdleConnections(port, ctx.settings.idleConnections);
        const openMs = Math.round(performance.now() - openStarted);
        try {
          const { reads, checkouts } = await mixedLoad(ctx, bazaar, fixtures);
          const held: ResultRow = {
            label: 'idle keep-alive connections held',
            unit: 'connections',
            rate: idle.stillOpen(),
            p50: 0,
            p90: 0,
            p99: 0,
            errors: idle.errors() + idle.failedToOpen,
            non_2xx: 0,
            detail: {
              requested: ctx.settings.idleConnections,
              opened: idle.opened,
              failed_to_open: idle.failedToOpen,
              still_open_after_load: idle.stillOpen(),
              open_ms: openMs,
            },
          };
          return { rows: [held, reads, checkouts], notes: [] };
        } finally {
          idle.close();
        }
      }),
  },
  {
    name: 'startup',
    title: 'startup to ready',
    description:
      'Spawns `bazaar serve` on the migrated benchmark database five times and times each from spawn to the first 200 on /readyz (database, jobs and Redis reachable). The starts share a new, empty Node compile cache: on Node.js 22.1 and later the first start fills it and the others use it.',
    run: async (ctx) => {
      const compileCache = mkdtempSync(path.join(os.tmpdir(), 'bazaar-bench-compile-cache-'));
      const times: number[] = [];
      try {
        for (let i = 0; i < 5; i += 1) {
          const bazaar = await ctx.start({ name: 'startup', env: { NODE_COMPILE_CACHE: compileCache } });
          times.push(bazaar.readyMs);
          await bazaar.stop();
        }
      } finally {
        rmSync(compileCache, { recursive: true, force: true });
      }
      const first = times[0]!;
      const compileCacheNote =
        'enableCompileCache' in module
          ? ', filling the compile cache that the other four used'
          : '; this Node has no compile cache, so every start compiles the code';
      times.sort((a, b) => a - b);
      const row: ResultRow = {
        label: 'spawn → /readyz 200 (5 starts)',
        unit: 'ms',
        rate: percentile(times, 50),
        p50: percentile(times, 50),
        p90: percentile(times, 90),
        p99: percentile(times, 100),
        errors: 0,
        non_2xx: 0,
        detail: { ms: times.map((t) => Math.round(t)), first_ms: Math.round(first) },
      };
      return {
        rows: [row],
        notes: [
          `Includes Node start-up and module loading, not just Bazaar’s own work. Node ${process.version}; the first start took ${Math.round(first)} ms${compileCacheNote}.`,
        ],
      };
    },
  },
  {
    name: 'cached-reads',
    title: 'cached vs uncached product reads',
    description:
      'Product detail (rotating over 100 products) and the first list page, once with the catalog cache on (CACHE_TTL_CATALOG=900) and once off (CACHE_TTL_CATALOG=0).',
    run: async (ctx) => {
      const rows: ResultRow[] = [];
      for (const ttl of ['900', '0']) {
        const mode = ttl === '0' ? 'uncached' : 'cached';
        await withBazaar(
          ctx,
          { env: { CACHE_TTL_CATALOG: ttl }, name: `cached-reads-${mode}` },
          async (bazaar) => {
            const fixtures = await ctx.fixtures(bazaar);
            const options = {
              connections: ctx.settings.connections,
              warmupSeconds: ctx.settings.warmupSeconds,
              seconds: ctx.settings.durationSeconds,
              pid: bazaar.server.pid,
            };
            const detail = await warmThenLoad(
              bazaar.url,
              {
                method: 'GET',
                path: `/api/v1/products/${fixtures.productIds[0]}`,
                setupRequest: productPath(fixtures),
              },
              options,
            );
            rows.push(rowOfLoad(`product detail, ${mode} (CACHE_TTL_CATALOG=${ttl})`, detail));
            const list = await warmThenLoad(
              bazaar.url,
              { method: 'GET', path: '/api/v1/products?per_page=20' },
              options,
            );
            rows.push(rowOfLoad(`product list, ${mode} (CACHE_TTL_CATALOG=${ttl})`, list));
          },
        );
      }
      return { rows, notes: [] };
    },
  },
];
