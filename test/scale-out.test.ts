import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/app.js';
import {
  freePort,
  skipWithout,
  startBazaar,
  startNginx,
  startPgBouncer,
  waitForStatus,
  type Nginx,
  type PgBouncer,
  type Proc,
} from './helpers/cluster.js';
import { testDatabaseUrl, testRedisUrl, withDatabase } from './helpers/env.js';
import { startSmtpCatcher, type SmtpCatcher } from './helpers/smtp.js';

const SERVERS = 3;
const WORKERS = 2;
const RATE_LIMITED_ROUTE_LIMIT = 9;
const ADMIN = { email: 'ops@example.com', password: 'Scale-Out-Password-2026' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
interface Answer {
  status: number;
  json: Json;
}

async function call(
  base: string,
  method: string,
  url: string,
  body?: unknown,
  token?: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${base}${url}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  let json: Json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json };
}

/**
 * Production shape on one machine: PostgreSQL behind PgBouncer (transaction pooling), Redis,
 * three `bazaar serve` behind nginx, two `bazaar worker`. Everything talks to PostgreSQL through
 * PgBouncer: migrations, API servers and pg-boss in the workers.
 */
describe.skipIf(!testDatabaseUrl || !testRedisUrl || skipWithout('nginx', 'pgbouncer'))(
  'scale-out: 3 API servers and 2 workers behind nginx, through PgBouncer',
  () => {
    const run = `${process.pid}_${Date.now()}`;
    const database = `bazaar_scale_${run}`;
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bazaar-scale-'));
    const tag = randomBytes(3).toString('hex');
    let bouncer: PgBouncer;
    let nginx: Nginx;
    let smtp: SmtpCatcher;
    let sql: postgres.Sql;
    let env: NodeJS.ProcessEnv;
    const ports: number[] = [];
    const servers: Proc[] = [];
    const workers: Proc[] = [];
    let admin: string;
    let customer: { access: string; refresh: string };
    let variantId: string;
    let productId: string;
    const placed: { id: string; email: string; phase: string }[] = [];

    const direct = (i: number) => `http://127.0.0.1:${ports[i]}`;

    function startServer(i: number, extra: NodeJS.ProcessEnv = {}) {
      const proc = startBazaar('serve', { ...env, PORT: String(ports[i]), ...extra });
      servers[i] = proc;
      return proc;
    }
    function startWorker(i: number) {
      const proc = startBazaar('worker', env);
      workers[i] = proc;
      return proc;
    }
    const workerReady = (proc: Proc) =>
      waitFor(
        () => {
          if (!proc.alive()) throw new Error(`worker exited:\n${proc.output()}`);
          return proc.output().includes('bazaar ready') ? true : undefined;
        },
        90_000,
        'a worker',
      );

    beforeAll(async () => {
      const admin$ = postgres(testDatabaseUrl!, { max: 1, onnotice: () => undefined });
      await admin$.unsafe(`create database "${database}"`);
      await admin$.end();
      const target = new URL(testDatabaseUrl!);
      bouncer = await startPgBouncer({
        host: target.hostname,
        port: Number(target.port || 5432),
        user: decodeURIComponent(target.username || 'postgres'),
      });
      sql = postgres(withDatabase(testDatabaseUrl!, database), { max: 2, onnotice: () => undefined });
      smtp = await startSmtpCatcher();
      for (let i = 0; i < SERVERS; i += 1) ports.push(await freePort());
      nginx = await startNginx(ports);

      env = {
        ...process.env,
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
        DATABASE_URL: bouncer.url(database),
        DATABASE_READ_URL: '',
        DATABASE_PREPARE: 'false',
        DATABASE_POOL_SIZE: '5',
        REDIS_URL: testRedisUrl,
        REDIS_KEY_PREFIX: `test:scale:${run}:`,
        SMTP_URL: smtp.url,
        DATA_DIR: dataDir,
        PUBLIC_URL: nginx.url,
        TRUST_PROXY: '127.0.0.1',
        SEED_DEMO_DATA: 'false',
        BAZAAR_ADMIN_EMAIL: ADMIN.email,
        BAZAAR_ADMIN_PASSWORD: ADMIN.password,
        KEY_ENCRYPTION_KEY: 'scale-out-test-key-encryption-key-0123456789',
        RATE_LIMITS: [
          'POST /api/v1/auth/register=10000/60',
          'POST /api/v1/auth/login=10000/60',
          'POST /api/v1/auth/refresh=10000/60',
          'POST /api/v1/orders=10000/60',
          'GET /api/v1/products=10000/60',
          `GET /api/v1/categories=${RATE_LIMITED_ROUTE_LIMIT}/60`,
        ].join(','),
        RATE_LIMIT_DEFAULT: '10000',
        LOGIN_LIMIT_PER_IP: '10000',
        JOB_RETRY_DELAY: '1',
        JOB_EXPIRE_SECONDS: '6',
        IDEMPOTENCY_LOCK_SECONDS: '5',
        SHUTDOWN_DRAIN_DELAY: '2',
        SHUTDOWN_TIMEOUT: '10',
        WORKER_CONCURRENCY: '4',
      };
      const migrate = startBazaar('migrate', env);
      expect(await migrate.exited, migrate.output()).toBe(0);

      // The first server creates the admin; the others start at the same time.
      startServer(0, { SEED_DEMO_DATA: 'true' });
      for (let i = 1; i < SERVERS; i += 1) startServer(i);
      for (let i = 0; i < WORKERS; i += 1) startWorker(i);
      await Promise.all([
        ...ports.map((port) => waitForStatus(`http://127.0.0.1:${port}/readyz`)),
        ...workers.map(workerReady),
      ]);
      await waitForStatus(`${nginx.url}/readyz`);

      const login = await call(nginx.url, 'POST', '/api/v1/auth/login', ADMIN);
      expect(login.status).toBe(200);
      admin = login.json.data.access_token;
      const product = await call(
        nginx.url,
        'POST',
        '/api/v1/products',
        {
          title: `Scale-out ${tag}`,
          status: 'active',
          variants: [
            { sku: `SCALE-${tag}`, price: { amount: 1200, currency: 'USD' }, initial_stock: 100_000 },
          ],
        },
        admin,
      );
      expect(product.status, JSON.stringify(product.json)).toBe(201);
      variantId = product.json.data.variants[0].id;
      productId = product.json.data.id;
      const registered = await call(nginx.url, 'POST', '/api/v1/auth/register', {
        email: `scale-${tag}@example.com`,
        password: 'Sturdy-Password-2026',
        name: 'Scale Tester',
      });
      expect(registered.status).toBe(201);
      customer = { access: registered.json.data.access_token, refresh: registered.json.data.refresh_token };
    }, 180_000);

    afterAll(async () => {
      for (const proc of [...servers, ...workers]) proc?.signal('SIGKILL');
      await Promise.all([...servers, ...workers].map((proc) => proc?.exited));
      await nginx?.stop();
      await bouncer?.stop();
      await smtp?.close();
      await sql?.end();
      const admin$ = postgres(testDatabaseUrl!, { max: 1, onnotice: () => undefined });
      await admin$.unsafe(`drop database if exists "${database}" with (force)`);
      await admin$.end();
      rmSync(dataDir, { recursive: true, force: true });
    });

    const orderBody = (email: string) => ({
      items: [{ variant_id: variantId, quantity: 1 }],
      email,
      shipping_address: {
        name: 'Scale Tester',
        line1: '1 Cluster Way',
        city: 'Springfield',
        postal_code: '12345',
        country: 'US',
      },
    });

    /**
     * A well-behaved client: one Idempotency-Key per order, retried on a network error, a 5xx or
     * IDEMPOTENCY_KEY_IN_USE until the shop answers 201. Returns the order and how many tries it took.
     */
    async function placeOrderRetrying(email: string, phase: string) {
      const key = randomUUID();
      let attempts = 0;
      const order = await waitFor(
        async () => {
          attempts += 1;
          let answer: Answer;
          try {
            answer = await call(nginx.url, 'POST', '/api/v1/orders', orderBody(email), customer.access, {
              'idempotency-key': key,
            });
          } catch {
            return undefined; // connection lost: retry with the same key
          }
          if (answer.status === 201) return answer.json.data as { id: string };
          if (answer.status >= 500 || answer.json?.error?.code === 'IDEMPOTENCY_KEY_IN_USE') return undefined;
          throw new Error(`order refused: ${answer.status} ${JSON.stringify(answer.json)}`);
        },
        60_000,
        `order ${email}`,
      );
      placed.push({ id: order.id, email, phase });
      return { id: order.id, attempts };
    }

    const receivedMails = (email: string) =>
      smtp.messages.filter((m) => m.to.includes(email) && /received/i.test(m.subject)).length;

    /** The order-received notification rows per recipient, and how many were delivered. */
    async function notificationsFor(emails: string[]) {
      return sql<{ recipient: string; n: number; sent: number }[]>`
        select recipient, count(*)::int as n, count(*) filter (where status = 'sent')::int as sent
        from notifications where template = 'order-received' and recipient in ${sql(emails)}
        group by recipient`;
    }

    it('serves any request on any server: a session started on one is refreshed on the others', async () => {
      const email = `roam-${tag}@example.com`;
      const password = 'Roaming-Password-2026';
      expect(
        (await call(direct(0), 'POST', '/api/v1/auth/register', { email, password, name: 'Roamer' })).status,
      ).toBe(201);
      const login = await call(direct(1), 'POST', '/api/v1/auth/login', { email, password });
      expect(login.status).toBe(200);
      for (let i = 0; i < SERVERS; i += 1) {
        const me = await call(direct(i), 'GET', '/api/v1/auth/me', undefined, login.json.data.access_token);
        expect(me.status).toBe(200);
        expect(me.json.data.email).toBe(email);
      }
      const first = login.json.data.refresh_token;
      const second = await call(direct(2), 'POST', '/api/v1/auth/refresh', { refresh_token: first });
      expect(second.status).toBe(200);
      const third = await call(direct(0), 'POST', '/api/v1/auth/refresh', {
        refresh_token: second.json.data.refresh_token,
      });
      expect(third.status).toBe(200);
      // Rotation is shared state too: the used token is refused by a server that never saw it used.
      expect((await call(direct(1), 'POST', '/api/v1/auth/refresh', { refresh_token: first })).status).toBe(
        401,
      );
    });

    it('shares the rate limit: the request after the limit is refused whichever server gets it', async () => {
      for (let n = 0; n < RATE_LIMITED_ROUTE_LIMIT; n += 1) {
        const answer = await call(direct(n % SERVERS), 'GET', '/api/v1/categories');
        expect(answer.status, `request ${n + 1} on server ${n % SERVERS}`).toBe(200);
      }
      for (let i = 0; i < SERVERS; i += 1) {
        const refused = await call(direct(i), 'GET', '/api/v1/categories');
        expect(refused.status, `server ${i}`).toBe(429);
        expect(refused.json.error.code).toBe('RATE_LIMIT');
      }
    });

    it('loses no acknowledged order when a server is killed mid-load; clients succeed on retry; each event is handled once', async () => {
      const CLIENTS = 6;
      const PER_CLIENT = 10;
      const acknowledged: { id: string; attempts: number }[] = [];
      let readFailures = 0;
      let reads = 0;
      const emails: string[] = [];
      const client = async (c: number) => {
        for (let n = 0; n < PER_CLIENT; n += 1) {
          const email = `load-${tag}-${c}-${n}@example.com`;
          emails.push(email);
          const order = await placeOrderRetrying(email, 'kill-server');
          acknowledged.push(order);
          // Reads through nginx, no client retry: nginx moves idempotent requests to another server.
          for (const url of [`/api/v1/orders/${order.id}`, `/api/v1/products?q=Scale-out&per_page=5`]) {
            reads += 1;
            try {
              const answer = await call(nginx.url, 'GET', url, undefined, customer.access);
              if (answer.status !== 200) readFailures += 1;
            } catch {
              readFailures += 1;
            }
          }
        }
      };
      const load = Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
      const started = performance.now();
      await waitFor(() => (acknowledged.length >= 15 ? true : undefined), 60_000, 'orders under load');
      servers[1]!.signal('SIGKILL');
      expect(await servers[1]!.exited).toBe(-1);
      await load;
      const loadMs = Math.round(performance.now() - started);

      expect(acknowledged).toHaveLength(CLIENTS * PER_CLIENT);
      const rows = await sql<{ id: string }[]>`select id from orders where email in ${sql(emails)}`;
      // Every acknowledged order is stored, and none twice (the retries reused their key).
      expect(new Set(rows.map((r) => r.id))).toEqual(new Set(acknowledged.map((o) => o.id)));
      expect(readFailures).toBe(0);
      // Stock was reserved once per order: no retry reserved twice.
      const expected = 100_000 - placed.length;
      const [stock] = await sql<{ available: number }[]>`
        select available from inventory_stock where variant_id = ${variantId}`;
      expect(stock!.available).toBe(expected);
      // The storefront shows it. A server killed between a commit and its stock broadcast leaves
      // the others' copies of that variant to expire, within CACHE_TTL_STOCK (5 s by default).
      await waitFor(
        async () => {
          const product = await call(direct(0), 'GET', `/api/v1/products/${productId}`);
          return product.json.data.variants[0].available === expected ? true : undefined;
        },
        10_000,
        `the storefront to show ${expected} available`,
      );

      // Every order.created handled exactly once across both workers: one notification row, one mail.
      await waitFor(
        async () => {
          const done = await notificationsFor(emails);
          return done.length === emails.length && done.every((r) => r.sent === 1) ? true : undefined;
        },
        60_000,
        'every order-received mail',
      );
      expect((await notificationsFor(emails)).filter((r) => r.n !== 1)).toEqual([]);
      await waitFor(
        () => (emails.every((e) => receivedMails(e) >= 1) ? true : undefined),
        20_000,
        'the mails at the SMTP server',
      );
      expect(emails.filter((e) => receivedMails(e) !== 1)).toEqual([]);
      const retried = acknowledged.filter((o) => o.attempts > 1).length;
      console.info(
        `scale-out: ${acknowledged.length} orders + ${reads} reads through nginx in ${loadMs} ms with a server SIGKILLed; ${retried} orders needed a client retry`,
      );

      startServer(1);
      await waitForStatus(`${direct(1)}/readyz`);
    }, 150_000);

    it('loses no event when a worker is killed mid-job', async () => {
      const emails = Array.from({ length: 40 }, (_, n) => `crash-${tag}-${n}@example.com`);
      const placing = Promise.all(
        Array.from({ length: 8 }, async (_, c) => {
          for (let n = c; n < emails.length; n += 8) await placeOrderRetrying(emails[n]!, 'kill-worker');
        }),
      );
      // Kill one worker while handler or delivery jobs are running, as orders keep coming in.
      await waitFor(
        async () => {
          const [active] = await sql<{ n: number }[]>`
            select count(*)::int as n from pgboss.job
            where state = 'active' and name in ('order.created.order-received-email', 'notifications.deliver')`;
          return active!.n > 0 ? true : undefined;
        },
        60_000,
        'a job at work',
      );
      workers[0]!.signal('SIGKILL');
      expect(await workers[0]!.exited).toBe(-1);
      const sentBefore = (await notificationsFor(emails)).reduce((sum, r) => sum + r.sent, 0);
      await placing;

      await waitFor(
        async () => {
          const done = await notificationsFor(emails);
          return done.length === emails.length && done.every((r) => r.sent === 1) ? true : undefined;
        },
        90_000,
        'every event after the crash',
      );
      expect((await notificationsFor(emails)).filter((r) => r.n !== 1)).toEqual([]);
      // A mail whose delivery was cut off mid-send may go out again (SMTP is at-least-once); none is lost.
      await waitFor(
        () => (emails.every((e) => receivedMails(e) >= 1) ? true : undefined),
        20_000,
        'the mails at the SMTP server',
      );
      console.info(
        `scale-out: worker killed with ${emails.length - sentBefore} of ${emails.length} order mails not yet sent; all delivered, each order handled once`,
      );
      startWorker(0);
      await workerReady(workers[0]!);
    }, 150_000);

    it('drops no in-flight request during a rolling restart (SIGTERM one server at a time)', async () => {
      let stop = false;
      let ok = 0;
      const failures: string[] = [];
      const loadClient = async (c: number) => {
        for (let n = 0; !stop; n += 1) {
          try {
            const write = await call(
              nginx.url,
              'POST',
              '/api/v1/orders',
              orderBody(`roll-${tag}-${c}-${n}@example.com`),
              customer.access,
              { 'idempotency-key': randomUUID() },
            );
            const read = await call(nginx.url, 'GET', `/api/v1/products?q=Scale-out&per_page=5`);
            for (const [what, answer, expected] of [
              ['POST /orders', write, 201],
              ['GET /products', read, 200],
            ] as const) {
              if (answer.status === expected) ok += 1;
              else failures.push(`${what}: ${answer.status} ${JSON.stringify(answer.json)}`);
            }
          } catch (error) {
            const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
            failures.push(
              `network: ${(error as Error).message} (${cause?.code ?? cause?.message ?? 'no cause'})`,
            );
          }
        }
      };
      const load = Promise.all(Array.from({ length: 3 }, (_, c) => loadClient(c)));
      const started = performance.now();
      for (let i = 0; i < SERVERS; i += 1) {
        const before = ok;
        await waitFor(() => (ok >= before + 10 ? true : undefined), 30_000, 'traffic');
        // What an orchestrator does: take the server out of the balancer, then SIGTERM it.
        await nginx.setDown(ports[i]!, true);
        const old = servers[i]!;
        old.signal('SIGTERM');
        // Readiness fails first; the server still finishes and even serves while it drains.
        await waitForStatus(`${direct(i)}/readyz`, 503, 5_000);
        const inFlight = await Promise.all(
          Array.from({ length: 3 }, (_, k) =>
            call(
              direct(i),
              'POST',
              '/api/v1/orders',
              orderBody(`drain-${tag}-${i}-${k}@example.com`),
              customer.access,
              {
                'idempotency-key': randomUUID(),
              },
            ),
          ),
        );
        expect(inFlight.map((a) => a.status)).toEqual([201, 201, 201]);
        expect(await old.exited, old.output().slice(-2000)).toBe(0);
        startServer(i);
        await waitForStatus(`${direct(i)}/readyz`);
        await nginx.setDown(ports[i]!, false);
      }
      stop = true;
      await load;
      console.info(
        `scale-out: rolling restart of ${SERVERS} servers in ${Math.round(performance.now() - started)} ms under load: ${ok} requests answered, ${failures.length} failed`,
      );
      expect(failures).toEqual([]);
      expect(ok).toBeGreaterThan(30);
    }, 150_000);
  },
);
