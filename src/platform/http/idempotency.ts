import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { and, eq, isNull, lt, sql } from 'drizzle-orm';
import { z } from 'zod';
import { inTransaction, type Context, type TxContext } from '../context.js';
import type { Database, Executor } from '../db/client.js';
import { prepared } from '../db/prepared.js';
import { AppError } from '../errors.js';
import type { SecretBox } from '../security/secret-box.js';
import { errorEnvelope } from './envelope.js';
import { idempotencyKeys } from './idempotency-schema.js';

/**
 * Idempotency keys with Stripe's semantics (docs/adr/0003-idempotency-keys.md). A route opts in
 * with `config: { idempotency: 'required' | 'optional' }`; the gateway then claims the key before
 * the handler runs, stores the first response, and answers later requests with the same key from
 * that store.
 */
export type IdempotencyMode = 'required' | 'optional';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';
/** A claim older than this belongs to a request that died; another request may take it over. */
export const LOCK_SECONDS = 60;
export const KEY_TTL_HOURS = 24;
const STORED_HEADERS = ['content-type', 'location'] as const;
const JSON_TYPE = 'application/json; charset=utf-8';

/** Visible ASCII (0x21–0x7E), 1 to 255 characters. */
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** The claim a request holds on its key while the handler runs (`request.idempotency`). */
export interface IdempotencyClaim {
  readonly scope: string;
  readonly key: string;
  /**
   * Stores the response in the caller's transaction, so the effect and its stored answer commit
   * together. Throws IDEMPOTENCY_KEY_IN_USE (rolling the transaction back) when the claim was
   * taken over by another request meanwhile. Prefer `respondInTransaction`.
   */
  complete(tx: Executor, status: number, body: unknown): Promise<void>;
}

interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

interface ClaimState {
  scope: string;
  key: string;
  /** The lock's deadline doubles as the claim's token: a takeover writes a new one. */
  token: Date;
  /** Set once `complete` stored the answer inside the route's transaction. */
  stored?: { status: number; body: string };
}

/** The request header's schema, added to every route that opts in (validated and documented). */
export function idempotencyHeaderSchema(mode: IdempotencyMode) {
  const key = z
    .string({ error: 'the Idempotency-Key header is required' })
    .regex(KEY_PATTERN, { error: 'must be 1 to 255 visible ASCII characters' })
    .max(255)
    .meta({
      description:
        'A key of your choice (e.g. a UUID) that makes retries safe: the first response for it is stored for 24 hours, and a retry with the same key and request gets that response again, byte for byte, with `Idempotent-Replayed: true`. The same key with a different request answers 422 `IDEMPOTENCY_KEY_MISMATCH`; while the first request is still running, 409 `IDEMPOTENCY_KEY_IN_USE`. Keys are per caller.',
      example: '5f0c3e7e-1c2b-4b8e-9f0a-3c1d2e4f5a6b',
    });
  return z.looseObject({ [IDEMPOTENCY_HEADER]: mode === 'required' ? key : key.optional() });
}

/** Error answers specific to idempotent routes, for the OpenAPI document. */
export const idempotencyErrors = {
  409: errorEnvelope.describe(
    'IDEMPOTENCY_KEY_IN_USE: a request with this Idempotency-Key is still running; retry after the Retry-After header.',
  ),
  422: errorEnvelope.describe(
    'IDEMPOTENCY_KEY_MISMATCH: this Idempotency-Key was used for a different request.',
  ),
};

/**
 * Runs a route's writes in one transaction and stores the route's response in that same
 * transaction when the request carries an Idempotency-Key. Use it on routes whose effect must
 * never run twice: with it, a crash between commit and answer cannot re-run the effect on retry.
 * Services join the transaction through `inTransaction(ctx, …)`. Send the returned body with
 * `reply.code(status).send(body)`.
 */
export async function respondInTransaction<T>(
  request: FastifyRequest,
  ctx: Context,
  status: number,
  work: (ctx: TxContext) => Promise<T>,
): Promise<T> {
  return inTransaction(ctx, async (tx) => {
    const body = await work(tx);
    await request.idempotency?.complete(tx.db, status, body);
    return body;
  });
}

/** Sorted keys, no whitespace: two bodies that differ only in key order have one fingerprint. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value instanceof Date) return JSON.stringify(value);
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** What makes two requests "the same": method, route, path parameters, query and body (as validated). */
export function requestFingerprint(request: FastifyRequest): string {
  return createHash('sha256')
    .update(
      canonicalJson({
        method: request.method,
        route: request.routeOptions.url ?? request.url,
        params: request.params,
        query: request.query,
        body: request.body,
      }),
    )
    .digest('hex');
}

