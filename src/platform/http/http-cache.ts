import { createHash, type Hash } from 'node:crypto';
import type { FastifyReply, FastifyRequest, onSendHookHandler } from 'fastify';
import { z } from 'zod';

/**
 * HTTP caching per route (`config.httpCache`): `public` answers may be kept by browsers and
 * shared caches for `max-age` seconds; `private` ones only by the client, which revalidates each
 * time. Both carry a weak `ETag` of the representation and answer a matching `If-None-Match`
 * with 304 and no body. Errors are never cacheable.
 */
export type HttpCachePolicy = 'public' | 'private';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `Cache-Control`, `ETag` and 304 handling of a read route (see http-cache.ts). Unset = `no-store`. */
    httpCache?: HttpCachePolicy;
  }
}

/** The 304 answer in the OpenAPI document of routes with `httpCache`. */
export const notModifiedResponse = z
  .null()
  .describe(
    'Not Modified: the representation still has the ETag sent in If-None-Match. No body; the client reuses its copy.',
  );

export function httpCacheHook(policy: HttpCachePolicy, publicMaxAgeSeconds: number): onSendHookHandler {
  const cacheControl =
    policy === 'private'
      ? 'private, no-cache'
      : publicMaxAgeSeconds > 0
        ? `public, max-age=${publicMaxAgeSeconds}`
        : 'public, no-cache';
  // Synchronous, like every hook that runs per answer and never waits.
  return (request: FastifyRequest, reply: FastifyReply, payload: unknown, done) => {
    const preset = presetTags.get(reply);
    if (reply.statusCode < 200 || reply.statusCode >= 300 || (typeof payload !== 'string' && !preset)) {
      void reply.header('Cache-Control', 'no-store');
      return done(null, payload);
    }
    const etag = preset ?? entityTag(payload as string, request.id);
    void reply.header('Cache-Control', cacheControl);
    void reply.header('ETag', etag);
    // A private answer is the signed-in actor's own: another token means another representation.
    if (policy === 'private') addVary(reply, 'Authorization');
    if (
      (request.method === 'GET' || request.method === 'HEAD') &&
      matches(request.headers['if-none-match'], etag)
    ) {
      void reply.code(304);
      void reply.removeHeader('Content-Type');
      void reply.removeHeader('Content-Length');
      return done(null, null);
    }
    done(null, payload);
  };
}

/** Entity tags of answers rendered ahead (see rendered.ts), so their bodies are not hashed again. */
const presetTags = new WeakMap<FastifyReply, string>();

/** Sets the `ETag` of this answer, computed by `entityTag` when its representation was rendered. */
export function presetEntityTag(reply: FastifyReply, etag: string): void {
  presetTags.set(reply, etag);
}

/**
 * A weak validator from the JSON of the answer, without its `request_id` (the one part that
 * differs between two answers of the same representation). Weak, because the bytes on the wire
 * differ with the content coding (br, gzip or none) while the representation is the same.
 */
export function entityTag(body: string, requestId: string): string {
  // Hashed around the request id rather than after replacing it: a list page is ~90 KB, and
  // copying it once per answer cost as much as hashing it.
  const member = `"request_id":${JSON.stringify(requestId)}`;
  const at = body.indexOf(member);
  const hash = createHash('sha256');
  if (at < 0) hash.update(body);
  else
    hash
      .update(body.slice(0, at))
      .update(BLANK_REQUEST_ID)
      .update(body.slice(at + member.length));
  return weakTag(hash);
}

/** The member `entityTag` hashes in place of the request id. */
export const BLANK_REQUEST_ID = '"request_id":""';

/** `entityTag` of an answer whose `request_id` is already blank (""). */
export function entityTagOfBlank(body: string): string {
  return weakTag(createHash('sha256').update(body));
}

function weakTag(hash: Hash): string {
  return `W/"${hash.digest('base64url').slice(0, 32)}"`;
}

/** `If-None-Match` uses the weak comparison (RFC 9110 §13.1.2): `W/` prefixes are ignored. */
function matches(header: string | string[] | undefined, etag: string): boolean {
  if (!header) return false;
  const text = Array.isArray(header) ? header.join(',') : header;
  if (text.trim() === '*') return true;
  const opaque = etag.replace(/^W\//, '');
  return text.split(',').some((tag) => tag.trim().replace(/^W\//, '') === opaque);
}

function addVary(reply: FastifyReply, field: string): void {
  const current = reply.getHeader('Vary');
  const fields = typeof current === 'string' ? current.split(',').map((f) => f.trim()) : [];
  if (!fields.some((f) => f.toLowerCase() === field.toLowerCase() || f === '*'))
    void reply.header('Vary', [...fields.filter(Boolean), field].join(', '));
}
