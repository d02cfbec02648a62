/**
 * Finishes the generated OpenAPI document: headers every response carries, security
 * requirements, and bounds that zod's JSON Schema output leaves implicit. Runs once per
 * document build (@fastify/swagger's transformObject), never per request.
 */

import { addExamples } from './openapi-examples.js';

type Json = Record<string, unknown>;

const header = (description: string, schema: Json = { type: 'string', maxLength: 128 }) => ({
  description,
  schema,
});

const commonHeaders = {
  'X-Request-Id': header(
    'Echo of the request id (the caller’s X-Request-Id when well-formed, else a UUID).',
    {
      type: 'string',
      maxLength: 128,
      pattern: '^[\\w.:-]{1,128}$',
    },
  ),
  'RateLimit-Limit': header('Requests allowed in the current window for this caller and endpoint.', {
    type: 'integer',
    format: 'int32',
    minimum: 0,
    maximum: 1_000_000,
  }),
  'RateLimit-Remaining': header('Requests left in the current window.', {
    type: 'integer',
    format: 'int32',
    minimum: 0,
    maximum: 1_000_000,
  }),
  'RateLimit-Reset': header('Seconds until the window resets.', {
    type: 'integer',
    format: 'int32',
    minimum: 0,
    maximum: 86_400,
  }),
  'Access-Control-Allow-Origin': header('Present when the request’s Origin is one of CORS_ORIGINS.', {
    type: 'string',
    format: 'uri',
    maxLength: 2048,
  }),
};

const retryAfter = header('Seconds to wait before retrying.', {
  type: 'integer',
  format: 'int32',
  minimum: 1,
  maximum: 86_400,
});

/** String formats whose length is bounded by the format itself. */
const formatMaxLength: Record<string, number> = {
  uuid: 36,
  'date-time': 35,
  date: 10,
  email: 254,
  uri: 2048,
  ipv4: 15,
  ipv6: 45,
};

export function finishOpenApiDocument(doc: Json): Json {
  const servers = (doc.servers as Json[] | undefined) ?? [];
  for (const server of servers) {
    server['x-internal'] = false;
    server.description ??= 'production';
  }
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Json>>;
  for (const [path, item] of Object.entries(paths)) {
    for (const operation of Object.values(item)) {
      if (typeof operation !== 'object' || operation === null || !('responses' in operation)) continue;
      if (operation.security === undefined) operation.security = [{}];
      else if (path.includes('/admin')) operation.security = [{ adminBearerAuth: [] }];
      for (const [status, response] of Object.entries(operation.responses as Record<string, Json>)) {
        response.headers = {
          ...commonHeaders,
          ...(status === '429' || status === '503' ? { 'Retry-After': retryAfter } : {}),
          ...(response.headers as Json | undefined),
        };
      }
    }
  }
  boundSchemas(doc);
  dropUnusedComponents(doc);
  addExamples(doc);
  const tags = Object.values(paths).flatMap((item) =>
    Object.values(item).flatMap((op) => (op.tags as string[] | undefined) ?? []),
  );
  doc.tags = [...new Set(tags)].sort().map((name) => ({ name, description: tagDescriptions[name] ?? name }));
  return doc;
}

const tagDescriptions: Record<string, string> = {
  auth: 'Sign-up, sign-in, tokens, sessions, passwords, two-factor and e-mail verification.',
  oauth: 'OAuth 2.0 token endpoint and discovery documents for API clients.',
  users: 'Profiles, preferences, data export and erasure; user administration.',
  audit: 'The append-only log of sensitive actions.',
  jobs: 'Background jobs: queue health, dead letters and their replay.',
  reports: 'The shop overview: orders, revenue, sign-ups and what needs attention.',
  catalog: 'Products, variants and categories: public browsing and search, admin management and import.',
  inventory: 'Stock per variant: levels, adjustments and movements (admin).',
  orders: 'Checkout with idempotency keys, the order lifecycle and its history, shipping and tax settings.',
  payments: 'Payments through a gateway, signed gateway webhooks, refunds and PDF invoices.',
  notifications: 'The e-mail log and the operator’s e-mail templates.',
  operations: 'Health and readiness.',
};

const REF = /#\/components\/schemas\/([\w.-]+)/g;

/** zod emits request ("…Input") copies of every named schema; keep only the ones referenced. */
function dropUnusedComponents(doc: Json): void {
  const schemas = (doc.components as { schemas?: Record<string, Json> } | undefined)?.schemas;
  if (!schemas) return;
  for (const schema of Object.values(schemas)) {
    delete schema.$id;
    delete schema.$schema;
  }
  const outside = JSON.stringify({ ...doc, components: { ...(doc.components as Json), schemas: undefined } });
  const referenced = new Set([...outside.matchAll(REF)].map((m) => m[1]!));
  const pending = [...referenced];
  while (pending.length > 0) {
    for (const m of JSON.stringify(schemas[pending.pop()!] ?? {}).matchAll(REF)) {
      if (!referenced.has(m[1]!)) {
        referenced.add(m[1]!);
        pending.push(m[1]!);
      }
    }
  }
  for (const name of Object.keys(schemas)) if (!referenced.has(name)) delete schemas[name];
}

function boundSchemas(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) boundSchemas(item);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const schema = node as Json;
  if (schema.type === 'integer' || (Array.isArray(schema.type) && schema.type.includes('integer'))) {
    schema.format ??= 'int64';
    if (schema.minimum === undefined && schema.exclusiveMinimum === undefined)
      schema.minimum = Number.MIN_SAFE_INTEGER;
    if (schema.maximum === undefined && schema.exclusiveMaximum === undefined)
      schema.maximum = Number.MAX_SAFE_INTEGER;
  }
  if (schema.type === 'string' && schema.maxLength === undefined && typeof schema.format === 'string') {
    const max = formatMaxLength[schema.format];
    if (max) schema.maxLength = max;
  }
  for (const value of Object.values(schema)) boundSchemas(value);
}
