/**
 * Examples for the OpenAPI document, so `/docs` reads as a reference on its own: every component
 * schema and every JSON body gets an `example` composed from its fields' own examples (the ones
 * authors wrote with `.meta({ example })`), and every operation gets a copy-paste curl sample.
 * Written examples always win; composed ones only fill the gaps.
 */

type Json = Record<string, unknown>;

const MAX_DEPTH = 6;

/** Format-shaped values for fields whose author gave no example. */
const formatExamples: Record<string, unknown> = {
  uuid: '0192f5a4-7c1e-7a51-9f0e-3c2b8d4e6a10',
  'date-time': '2026-11-21T09:30:00.000Z',
  date: '2026-11-21',
  email: 'ada@example.com',
  uri: 'https://shop.example.com/products/oxford-shirt',
  ipv4: '203.0.113.7',
  ipv6: '2001:db8::7',
};

/** Values by field name, for common fields whose author gave no example. */
const fieldExamples: Record<string, string | number> = {
  sku: 'OXF-SHIRT-BLU-M',
  title: 'Oxford shirt',
  name: 'Ada Lovelace',
  handle: 'oxford-shirt',
  description: 'A soft cotton Oxford shirt with a button-down collar.',
  line1: 'Marktstraße 1',
  line2: '3rd floor',
  city: 'Berlin',
  region: 'Berlin',
  postal_code: '10115',
  country: 'DE',
  carrier: 'DHL',
  tracking_number: '00340434161234567890',
  note: 'Left with the neighbour.',
  reason: 'Stock count correction',
  code: '123456',
  amount: 1999,
  subtotal: 3998,
  shipping: 499,
  tax: 760,
  total: 5257,
  quantity: 2,
  page: 1,
  per_page: 20,
  total_pages: 3,
};

export class ExampleComposer {
  constructor(private readonly schemas: Record<string, Json>) {}

  /** An example value for a schema, or undefined when nothing sensible can be said. */
  exampleOf(schema: unknown, depth = 0): unknown {
    if (typeof schema !== 'object' || schema === null || depth > MAX_DEPTH) return undefined;
    const s = schema as Json;
    if (s.example !== undefined) return s.example;
    if (Array.isArray(s.examples) && s.examples.length > 0) return s.examples[0];
    if (s.const !== undefined) return s.const;
    if (s.default !== undefined) return s.default;
    if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum.find((v) => v !== null) ?? s.enum[0];
    if (typeof s.$ref === 'string') return this.exampleOf(this.resolve(s.$ref), depth + 1);
    for (const key of ['allOf', 'anyOf', 'oneOf'] as const) {
      const options = s[key] as unknown[] | undefined;
      if (!Array.isArray(options)) continue;
      if (key === 'allOf') {
        return Object.assign({}, ...options.map((o) => this.exampleOf(o, depth + 1) ?? {})) as unknown;
      }
      const nonNull = options.find((o) => (o as Json).type !== 'null') ?? options[0];
      return this.exampleOf(nonNull, depth + 1);
    }
    const types = (Array.isArray(s.type) ? s.type : [s.type]) as unknown[];
    const type = types.find((t) => t !== 'null');
    switch (type) {
      case 'object':
        return this.objectExample(s, depth);
      case 'array': {
        const item = this.exampleOf(s.items, depth + 1);
        const count = typeof s.minItems === 'number' ? Math.max(1, s.minItems) : 1;
        return item === undefined ? [] : Array.from({ length: count }, () => item);
      }
      case 'string':
        return stringExample(s, typeof s.format === 'string' ? formatExamples[s.format] : undefined);
      case 'integer':
      case 'number':
        return typeof s.minimum === 'number' && s.minimum > 0 ? s.minimum : 1;
      case 'boolean':
        return true;
      default:
        return undefined;
    }
  }

  private objectExample(s: Json, depth: number): Json {
    const out: Json = {};
    const required = new Set((s.required as string[] | undefined) ?? []);
    for (const [name, property] of Object.entries(
      (s.properties as Record<string, unknown> | undefined) ?? {},
    )) {
      const value = this.hasOwnExample(property)
        ? this.exampleOf(property, depth + 1)
        : this.fieldExample(name, property, depth);
      if (value !== undefined) out[name] = value;
      // A required field of any type (an event payload, say) still appears.
      else if (required.has(name)) out[name] = {};
    }
    return out;
  }

