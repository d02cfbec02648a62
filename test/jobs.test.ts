import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bazaar } from '../src/app.js';
import { rowsOf } from '../src/platform/db/client.js';
import type { DomainEvent } from '../src/platform/jobs/jobs.js';
import { createTestApp, signInAdmin, waitFor, type TestApp } from './helpers/app.js';

const POISON_QUEUE = 'test.poisoned.apply';
const NOTED_QUEUE = 'test.noted.record';

/** Test handlers: one fails while `poisoned` is set; both apply their effect once per event. */
const state = { poisoned: true, calls: new Map<string, number>() };

function subscribeTestHandlers(bazaar: Bazaar) {
  const { jobs, database } = bazaar;
  const apply = async (event: DomainEvent<{ n: number }>, handler: string) => {
    state.calls.set(event.event_id, (state.calls.get(event.event_id) ?? 0) + 1);
    if (handler === POISON_QUEUE && state.poisoned)
      throw new Error(`poisoned: cannot apply event ${event.data.n}`);
    await database.db.transaction(async (tx) => {
      if (!(await jobs.claim(tx, event.event_id, handler))) return;
      await tx.execute(
        sql`insert into test_job_effects (event_id, handler) values (${event.event_id}, ${handler})`,
      );
    });
  };
  jobs.subscribe<{ n: number }>('test.poisoned', 'apply', (event) => apply(event, POISON_QUEUE));
  jobs.subscribe<{ n: number }>('test.noted', 'record', (event) => apply(event, NOTED_QUEUE));
}

