import type { FastifyReply, FastifyRequest } from 'fastify';
import { BLANK_REQUEST_ID, entityTagOfBlank, presetEntityTag } from './http-cache.js';

interface Rendering {
  variant: string;
  /** The `stock` and URL of the last request it answered: the same two skip computing the variant. */
  stock: object;
  url: string;
  head: Buffer;
  tail: Buffer;
  etag: string;
}

/**
 * Answers rendered once and sent many times. A storefront answer is the same bytes for every
 * request that sees the same cached representation with the same stock, except its
 * `request_id`; serialising a 90 KB page and hashing it for its `ETag` was most of such a
 * request's work. Here the answer is serialised (by the route's own response serialiser, so it is
 * shaped and checked exactly as a returned object would be) and tagged once per `source` — an
 * object that stands for one representation, such as a cache entry — and `variant`, everything
 * else the answer depends on (stock, the URL). Each request then only splices in its own id.
 * A request that brings the same `stock` object (inventory answers the same map while nothing
 * changed) to the same URL as the last one skips even computing the variant.
 *
 * One rendering is kept per source, held only as long as the source object lives.
 */
export class RenderedAnswers<S extends object> {
  private readonly renderings = new WeakMap<S, Rendering>();

  /** Sends `build()`'s answer, rendered afresh only when needed; return what it returns from the handler. */
  send(
    request: FastifyRequest,
    reply: FastifyReply,
    source: S,
    stock: object,
    variant: () => string,
    build: () => { request_id: string },
  ): FastifyReply {
    let rendering = this.renderings.get(source);
    if (rendering?.stock !== stock || rendering.url !== request.url) {
      const current = variant();
      if (rendering?.variant !== current) {
        rendering = render(reply, current, build);
        this.renderings.set(source, rendering);
      }
      rendering.stock = stock;
      rendering.url = request.url;
    }
    presetEntityTag(reply, rendering.etag);
    return reply
      .type('application/json; charset=utf-8')
      .send(Buffer.concat([rendering.head, Buffer.from(JSON.stringify(request.id)), rendering.tail]));
  }
}

function render(reply: FastifyReply, variant: string, build: () => { request_id: string }): Rendering {
  const json = reply.serialize({ ...build(), request_id: '' }) as string;
  const at = json.indexOf(BLANK_REQUEST_ID);
  if (at < 0) throw new Error('A rendered answer must declare a request_id.');
  const idAt = at + BLANK_REQUEST_ID.length - 2;
  return {
    variant,
    stock: {},
    url: '',
    head: Buffer.from(json.slice(0, idAt)),
    tail: Buffer.from(json.slice(idAt + 2)),
    etag: entityTagOfBlank(json),
  };
}
