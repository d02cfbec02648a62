import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { inTransaction, type TxContext } from '../src/platform/context.js';
import { rowsOf } from '../src/platform/db/client.js';
import { conflict } from '../src/platform/errors.js';
import { purgeExpiredIdempotencyKeys, respondInTransaction } from '../src/platform/http/idempotency.js';
import { contextOf } from '../src/platform/http/server.js';
import { createTestApp, signInAdmin, waitFor, type TestApp } from './helpers/app.js';

/** What the test route does for a label: fail, block, or crash after its commit. */
interface Control {
  conflict?: boolean;
  failBefore?: number;
  block?: Promise<void>;
  crashAfterCommit?: number;
}
const controls = new Map<string, Control>();

/**
 * A public route that writes one row per execution, either storing its answer in its own
 * transaction (`in_tx`, the crash-safe path) or after the fact by the gateway's onSend hook.
 */
const effectRoute: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/test/effects',
    {
      config: { idempotency: 'required' },
      schema: {
        body: z.strictObject({ label: z.string().max(100), in_tx: z.boolean() }),
        response: {
          201: z.object({ request_id: z.string(), data: z.object({ label: z.string(), nonce: z.uuid() }) }),
        },
      },
    },
    async (request, reply) => {
      const { label, in_tx: inTx } = request.body;
      const control = controls.get(label) ?? {};
      if (control.conflict) throw conflict('Refused by the handler.');
      if (control.failBefore) {
        control.failBefore -= 1;
        throw new Error('transient failure before any effect');
      }
      if (control.block) {
        const gate = control.block;
        control.block = undefined;
        await gate;
      }
      const write = async (tx: TxContext) => {
        await tx.db.execute(sql`insert into test_effects (label) values (${label})`);
        return { request_id: request.id, data: { label, nonce: randomUUID() } };
      };
      const ctx = contextOf(request);
      const body = inTx
        ? await respondInTransaction(request, ctx, 201, write)
        : await inTransaction(ctx, write);
      if (control.crashAfterCommit) {
        control.crashAfterCommit -= 1;
        throw new Error('simulated crash after commit');
      }
      return reply.code(201).send(body);
    },
  );
};