/** Whose keys these are: the authenticated actor, else the client's IP. */
export function scopeOf(request: FastifyRequest): string {
  return request.actor ? `${request.actor.kind}:${request.actor.id}` : `ip:${request.ip}`;
}

// Truncated to milliseconds so the deadline survives a round trip through a JS Date (it is the claim's token).
const deadlineAfter = (seconds: number) =>
  sql.raw(`date_trunc('milliseconds', now() + interval '${Math.trunc(seconds)} seconds')`);
const expiry = sql.raw(`now() + interval '${KEY_TTL_HOURS} hours'`);

/**
 * The preHandler and onSend hooks that the HTTP server adds to every route that opts in. Stored
 * bodies are sealed with `box`: they may hold one-time secrets (a new API client's secret).
 */
export function idempotencyHooks(db: Database, box: SecretBox, lockSeconds = LOCK_SECONDS) {
  // How long a claim holds the key; the claim of a request whose server died lapses after this.
  const lockDeadline = deadlineAfter(lockSeconds);
  const claims = new WeakMap<FastifyRequest, ClaimState>();

  const ownedBy = (state: ClaimState) =>
    and(
      eq(idempotencyKeys.scope, state.scope),
      eq(idempotencyKeys.key, state.key),
      eq(idempotencyKeys.lockedUntil, state.token),
      isNull(idempotencyKeys.responseStatus),
    );

  /** What a claim records of its request. */
  const requestOf = (request: FastifyRequest, hash: string) => ({
    requestHash: hash,
    method: request.method,
    path: request.url.split('?')[0]!,
  });

  const fresh = (request: FastifyRequest, hash: string) => ({
    ...requestOf(request, hash),
    responseStatus: null,
    responseHeaders: null,
    responseBody: null,
    lockedUntil: lockDeadline,
    createdAt: sql`now()`,
    expiresAt: expiry,
  });

  // The two statements of every idempotent request, built once (see `prepared`): the claim, and
  // the answer stored by the claim's holder.
  const insertClaim = prepared((on) =>
    on
      .insert(idempotencyKeys)
      .values({
        scope: sql.placeholder('scope'),
        key: sql.placeholder('key'),
        requestHash: sql.placeholder('requestHash'),
        method: sql.placeholder('method'),
        path: sql.placeholder('path'),
        lockedUntil: lockDeadline,
        createdAt: sql`now()`,
        expiresAt: expiry,
      })
      .onConflictDoNothing()
      .returning({ lockedUntil: idempotencyKeys.lockedUntil })
      .prepare('idempotency_claim'),
  );
  const storeAnswer = prepared((on) =>
    on
      .update(idempotencyKeys)
      .set({
        responseStatus: sql`${sql.placeholder('status')}::int`,
        responseHeaders: sql`${sql.placeholder('headers')}::jsonb`,
        responseBody: sql`${sql.placeholder('body')}::text`,
        lockedUntil: null,
      })
      .where(
        and(
          eq(idempotencyKeys.scope, sql.placeholder('scope')),
          eq(idempotencyKeys.key, sql.placeholder('key')),
          eq(idempotencyKeys.lockedUntil, sql`${sql.placeholder('token')}::timestamptz`),
          isNull(idempotencyKeys.responseStatus),
        ),
      )
      .returning({ key: idempotencyKeys.key })
      .prepare('idempotency_store_answer'),
  );

  /** Stores the answer sealed, if `state`'s claim still holds the key; returns the rows stored. */
  const store = (on: Executor, state: ClaimState, status: number, headers: object, body: string) =>
    storeAnswer(on, {
      scope: state.scope,
      key: state.key,
      token: state.token.toISOString(),
      status,
      headers: JSON.stringify(headers),
      body: box.seal(body),
    });

  /** Claims the key (or takes over an expired or abandoned one); returns the stored answer otherwise. */
  async function claim(
    request: FastifyRequest,
    scope: string,
    key: string,
    hash: string,
  ): Promise<{ token: Date } | { replay: StoredResponse }> {
    const returning = { lockedUntil: idempotencyKeys.lockedUntil };
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const [inserted] = await insertClaim(db, { scope, key, ...requestOf(request, hash) });
      if (inserted) return { token: inserted.lockedUntil! };

      // The key exists: a retry, a concurrent request, or an expired or abandoned claim.
      const where = and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key));
      const [row] = await db
        .select({
          requestHash: idempotencyKeys.requestHash,
          responseStatus: idempotencyKeys.responseStatus,
          responseHeaders: idempotencyKeys.responseHeaders,
          responseBody: idempotencyKeys.responseBody,
          expired: sql<boolean>`${idempotencyKeys.expiresAt} <= now()`,
          abandoned: sql<boolean>`${idempotencyKeys.lockedUntil} < now()`,
        })
        .from(idempotencyKeys)
        .where(where);
      if (!row) continue; // released meanwhile: claim it afresh

      if (row.expired) {
        const [taken] = await db
          .update(idempotencyKeys)
          .set(fresh(request, hash))
          .where(and(where, sql`${idempotencyKeys.expiresAt} <= now()`))
          .returning(returning);
        if (taken) return { token: taken.lockedUntil! };
        continue;
      }
      if (row.requestHash !== hash) {
        throw new AppError(
          'IDEMPOTENCY_KEY_MISMATCH',
          'This Idempotency-Key was already used for a different request; send a new key for a new request.',
        );
      }
      if (row.responseStatus !== null) {
        return {
          replay: {
            status: row.responseStatus,
            headers: row.responseHeaders ?? {},
            body: row.responseBody ? box.open(row.responseBody) : '',
          },
        };
      }
      if (row.abandoned) {
        const [taken] = await db
          .update(idempotencyKeys)
          .set({ lockedUntil: lockDeadline })
          .where(
            and(where, isNull(idempotencyKeys.responseStatus), lt(idempotencyKeys.lockedUntil, sql`now()`)),
          )
          .returning(returning);
        if (taken) return { token: taken.lockedUntil! };
        continue;
      }
      break;
    }
    throw new AppError(
      'IDEMPOTENCY_KEY_IN_USE',
      'A request with this Idempotency-Key is still being processed; retry shortly.',
      undefined,
      1,
    );
  }

  async function preHandler(request: FastifyRequest, reply: FastifyReply) {
    const header = request.headers[IDEMPOTENCY_HEADER];
    if (header === undefined) return; // optional and absent; `required` is enforced by the header schema
    const key = String(header);
    const scope = scopeOf(request);
    const outcome = await claim(request, scope, key, requestFingerprint(request));
    if ('replay' in outcome) {
      const { replay } = outcome;
      return reply
        .code(replay.status)
        .headers({ ...replay.headers, [REPLAYED_HEADER]: 'true' })
        .send(replay.body);
    }

    const state: ClaimState = { scope, key, token: outcome.token };
    claims.set(request, state);
    request.idempotency = {
      scope,
      key,
      async complete(tx, status, body) {
        void reply.code(status);
        const text = reply.serialize(body);
        if (typeof text !== 'string') throw new Error('An idempotent response must serialize to text.');
        const stored = await store(tx, state, status, storedHeaders(reply, JSON_TYPE), text);
        if (stored.length === 0) {
          throw new AppError(
            'IDEMPOTENCY_KEY_IN_USE',
            'This request took too long and another request with its Idempotency-Key took over; retry to get that answer.',
            undefined,
            1,
          );
        }
        state.stored = { status, body: text };
      },
    };
  }

  /** Stores the answer (or releases the key after a 5xx) unless the route stored it in its transaction. */
  async function onSend(request: FastifyRequest, reply: FastifyReply, payload: unknown) {
    const state = claims.get(request);
    if (!state) return payload;
    claims.delete(request);
    const status = reply.statusCode;
    try {
      if (status >= 500) {
        // A server error: the client may retry with the same key. A no-op when the route's
        // transaction committed its answer before the failure.
        await db.delete(idempotencyKeys).where(ownedBy(state));
        return payload;
      }
      if (state.stored && state.stored.status === status) return state.stored.body;
      if (payload !== null && payload !== undefined && typeof payload !== 'string') {
        request.log.warn({ status }, 'idempotent route sent a non-text body; key released');
        await db.delete(idempotencyKeys).where(ownedBy(state));
        return payload;
      }
      await store(db, state, status, storedHeaders(reply), payload ?? '');
    } catch (error) {
      // The client still gets its answer; a retry within the lock time sees 409, later re-runs.
      request.log.error({ err: error }, 'could not store the idempotent response');
    }
    return payload;
  }

  return { preHandler, onSend };
}

function storedHeaders(reply: FastifyReply, defaultType?: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const value = reply.getHeader(name);
    if (value !== undefined) headers[name] = String(value);
  }
  if (defaultType && !headers['content-type']) headers['content-type'] = defaultType;
  return headers;
}

/** Deletes expired keys in batches (the daily `idempotency.purge` job). Returns how many. */
export async function purgeExpiredIdempotencyKeys(db: Database, batchSize = 5000): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await db
      .delete(idempotencyKeys)
      .where(
        sql`(${idempotencyKeys.scope}, ${idempotencyKeys.key}) in (
          select scope, key from idempotency_keys where expires_at <= now() limit ${batchSize})`,
      )
      .returning({ key: idempotencyKeys.key });
    total += deleted.length;
    if (deleted.length < batchSize) return total;
  }
}
