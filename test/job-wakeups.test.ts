import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBazaar, type Bazaar } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { Jobs } from '../src/platform/jobs/jobs.js';
import type { Broadcast } from '../src/platform/broadcast.js';
import { Wakeups } from '../src/platform/jobs/wake.js';
import { createTestApp, signInAdmin, signUp, waitFor, type TestApp } from './helpers/app.js';
import { baseEnv, testDatabaseUrl, testRedisUrl } from './helpers/env.js';
import { payThroughTestGateway } from './helpers/test-gateway.js';
import { createProduct, placeOrder } from './payments-helpers.js';

/**
 * Workers here poll only every ten minutes, and every wait below gives up long before that: a
 * job that runs in time was started by the wake-up its transaction's commit sent.
 */
const POLL_INTERVAL = '600';
const IN_TIME_MS = 15_000;

const handled = new Set<string>();

function subscribeRecorder(jobs: Jobs) {
  jobs.subscribe<{ n: number }>('test.woken', 'record', async (event) => {
    handled.add(event.event_id);
  });
}

async function publish(bazaar: Bazaar, n: number): Promise<string> {
  const event = await bazaar.database.db.transaction((tx) =>
    bazaar.jobs.publish(tx, 'test.woken', { n }, 'test'),
  );
  return event.event_id;
}

const handledInTime = (eventIds: string[]) =>
  waitFor(
    () => (eventIds.every((id) => handled.has(id)) ? true : undefined),
    IN_TIME_MS,
    `${eventIds.length} event(s) to be handled before the next poll`,
  );

/** Sign-up, a product, an order, a payment confirmed with 4242 at the test gateway; resolves once paid. */
async function payForAnOrder(app: TestApp) {
  const admin = await signInAdmin(app);
  const customer = await signUp(app);
  const { variantId } = await createProduct(app, admin.accessToken);
  const order = await placeOrder(app, customer.accessToken, variantId);
  // The gateway's webhook is a job; its handler publishes `payment.succeeded`, more jobs.
  await payThroughTestGateway(app, customer.accessToken, order.id);
}

describe('worker wake-ups: jobs start when their transaction commits, not at the next poll', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await createTestApp({
      listen: true,
      work: true,
      env: { JOB_POLL_INTERVAL: POLL_INTERVAL },
      setup: (bazaar) => subscribeRecorder(bazaar.jobs),
    });
  });
  afterAll(() => app.close());

  it('runs a published event’s handler at once, again and again, and for a burst of commits', async () => {
    // The first may be found by the worker's first fetch at start; the rest only by wake-ups.
    await handledInTime([await publish(app.bazaar, 1)]);
    await handledInTime([await publish(app.bazaar, 2)]);
    const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => publish(app.bazaar, 10 + i)));
    await handledInTime(burst);
  });

  it('pays an order: the gateway’s webhook job and the events after it run without waiting to be polled', async () => {
    await payForAnOrder(app);
  });
});

describe('worker wake-ups are sent after commit only, coalesced', () => {
  let app: TestApp;
  const sent: string[][] = [];
  const channel: Broadcast = {
    send: async (queues) => void sent.push([...queues].sort()),
    listen: async () => async () => undefined,
  };
  let wakeups: Wakeups;

  beforeAll(async () => {
    app = await createTestApp();
    wakeups = new Wakeups(channel, app.bazaar.logger);
  });
  afterAll(() => app.close());

  const db = () => app.bazaar.database.db;
  /** Flushes run on the event-loop turn after the commit: one more turn and they are done. */
  const settled = () => new Promise((resolve) => setImmediate(resolve));
  const rollBack = new Error('roll back');

  it('sends nothing for a rolled-back transaction, nor for a savepoint rolled back in a committed one', async () => {
    sent.length = 0;
    await expect(
      db().transaction(async (tx) => {
        wakeups.afterCommit(tx, ['a']);
        throw rollBack;
      }),
    ).rejects.toBe(rollBack);
    await settled();
    expect(sent).toEqual([]);

    await db().transaction(async (tx) => {
      await tx
        .transaction(async (sp) => {
          wakeups.afterCommit(sp, ['undone']);
          throw rollBack;
        })
        .catch(() => undefined);
      await tx.transaction(async (sp) => wakeups.afterCommit(sp, ['kept']));
    });
    await settled();
    expect(sent).toEqual([['kept']]);
  });

  it('sends nothing before the commit, and one message for the commits of one moment', async () => {
    sent.length = 0;
    let beforeCommit: string[][] | undefined;
    await db().transaction(async (tx) => {
      wakeups.afterCommit(tx, ['a', 'b']);
      wakeups.afterCommit(tx, ['a']);
      await settled();
      beforeCommit = [...sent];
    });
    await settled();
    expect(beforeCommit).toEqual([]);
    expect(sent).toEqual([['a', 'b']]);

    sent.length = 0;
    await Promise.all(
      ['x', 'y', 'z'].map((queue) =>
        db().transaction(async (tx) => {
          wakeups.afterCommit(tx, [queue]);
        }),
      ),
    );
    await settled();
    // PGlite runs the three one after another; PostgreSQL may commit them on different turns.
    expect(sent.flat().sort()).toEqual(['x', 'y', 'z']);
    if (!testDatabaseUrl) expect(sent).toHaveLength(1);
  });
});

/**
 * `bazaar serve` and `bazaar worker` apart: one Bazaar serves HTTP and consumes nothing, another
 * (its own connections, as another process has) consumes every queue. The wake-up crosses over
 * Redis, or over PostgreSQL's LISTEN/NOTIFY when Redis is not configured.
 */
describe.each([
  { transport: 'Redis pub/sub', redis: true },
  { transport: 'PostgreSQL LISTEN/NOTIFY', redis: false },
])('worker wake-ups across processes, by $transport', ({ redis }) => {
  const skip = !testDatabaseUrl || (redis && !testRedisUrl);
  let server: TestApp;
  let worker: Bazaar;
  const workerDir = mkdtempSync(path.join(os.tmpdir(), 'bazaar-test-worker-'));

  beforeAll(async () => {
    if (skip) return;
    const env = { JOB_POLL_INTERVAL: POLL_INTERVAL, ...(redis ? {} : { REDIS_URL: undefined }) };
    server = await createTestApp({ listen: true, env, setup: (bazaar) => subscribeRecorder(bazaar.jobs) });
    worker = await buildBazaar(
      loadConfig(
        baseEnv({
          ...env,
          DATA_DIR: workerDir,
          DATABASE_URL: server.bazaar.config.DATABASE_URL,
          REDIS_KEY_PREFIX: server.bazaar.config.REDIS_KEY_PREFIX,
          // The test gateway in the worker delivers its webhooks to the server.
          PUBLIC_URL: server.url,
        }),
      ),
      { migrate: false },
    );
    subscribeRecorder(worker.jobs);
    await worker.startJobs(true);
  });
  afterAll(async () => {
    await worker?.stop();
    await server?.close();
    rmSync(workerDir, { recursive: true, force: true });
  });

  it.skipIf(skip)('a commit on the server wakes the worker', async () => {
    await handledInTime([await publish(server.bazaar, 1)]);
    await handledInTime([await publish(server.bazaar, 2)]);
  });

  it.skipIf(skip)(
    'pays an order with the webhook job and the events after it run by the worker',
    async () => {
      await payForAnOrder(server);
    },
  );
});