describe('Idempotency-Key', () => {
  let app: TestApp;
  let admin: { accessToken: string };

  beforeAll(async () => {
    app = await createTestApp({
      env: { KEY_ENCRYPTION_KEY: 'idempotency-test-key-encryption-key-0123456789' },
      setup: async (bazaar) => {
        await bazaar.database.db.execute(
          sql`create table test_effects (id serial primary key, label text not null)`,
        );
        await bazaar.http.register(effectRoute, { prefix: '/api/v1' });
      },
    });
    admin = await signInAdmin(app);
  });
  afterAll(() => app.close());

  const db = () => app.bazaar.database.db;
  const count = async (query: ReturnType<typeof sql>) =>
    Number(rowsOf<{ n: number }>(await db().execute(query))[0]!.n);
  const clientsNamed = (name: string) =>
    count(sql`select count(*)::int as n from auth_api_clients where name = ${name}`);
  const effects = (label: string) =>
    count(sql`select count(*)::int as n from test_effects where label = ${label}`);

  const createClient = (body: unknown, key?: string, token = admin.accessToken) =>
    app.api(
      'POST',
      '/api/v1/admin/api-clients',
      body,
      token,
      key === undefined ? {} : { 'idempotency-key': key },
    );
  const effect = (label: string, key: string, inTx = true) =>
    app.api('POST', '/api/v1/test/effects', { label, in_tx: inTx }, undefined, { 'idempotency-key': key });

  describe('on POST /api/v1/admin/api-clients', () => {
    it('replays the first answer byte for byte, one-time secret included, and creates one client', async () => {
      const key = randomUUID();
      const body = { name: 'Replay sync', permissions: ['products:read'] };
      const first = await createClient(body, key);
      expect(first.status).toBe(201);
      expect(first.body.data.client_secret).toEqual(expect.any(String));
      expect(first.headers['idempotent-replayed']).toBeUndefined();

      const replay = await createClient(body, key);
      expect(replay.status).toBe(201);
      expect(replay.raw).toBe(first.raw);
      expect(replay.headers['content-type']).toBe(first.headers['content-type']);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      // The stored body keeps the first request's id; the header names this request.
      expect(replay.headers['x-request-id']).not.toBe(first.body.request_id);
      // Key order does not change the fingerprint.
      const reordered = await createClient({ permissions: ['products:read'], name: 'Replay sync' }, key);
      expect(reordered.raw).toBe(first.raw);
      expect(await clientsNamed('Replay sync')).toBe(1);
      // The stored answer holds a one-time secret: it is sealed at rest.
      const [stored] = rowsOf<{ response_body: string }>(
        await db().execute(sql`select response_body from idempotency_keys where key = ${key}`),
      );
      expect(stored!.response_body).toMatch(/^v1:/);
      expect(stored!.response_body).not.toContain(first.body.data.client_secret as string);
    });

    it('refuses the same key with a different body: 422 IDEMPOTENCY_KEY_MISMATCH', async () => {
      const key = randomUUID();
      expect((await createClient({ name: 'Mismatch A', permissions: ['products:read'] }, key)).status).toBe(
        201,
      );
      const other = await createClient({ name: 'Mismatch B', permissions: ['products:read'] }, key);
      expect(other.status).toBe(422);
      expect(other.body.error.code).toBe('IDEMPOTENCY_KEY_MISMATCH');
      expect(await clientsNamed('Mismatch B')).toBe(0);
    });

    it('runs 20 parallel requests with one key once: the others replay it or get 409 IN_USE', async () => {
      const key = randomUUID();
      const body = { name: 'Parallel sync', permissions: ['orders:read'] };
      const answers = await Promise.all(Array.from({ length: 20 }, () => createClient(body, key)));
      const created = answers.filter((a) => a.status === 201);
      expect(created.length).toBeGreaterThanOrEqual(1);
      expect(new Set(created.map((a) => a.raw)).size).toBe(1);
      for (const answer of answers.filter((a) => a.status !== 201)) {
        expect(answer.status).toBe(409);
        expect(answer.body.error.code).toBe('IDEMPOTENCY_KEY_IN_USE');
        expect(answer.headers['retry-after']).toBe('1');
      }
      expect(await clientsNamed('Parallel sync')).toBe(1);
      // Once the first finished, everyone gets its answer.
      expect((await createClient(body, key)).raw).toBe(created[0]!.raw);
    });

    it('keeps keys per caller: another admin with the same key gets a fresh execution', async () => {
      const key = randomUUID();
      const body = { name: 'Per caller', permissions: ['products:read'] };
      const mine = await createClient(body, key);
      const other = await signInAdmin(app);
      const theirs = await createClient(body, key, other.accessToken);
      expect(theirs.status).toBe(201);
      expect(theirs.headers['idempotent-replayed']).toBeUndefined();
      expect(theirs.body.data.id).not.toBe(mine.body.data.id);
      expect(await clientsNamed('Per caller')).toBe(2);
    });

    it('rejects a malformed key with 400 naming the header; without a key every request runs', async () => {
      for (const key of ['has space', 'tab\there', 'é', 'x'.repeat(256)]) {
        const res = await app.request({
          method: 'POST',
          url: '/api/v1/admin/api-clients',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${admin.accessToken}`,
            'idempotency-key': key,
          },
          payload: JSON.stringify({ name: 'Bad key', permissions: ['products:read'] }),
        });
        expect(res.statusCode, key).toBe(400);
        const error = JSON.parse(res.body).error;
        expect(error.code).toBe('VALIDATION_ERROR');
        expect(error.details[0].field).toBe('headers.idempotency-key');
      }
      expect(await clientsNamed('Bad key')).toBe(0);
      const body = { name: 'No key', permissions: ['products:read'] };
      await createClient(body);
      await createClient(body);
      expect(await clientsNamed('No key')).toBe(2);
    });

    it('runs again once the stored answer expired', async () => {
      const key = randomUUID();
      const body = { name: 'Expired key', permissions: ['products:read'] };
      const first = await createClient(body, key);
      await db().execute(
        sql`update idempotency_keys set expires_at = now() - interval '1 second' where key = ${key}`,
      );
      const again = await createClient(body, key);
      expect(again.status).toBe(201);
      expect(again.headers['idempotent-replayed']).toBeUndefined();
      expect(again.body.data.id).not.toBe(first.body.data.id);
      expect(await clientsNamed('Expired key')).toBe(2);
      expect((await createClient(body, key)).raw).toBe(again.raw);
    });

    it('does not store a request that failed validation before the handler: the key stays usable', async () => {
      const key = randomUUID();
      const invalid = await createClient({ name: 'Fixed later', permissions: ['profile:read'] }, key);
      expect(invalid.status).toBe(400);
      const fixed = await createClient({ name: 'Fixed later', permissions: ['products:read'] }, key);
      expect(fixed.status).toBe(201);
    });
  });

  describe('on a test route', () => {
    it('requires the header where the route says so', async () => {
      const res = await app.api('POST', '/api/v1/test/effects', { label: 'no-key', in_tx: true });
      expect(res.status).toBe(400);
      expect(res.body.error.details).toEqual([
        { field: 'headers.idempotency-key', message: 'the Idempotency-Key header is required' },
      ]);
    });

    it('scopes keys of anonymous callers by IP', async () => {
      const key = randomUUID();
      expect((await effect('anonymous', key)).status).toBe(201);
      const [row] = rowsOf<{ scope: string }>(
        await db().execute(sql`select scope from idempotency_keys where key = ${key}`),
      );
      expect(row?.scope).toBe('ip:127.0.0.1');
    });

    it('stores a 4xx the handler answered, like a success', async () => {
      const key = randomUUID();
      controls.set('refused', { conflict: true });
      const first = await effect('refused', key);
      expect(first.status).toBe(409);
      controls.delete('refused');
      const replay = await effect('refused', key);
      expect(replay.raw).toBe(first.raw);
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(await effects('refused')).toBe(0);
    });

    it('releases the key after a 5xx so the retry runs', async () => {
      const key = randomUUID();
      controls.set('transient', { failBefore: 1 });
      expect((await effect('transient', key)).status).toBe(500);
      const retry = await effect('transient', key);
      expect(retry.status).toBe(201);
      expect(retry.headers['idempotent-replayed']).toBeUndefined();
      expect(await effects('transient')).toBe(1);
    });

    it('answers 409 IN_USE with Retry-After while the first request runs, then replays it', async () => {
      const key = randomUUID();
      let release!: () => void;
      controls.set('slow', { block: new Promise<void>((resolve) => (release = resolve)) });
      const first = effect('slow', key);
      await waitFor(async () =>
        (await count(sql`select count(*)::int as n from idempotency_keys where key = ${key}`))
          ? true
          : undefined,
      );
      const during = await effect('slow', key);
      expect(during.status).toBe(409);
      expect(during.body.error.code).toBe('IDEMPOTENCY_KEY_IN_USE');
      expect(during.headers['retry-after']).toBe('1');
      release();
      const done = await first;
      expect(done.status).toBe(201);
      expect((await effect('slow', key)).raw).toBe(done.raw);
      expect(await effects('slow')).toBe(1);
    });

    it('lets a retry take over a lock older than 60 s; the stale request then cannot commit its effect', async () => {
      const key = randomUUID();
      let release!: () => void;
      controls.set('stale', { block: new Promise<void>((resolve) => (release = resolve)) });
      const stale = effect('stale', key);
      await waitFor(async () =>
        (await count(sql`select count(*)::int as n from idempotency_keys where key = ${key}`))
          ? true
          : undefined,
      );
      await db().execute(
        sql`update idempotency_keys set locked_until = now() - interval '1 second' where key = ${key}`,
      );
      const takeover = await effect('stale', key);
      expect(takeover.status).toBe(201);
      release();
      const late = await stale;
      expect(late.status).toBe(409);
      expect(late.body.error.code).toBe('IDEMPOTENCY_KEY_IN_USE');
      expect(await effects('stale')).toBe(1);
      expect((await effect('stale', key)).raw).toBe(takeover.raw);
    });

    it('stores the answer in the route transaction: a crash after commit does not run the effect twice', async () => {
      const key = randomUUID();
      controls.set('crash-in-tx', { crashAfterCommit: 1 });
      expect((await effect('crash-in-tx', key, true)).status).toBe(500);
      const retry = await effect('crash-in-tx', key, true);
      expect(retry.status).toBe(201);
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(await effects('crash-in-tx')).toBe(1);
    });

    it('(the window the in-transaction store closes) without it, a crash after commit re-runs on retry', async () => {
      const key = randomUUID();
      controls.set('crash-after', { crashAfterCommit: 1 });
      expect((await effect('crash-after', key, false)).status).toBe(500);
      expect((await effect('crash-after', key, false)).status).toBe(201);
      expect(await effects('crash-after')).toBe(2);
    });

    it('runs 20 parallel requests with one key once, storing in the route transaction', async () => {
      const key = randomUUID();
      const answers = await Promise.all(Array.from({ length: 20 }, () => effect('parallel-pg', key)));
      expect(answers.filter((a) => a.status === 201).length).toBeGreaterThanOrEqual(1);
      expect(answers.every((a) => a.status === 201 || a.status === 409)).toBe(true);
      expect(await effects('parallel-pg')).toBe(1);
    });
  });

  describe('expiry', () => {
    it('purges expired keys only, from a daily scheduled job', async () => {
      const live = randomUUID();
      const old = randomUUID();
      await effect('purge-live', live);
      await effect('purge-old', old);
      await db().execute(
        sql`update idempotency_keys set expires_at = now() - interval '1 hour' where key = ${old}`,
      );
      expect(await purgeExpiredIdempotencyKeys(db())).toBeGreaterThanOrEqual(1);
      const keys = rowsOf<{ key: string }>(
        await db().execute(sql`select key from idempotency_keys where key in (${live}, ${old})`),
      );
      expect(keys.map((k) => k.key)).toEqual([live]);
      const [schedule] = rowsOf<{ cron: string; timezone: string }>(
        await db().execute(sql`select cron, timezone from pgboss.schedule where name = 'idempotency.purge'`),
      );
      expect(schedule).toEqual({ cron: '17 3 * * *', timezone: 'UTC' });
    });
  });
});
