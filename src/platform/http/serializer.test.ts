import { createSerializerCompiler } from 'fastify-type-provider-zod';
import { describe, expect, it } from 'vitest';
import { z, type ZodType } from 'zod';
import { serializerCompiler } from './serializer.js';

const route = (schema: ZodType) => ({ schema, method: 'GET', url: '/t', httpStatus: '200' });
const viaZod = (schema: ZodType, data: unknown) =>
  (createSerializerCompiler({}) as unknown as typeof serializerCompiler)(route(schema))(data);
const compiled = (schema: ZodType, data: unknown) => serializerCompiler(route(schema))(data);

const variant = z.object({
  id: z.uuid(),
  sku: z.string(),
  price: z.number().int(),
  compare_at: z.number().int().nullable(),
  options: z.record(z.string(), z.string()),
  available: z.number().int(),
});
const envelope = z.object({
  request_id: z.string(),
  data: z.object({
    id: z.uuid(),
    title: z.string(),
    status: z.enum(['draft', 'active', 'archived']),
    created_at: z.iso.datetime(),
    description: z.string().optional(),
    tags: z.array(z.string()),
    variants: z.array(variant),
    category: z.object({ id: z.uuid(), name: z.string() }).nullable(),
    rating: z.union([z.number(), z.string()]),
  }),
});

const sample = {
  request_id: 'r-1',
  data: {
    id: '0b6b1b7e-3f0c-4a38-9c55-0d3c0f1e2a11',
    title: 'Linen shirt "classic" \u2014 \u00e9t\u00e9 \n',
    status: 'active',
    created_at: '2026-11-21T10:00:00.000Z',
    tags: ['linen', '</script>'],
    variants: [
      {
        id: '1b6b1b7e-3f0c-4a38-9c55-0d3c0f1e2a11',
        sku: 'SKU-1',
        price: 4900,
        compare_at: null,
        options: { size: 'M', colour: 'blue' },
        available: 3,
        internal_cost: 1200,
      },
    ],
    category: null,
    rating: 'n/a',
    secret: 'must not leak',
  },
};

describe('compiled response serialisation', () => {
  it('writes what the zod parse then JSON.stringify wrote', () => {
    expect(compiled(envelope, sample)).toBe(viaZod(envelope, sample));
    // Optional properties come after the required ones; the JSON is the same.
    const withOptional = { ...sample, data: { ...sample.data, description: 'd', rating: 4.5 } };
    expect(JSON.parse(compiled(envelope, withOptional))).toEqual(JSON.parse(viaZod(envelope, withOptional)));
  });

  it('drops properties the schema does not declare', () => {
    const body = JSON.parse(compiled(envelope, sample));
    expect(body.data.secret).toBeUndefined();
    expect(body.data.variants[0].internal_cost).toBeUndefined();
  });

  it('refuses an answer that lacks a required property instead of sending it', () => {
    const { title: _title, ...untitled } = sample.data;
    expect(() => compiled(envelope, { ...sample, data: untitled })).toThrow(/title/);
  });

  it("keeps zod's parse for a schema JSON Schema cannot express", () => {
    const transformed = z.object({ n: z.number().transform((n) => n * 2) });
    expect(compiled(transformed, { n: 2 })).toBe('{"n":4}');
  });
});
