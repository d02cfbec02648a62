import Fastify from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { entityTag, httpCacheHook } from './http-cache.js';
import { RenderedAnswers } from './rendered.js';
import { serializerCompiler } from './serializer.js';

const answer = z.object({
  request_id: z.string(),
  data: z.object({ title: z.string(), available: z.number().int() }),
});

describe('answers rendered once', () => {
  const app = Fastify({ genReqId: () => `req-${Math.random().toString(36).slice(2)}` });
  const sources = { a: { title: 'Linen shirt "classic" — été' }, b: { title: 'Wool scarf' } };
  // `stock` stands for the stock answer the route got: the same object while nothing changed.
  const state = { source: sources.a, available: 3, stock: {}, builds: 0, variants: 0 };
  const answers = new RenderedAnswers<object>();

  beforeAll(async () => {
    app.setSerializerCompiler(serializerCompiler as Parameters<typeof app.setSerializerCompiler>[0]);
    app
      .withTypeProvider<ZodTypeProvider>()
      .get(
        '/thing',
        { schema: { response: { 200: answer } }, onSend: [httpCacheHook('public', 30)] },
        async (request, reply) => {
          const { source, available, stock } = state;
          const variant = () => {
            state.variants += 1;
            return String(available);
          };
          return answers.send(request, reply, source, stock, variant, () => {
            state.builds += 1;
            // `secret` is not in the schema: the route's serialiser must drop it, as for any answer.
            return { request_id: request.id, data: { ...source, available, secret: 'x' } };
          });
        },
      );
    await app.ready();
  });
  afterAll(() => app.close());

  const get = (headers: Record<string, string> = {}) => app.inject({ method: 'GET', url: '/thing', headers });

  it('serialises once per source and variant; each answer carries its own request id and the same ETag', async () => {
    state.builds = 0;
    const [first, second] = [await get(), await get()];
    expect(state.builds).toBe(1);
    for (const res of [first, second]) {
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.json()).toEqual({ request_id: res.json().request_id, data: { ...sources.a, available: 3 } });
      // The tag is the one a body hashed afresh would get.
      expect(res.headers.etag).toBe(entityTag(res.body, res.json().request_id));
    }
    expect(first.json().request_id).not.toBe(second.json().request_id);
    expect(second.headers.etag).toBe(first.headers.etag);

    const notModified = await get({ 'if-none-match': first.headers.etag! });
    expect(notModified.statusCode).toBe(304);
    expect(notModified.body).toBe('');
    expect(state.builds).toBe(1);
  });

  it('renders again when the variant or the source changes', async () => {
    state.builds = 0;
    const before = await get();
    state.available = 0;
    state.stock = {};
    const sold = await get();
    expect(sold.json().data.available).toBe(0);
    expect(sold.headers.etag).not.toBe(before.headers.etag);
    state.source = sources.b;
    state.stock = {};
    const other = await get();
    expect(other.json().data).toEqual({ ...sources.b, available: 0 });
    // The first answer was still the one rendered before; the two changes rendered once each.
    expect(state.builds).toBe(2);
    await get();
    expect(state.builds).toBe(2);
  });

  it('computes the variant only when the stock object or the URL differs from the last request', async () => {
    state.source = sources.a;
    state.available = 5;
    state.stock = {};
    await get();
    state.builds = 0;
    state.variants = 0;
    await get();
    await get();
    expect(state.variants).toBe(0);
    // The same stock read afresh (a new object, the same units): the variant is computed, and the
    // answer already rendered still serves.
    state.stock = {};
    const again = await get();
    expect(again.json().data.available).toBe(5);
    expect(state.variants).toBe(1);
    await app.inject({ method: 'GET', url: '/thing?utm=mail' });
    expect(state.variants).toBe(2);
    expect(state.builds).toBe(0);
    // New units under a new stock object: rendered again.
    state.available = 4;
    state.stock = {};
    expect((await get()).json().data.available).toBe(4);
    expect(state.builds).toBe(1);
  });
});