describe('jobs: retries, dead letters and their replay', () => {
  let app: TestApp;
  let admin: { accessToken: string };

  beforeAll(async () => {
    app = await createTestApp({
      work: true,
      env: { JOB_RETRY_LIMIT: '2', JOB_RETRY_DELAY: '1' },
      setup: async (bazaar) => {
        await bazaar.database.db.execute(
          sql`create table test_job_effects (id serial primary key, event_id uuid not null, handler text not null)`,
        );
        subscribeTestHandlers(bazaar);
      },
    });
    admin = await signInAdmin(app);
  });
  afterAll(() => app.close());

  const db = () => app.bazaar.database.db;
  const jobs = () => app.bazaar.jobs;
  const effectsOf = async (eventId: string) =>
    Number(
      rowsOf<{ n: number }>(
        await db().execute(sql`select count(*)::int as n from test_job_effects where event_id = ${eventId}`),
      )[0]!.n,
    );
  const publish = (type: string, n: number) =>
    db().transaction((tx) => jobs().publish(tx, type, { n }, 'test'));
  const get = (url: string) => app.api('GET', url, undefined, admin.accessToken);
  const idle = (queue: string) =>
    waitFor(
      async () => {
        const stats = (await get('/api/v1/admin/jobs')).body.data as {
          queue: string;
          queued: number;
          active: number;
          retrying: number;
        }[];
        const s = stats.find((q) => q.queue === queue)!;
        return s.queued + s.active + s.retrying === 0 ? true : undefined;
      },
      20_000,
      `${queue} to drain`,
    );

  it('retries a poison event the configured number of times, then dead-letters it; a replay applies it once', async () => {
    const event = await publish('test.poisoned', 1);

    const deadLetters = await waitFor(
      async () => {
        const res = await get(`/api/v1/admin/jobs/dead-letters?queue=${POISON_QUEUE}`);
        const page = res.body as { data: { id: string }[]; meta: { total: number } };
        return page.data.length > 0 ? page : undefined;
      },
      30_000,
      'the dead letter',
    );
    // One try and JOB_RETRY_LIMIT=2 retries, then no more.
    expect(state.calls.get(event.event_id)).toBe(3);
    expect(deadLetters.meta.total).toBe(1);
    const dead = deadLetters.data[0]!;
    expect(dead).toEqual({
      id: expect.any(String),
      queue: POISON_QUEUE,
      data: expect.objectContaining({
        event_id: event.event_id,
        event_type: 'test.poisoned',
        data: { n: 1 },
      }),
      error: 'poisoned: cannot apply event 1',
      failed_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      retry_count: 2,
    });

    const stats = await get('/api/v1/admin/jobs');
    expect(stats.status).toBe(200);
    expect(stats.body.data).toContainEqual({
      queue: POISON_QUEUE,
      queued: 0,
      active: 0,
      retrying: 0,
      failed: 1,
      dead_letters: 1,
    });
    const metrics = (await app.request({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain(`bazaar_job_dead_letters{queue="${POISON_QUEUE}"} 1`);
    expect(metrics).toContain(`bazaar_job_queue_depth{queue="${POISON_QUEUE}"} 0`);
    expect(metrics).toContain(`bazaar_jobs_processed_total{queue="${POISON_QUEUE}",outcome="failed"} 3`);
    expect(await effectsOf(event.event_id)).toBe(0);

    // The cause is fixed; the operator replays.
    state.poisoned = false;
    const replayOnce = (key?: string) =>
      app.api(
        'POST',
        `/api/v1/admin/jobs/dead-letters/${dead.id}/replay`,
        undefined,
        admin.accessToken,
        key ? { 'idempotency-key': key } : {},
      );
    const replay = await replayOnce('replay-poisoned-1');
    expect(replay.status).toBe(202);
    expect(replay.body.data).toEqual({ id: dead.id, queue: POISON_QUEUE, job_id: expect.any(String) });
    await waitFor(
      async () => ((await effectsOf(event.event_id)) === 1 ? true : undefined),
      15_000,
      'the effect',
    );

    // A retry with the same Idempotency-Key gets the stored answer (stored in the replay's own
    // transaction); a new replay of the same dead letter is refused; the effect stays single.
    const retried = await replayOnce('replay-poisoned-1');
    expect(retried.raw).toBe(replay.raw);
    expect(retried.headers['idempotent-replayed']).toBe('true');
    const again = await replayOnce();
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('CONFLICT');
    // Even a duplicate delivery of the event (e.g. a second replay) applies nothing more.
    await db().transaction((tx) => jobs().enqueue(tx, POISON_QUEUE, event));
    await waitFor(() => (state.calls.get(event.event_id) === 5 ? true : undefined), 15_000, 'the duplicate');
    await idle(POISON_QUEUE);
    expect(await effectsOf(event.event_id)).toBe(1);

    expect((await get(`/api/v1/admin/jobs/dead-letters?queue=${POISON_QUEUE}`)).body.meta.total).toBe(0);
    const audit = await get('/api/v1/admin/audit-log?action=jobs.dead_letter_replayed');
    expect(audit.body.data).toEqual([
      expect.objectContaining({
        target_type: 'dead_letter',
        target_id: dead.id,
        metadata: { queue: POISON_QUEUE, job_id: replay.body.data.job_id },
      }),
    ]);
  }, 60_000);

  it('brings queues that existed before the start up to the configured retry settings', async () => {
    // orders.expire comes from the migrated template, installed there with the default settings.
    const [queue] = rowsOf<{ retry_limit: number; retry_delay: number; dead_letter: string }>(
      await db().execute(
        sql`select retry_limit, retry_delay, dead_letter from pgboss.queue where name = 'orders.expire'`,
      ),
    );
    expect(queue).toEqual({ retry_limit: 2, retry_delay: 1, dead_letter: 'orders.expire__dead' });
  });

  it('answers 404 for an unknown dead letter and guards the routes by permission', async () => {
    const unknown = await app.api(
      'POST',
      '/api/v1/admin/jobs/dead-letters/00000000-0000-4000-8000-000000000000/replay',
      undefined,
      admin.accessToken,
    );
    expect(unknown.status).toBe(404);
    const customer = await app.api('POST', '/api/v1/auth/register', {
      email: `jobs-${Date.now()}@example.com`,
      password: 'Correct-Horse-Battery-42',
      name: 'Customer',
    });
    const token = customer.body.data.access_token as string;
    expect((await app.api('GET', '/api/v1/admin/jobs', undefined, token)).status).toBe(403);
    expect((await app.api('GET', '/api/v1/admin/jobs/dead-letters', undefined, token)).status).toBe(403);
  });

  it('never runs what a rolled-back transaction published', async () => {
    let rolledBack: DomainEvent | undefined;
    await expect(
      db().transaction(async (tx) => {
        rolledBack = await jobs().publish(tx, 'test.noted', { n: 2 }, 'test');
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    const committed = await publish('test.noted', 3);
    await waitFor(
      async () => ((await effectsOf(committed.event_id)) === 1 ? true : undefined),
      15_000,
      'the effect',
    );
    await idle(NOTED_QUEUE);
    expect(state.calls.has(rolledBack!.event_id)).toBe(false);
    expect(await effectsOf(rolledBack!.event_id)).toBe(0);
  });

  it('applies an event delivered several times once, thanks to claim()', async () => {
    const event = await publish('test.noted', 4);
    await db().transaction(async (tx) => {
      await jobs().enqueue(tx, NOTED_QUEUE, event);
      await jobs().enqueue(tx, NOTED_QUEUE, event);
    });
    await waitFor(
      () => (state.calls.get(event.event_id) === 3 ? true : undefined),
      15_000,
      'three deliveries',
    );
    await idle(NOTED_QUEUE);
    expect(await effectsOf(event.event_id)).toBe(1);
  });
  // A worker killed with SIGKILL mid-event: test/worker-crash.test.ts (PostgreSQL) and the
  // scale-out test (two workers behind nginx) prove every effect happens once after restart.
});
