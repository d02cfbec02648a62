import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';

type Json = Record<string, unknown>;

/** `/docs` must read as a reference on its own: every operation and schema described, with an example. */
describe('OpenAPI reference', () => {
  let app: TestApp;
  let doc: { paths: Record<string, Record<string, Json>>; components: { schemas: Record<string, Json> } };
  beforeAll(async () => {
    app = await createTestApp();
    doc = (await app.api('GET', '/api/v1/openapi.json')).body;
  });
  afterAll(() => app.close());

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, operation]) => ({
        name: `${method.toUpperCase()} ${path}`,
        operation,
      })),
    );

  it('describes every operation and gives it a runnable curl sample', () => {
    const gaps = operations()
      .filter(({ operation }) => {
        const samples = operation['x-codeSamples'] as { source?: string }[] | undefined;
        return !operation.summary || !operation.description || !samples?.[0]?.source?.startsWith('curl -X ');
      })
      .map(({ name }) => name);
    expect(gaps).toEqual([]);
    expect(operations().length).toBeGreaterThan(50);
  });

  it('describes every component schema and gives it an example', () => {
    const gaps = Object.entries(doc.components.schemas)
      .filter(([, schema]) => !schema.description || schema.example === undefined)
      .map(([name]) => name);
    expect(gaps).toEqual([]);
  });

  it('gives every JSON request body an example that names the required fields', () => {
    for (const { name, operation } of operations()) {
      const media = (operation.requestBody as { content?: Record<string, Json> } | undefined)?.content?.[
        'application/json'
      ];
      if (!media) continue;
      // A raw-bytes body (a webhook) is a string whose example is the JSON text.
      const example = (typeof media.example === 'string' ? JSON.parse(media.example) : media.example) as Json;
      expect(example, name).toBeTypeOf('object');
      const schema = resolve(media.schema as Json);
      for (const field of (schema.required as string[] | undefined) ?? [])
        expect(example, name).toHaveProperty(field);
    }
  });

  it('keeps authors’ written examples: a checkout body carries real line items and the curl sample sends it', () => {
    const checkout = doc.paths['/api/v1/orders']!.post!;
    const sample = (checkout['x-codeSamples'] as { source: string }[])[0]!.source;
    expect(sample).toContain('-H "Authorization: Bearer $TOKEN"');
    expect(sample).toMatch(/-H "idempotency-key: \$IDEMPOTENCY_KEY"/i);
    const body = JSON.parse(/-d '(.*)'$/s.exec(sample)![1]!) as { items: { quantity: number }[] };
    expect(body.items[0]!.quantity).toBeGreaterThan(0);
  });

  function resolve(schema: Json): Json {
    const ref = schema.$ref as string | undefined;
    return ref ? doc.components.schemas[ref.split('/').pop()!]! : schema;
  }
});