  private hasOwnExample(schema: unknown): boolean {
    const s = schema as Json;
    return (
      s.example !== undefined || s.examples !== undefined || s.enum !== undefined || s.const !== undefined
    );
  }

  /** A field's example from its name when its type agrees, else from its schema. */
  private fieldExample(name: string, property: unknown, depth: number): unknown {
    const value = this.exampleOf(property, depth + 1);
    const byName = fieldExamples[name];
    return byName !== undefined && typeof byName === typeof value ? byName : value;
  }

  private resolve(ref: string): unknown {
    const name = ref.split('/').pop()!;
    return this.schemas[name];
  }
}

/** Fills `example` on component schemas and JSON media types that have none. */
export function addExamples(doc: Json): void {
  const schemas = ((doc.components as Json | undefined)?.schemas ?? {}) as Record<string, Json>;
  const composer = new ExampleComposer(schemas);
  for (const schema of Object.values(schemas)) {
    if (schema.example === undefined && schema.examples === undefined) {
      const example = composer.exampleOf(schema);
      if (example !== undefined) schema.example = example;
    }
  }
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Record<string, Record<string, Json>>)) {
    for (const [method, operation] of Object.entries(item)) {
      if (typeof operation !== 'object' || operation === null || !('responses' in operation)) continue;
      const requestBody = operation.requestBody as { content?: Record<string, Json> } | undefined;
      for (const media of Object.values(requestBody?.content ?? {})) fillMediaExample(media, composer);
      for (const response of Object.values(
        operation.responses as Record<string, { content?: Record<string, Json> }>,
      )) {
        for (const media of Object.values(response.content ?? {})) fillMediaExample(media, composer);
      }
      operation['x-codeSamples'] ??= [
        { lang: 'Shell', label: 'curl', source: curlSample(method, path, operation) },
      ];
    }
  }
}

function fillMediaExample(media: Json, composer: ExampleComposer): void {
  if (media.example !== undefined || media.examples !== undefined || !media.schema) return;
  const example = composer.exampleOf(media.schema);
  if (
    example !== undefined &&
    (typeof example === 'object' || (media.schema && (media.schema as Json).example !== undefined))
  ) {
    media.example = example;
  }
}

/** Token-like filler for strings with a minimum length. */
const OPAQUE = 'q7Xw2fM9cL4tRzK8vN3bH6jY1pD5sG0aE2uWmQ9xTn4';

/** A string example that honours the schema's length and a URL pattern. */
function stringExample(s: Json, formatted: unknown): string {
  let value = typeof formatted === 'string' ? formatted : 'string';
  if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(value)) {
    const url = formatExamples.uri as string;
    if (new RegExp(s.pattern, 'u').test(url)) value = url;
  }
  const min = typeof s.minLength === 'number' ? s.minLength : 0;
  if (value.length < min) value = OPAQUE.repeat(Math.ceil(min / OPAQUE.length)).slice(0, Math.max(min, 32));
  const max = typeof s.maxLength === 'number' ? s.maxLength : Infinity;
  return value.slice(0, max);
}

/** A curl command for an operation, with the body's example and the auth it needs. */
function curlSample(method: string, path: string, operation: Json): string {
  const url = `"$BAZAAR/${path.replace(/^\//, '').replace(/\{(\w+)\}/g, (_, name: string) => `$${name.toUpperCase()}`)}"`;
  const lines = [`curl -X ${method.toUpperCase()} ${url}`];
  const security = (operation.security as Json[] | undefined) ?? [];
  if (security.some((requirement) => Object.keys(requirement).length > 0)) {
    lines.push(`-H "Authorization: Bearer $TOKEN"`);
  }
  for (const parameter of (operation.parameters as Json[] | undefined) ?? []) {
    if (parameter.in === 'header' && parameter.required === true) {
      lines.push(
        `-H "${String(parameter.name)}: $${String(parameter.name).toUpperCase().replaceAll('-', '_')}"`,
      );
    }
  }
  const requestBody = operation.requestBody as { content?: Record<string, Json> } | undefined;
  const [mediaType, media] = Object.entries(requestBody?.content ?? {})[0] ?? [];
  if (mediaType && media?.example !== undefined) {
    lines.push(`-H "Content-Type: ${mediaType}"`);
    const body = JSON.stringify(media.example).replaceAll("'", "'\\''");
    lines.push(`-d '${body}'`);
  }
  return lines.join(' \\\n  ');
}
