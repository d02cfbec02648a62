import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowsOf } from '../src/platform/db/client.js';
import { createTestApp, signInAdmin, signUp, waitFor, type TestApp } from './helpers/app.js';

const HANDLER_QUEUE = 'order.created.order-received-email';
const ORDERS = 120;

/**
 * The worker is killed with SIGKILL while it works through a backlog of `order.created` events;
 * after a restart every event has had its effect (the order-received notification) exactly once.
 */
describe.skipIf(!process.env.DATABASE_URL)('a worker killed with SIGKILL (PostgreSQL)', () => {
  let app: TestApp;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bazaar-crash-'));
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    app = await createTestApp({
      env: {
        RATE_LIMITS:
          'POST /api/v1/auth/register=10000/60,POST /api/v1/auth/login=10000/60,POST /api/v1/orders=10000/60',
      },
    });
  });
  afterAll(async () => {
    for (const worker of workers) killGroup(worker);
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /**
   * `bazaar worker` as its own process group, with tsx loaded in-process (the tsx CLI would run the
   * program in a grandchild that a SIGKILL of the CLI leaves running).
   */
  function startWorker() {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'worker'], {
      detached: true,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        DATABASE_URL: app.bazaar.config.DATABASE_URL,
        REDIS_URL: '',
        SMTP_URL: '',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'info',
        SEED_DEMO_DATA: 'false',
        WORKER_CONCURRENCY: '4',
      },
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    workers.push(child);
    return { child, output: () => output };
  }

  /** SIGKILL to the worker and anything it started: no shutdown hook runs. */
  function killGroup(child: ChildProcess) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  const query = async <T>(q: ReturnType<typeof sql>) => rowsOf<T>(await app.bazaar.database.db.execute(q));

  it('handles every event exactly once across the crash', async () => {
    const admin = (await signInAdmin(app)).accessToken;
    const customer = await signUp(app);
    const product = await app.api(
      'POST',
      '/api/v1/products',
      {
        title: 'Crash-test dummy',
        status: 'active',
        variants: [
          {
            sku: `CRASH-${randomBytes(3).toString('hex')}`,
            price: { amount: 100, currency: 'USD' },
            initial_stock: 1000,
          },
        ],
      },
      admin,
    );
    expect(product.status, product.raw).toBe(201);
    const variantId = product.body.data.variants[0].id as string;

    // A backlog of events, one recipient per order, so each effect can be counted per order.
    const tagged = randomBytes(3).toString('hex');
    const emails = Array.from({ length: ORDERS }, (_, i) => `crash-${tagged}-${i}@example.com`);
    for (const email of emails) {
      const placed = await app.api(
        'POST',
        '/api/v1/orders',
        {
          items: [{ variant_id: variantId, quantity: 1 }],
          email,
          shipping_address: {
            name: 'Dummy',
            line1: '1 Test Rd',
            city: 'Testville',
            postal_code: '12345',
            country: 'US',
          },
        },
        customer.accessToken,
        { 'idempotency-key': randomUUID() },
      );
      expect(placed.status, placed.raw).toBe(201);
    }

    const effects = async () =>
      query<{ recipient: string; n: number }>(
        sql`select recipient, count(*)::int as n from notifications
            where template = 'order-received' and recipient like ${`crash-${tagged}-%`}
            group by recipient`,
      );
    const done = async () => (await effects()).length;

    const activeJobs = async () =>
      (
        await query<{ n: number }>(
          sql`select count(*)::int as n from pgboss.job where name = ${HANDLER_QUEUE} and state = 'active'`,
        )
      )[0]!.n;

    // Kill the worker the moment a handler job is running: mid-handler, or between its commit and
    // pg-boss marking the job completed — the window where a redelivery could repeat an effect.
    // The signal may land a moment too late; then crash the next worker, up to five times.
    let crashes = 0;
    let caughtInFlight = 0;
    while (caughtInFlight === 0 && crashes < 5) {
      const before = await done();
      const worker = startWorker();
      await waitFor(async () => ((await done()) >= before + 5 ? true : undefined), 90_000, 'new effects');
      await waitFor(async () => ((await activeJobs()) > 0 ? true : undefined), 60_000, 'a handler at work');
      const exited = new Promise((resolve) => worker.child.once('exit', resolve));
      killGroup(worker.child);
      await exited;
      expect(() => process.kill(-worker.child.pid!, 0), 'a process of the killed worker survived').toThrow();
      crashes += 1;
      caughtInFlight = await activeJobs();
      const [committed] = await query<{ n: number }>(
        sql`select count(*)::int as n from pgboss.job j
            join processed_events pe on pe.event_id = (j.data->>'event_id')::uuid
              and pe.handler = 'notifications.order-received-email'
            where j.name = ${HANDLER_QUEUE} and j.state = 'active'`,
      );
      console.info(
        `crash ${crashes}: worker killed after ${await done()} of ${ORDERS} effects, with ${caughtInFlight} handler jobs in flight (${committed!.n} of them had committed their effect)`,
      );
      // pg-boss hands a dead worker's active jobs out again once their expiry passes (15 minutes
      // by default, checked by its maintenance); do here what that maintenance does, without the wait.
      await query(
        sql`update pgboss.job set state = 'retry', retry_count = retry_count + 1, start_after = now()
            where state = 'active'`,
      );
    }
    expect(caughtInFlight).toBeGreaterThan(0);
    expect(await done()).toBeLessThan(ORDERS);

    // The narrowest window — the handler committed, the worker died before pg-boss recorded the
    // job complete — is a few milliseconds wide; a signal rarely lands in it. Recreate its outcome
    // for some jobs: done, yet handed out again.
    const redelivered = await query<{ id: string }>(
      sql`update pgboss.job set state = 'retry', retry_count = retry_count + 1, start_after = now(),
            completed_on = null
          where id in (select id from pgboss.job where name = ${HANDLER_QUEUE} and state = 'completed' limit 3)
          returning id`,
    );
    expect(redelivered).toHaveLength(3);

    startWorker();
    await waitFor(async () => ((await done()) === ORDERS ? true : undefined), 90_000, 'every effect');
    // Give duplicates, if any, time to show up before counting.
    await new Promise((resolve) => setTimeout(resolve, 2000));

    const perOrder = await effects();
    expect(perOrder).toHaveLength(ORDERS);
    expect(perOrder.filter((row) => row.n !== 1)).toEqual([]);
    const claims = await query<{ n: number }>(
      sql`select count(*)::int as n from processed_events pe
          join notifications n on n.event_id = pe.event_id
          where pe.handler = 'notifications.order-received-email' and n.recipient like ${`crash-${tagged}-%`}`,
    );
    expect(claims[0]!.n).toBe(ORDERS);
    const left = await query<{ n: number }>(
      sql`select count(*)::int as n from pgboss.job where name = ${HANDLER_QUEUE} and state not in ('completed')`,
    );
    expect(left[0]!.n).toBe(0);
  }, 240_000);
});
