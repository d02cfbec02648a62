import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * Every environment variable Bazaar reads, validated once at startup. `docs/configuration.md`
 * and the README table are generated from `configDocs` below, so a variable exists in one place.
 * Any variable may instead be given as `<NAME>_FILE`, a path whose contents are the value
 * (for secrets mounted as files by Docker or Kubernetes).
 */

const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
const url = (protocols: string[]) =>
  z.url().refine((value) => protocols.some((p) => value.startsWith(`${p}:`)), {
    message: `must start with ${protocols.map((p) => `${p}://`).join(' or ')}`,
  });

interface VarDoc {
  description: string;
  example?: string;
}

const vars = {
  NODE_ENV: [
    z.enum(['development', 'production', 'test']).default('development'),
    { description: 'Runtime mode; `production` hides development hints.' },
  ],
  PORT: [
    z.coerce.number().int().min(0).max(65535).default(3000),
    { description: 'TCP port of the HTTP server.' },
  ],
  HOST: [
    z.string().min(1).default('127.0.0.1'),
    { description: 'Interface to listen on; `0.0.0.0` in containers.', example: '0.0.0.0' },
  ],
  PUBLIC_URL: [
    url(['http', 'https']).optional(),
    {
      description:
        'Public base URL used in links, e-mails and as the JWT issuer. Default `http://localhost:<PORT>`.',
      example: 'https://shop.example.com',
    },
  ],
  DATA_DIR: [
    z.string().min(1).default('./data'),
    { description: 'Directory for the embedded database, mail files and signing keys.' },
  ],
  DATABASE_URL: [
    url(['postgres', 'postgresql']).optional(),
    {
      description:
        'PostgreSQL (15+) connection URL. Unset: embedded PGlite in `DATA_DIR/db` (development only).',
      example: 'postgres://bazaar:secret@db:5432/bazaar',
    },
  ],
  DATABASE_READ_URL: [
    url(['postgres', 'postgresql']).optional(),
    {
      description:
        'Read replica (streaming standby) for read-only storefront queries: catalog browsing and search. Writes and read-your-own-write paths always use `DATABASE_URL`. Unset: everything reads the primary.',
      example: 'postgres://bazaar:secret@db-replica:5432/bazaar',
    },
  ],
  DATABASE_PREPARE: [
    flag(true),
    {
      description:
        'Use named prepared statements. Set `false` when `DATABASE_URL` points to PgBouncer in transaction pooling mode older than 1.21 (or without `max_prepared_statements`).',
    },
  ],
  DATABASE_POOL_SIZE: [
    z.coerce.number().int().min(1).max(200).default(10),
    { description: 'Maximum PostgreSQL connections per process.' },
  ],
  REDIS_URL: [
    url(['redis', 'rediss']).optional(),
    {
      description:
        'Redis URL for shared rate-limit counters, the read cache and worker wake-ups. Unset: in-process memory; workers are woken by PostgreSQL LISTEN/NOTIFY (in-process when embedded).',
      example: 'redis://redis:6379/0',
    },
  ],
  REDIS_KEY_PREFIX: [
    z
      .string()
      .regex(/^[\w:.-]{1,64}$/)
      .default('bazaar:'),
    { description: 'Prefix of every Redis key, so several deployments can share one Redis.' },
  ],
  CACHE_TTL_CATALOG: [
    z.coerce.number().int().min(0).max(86_400).default(900),
    {
      description:
        'Seconds the read cache (Redis when `REDIS_URL` is set, else in-process) keeps product details, product list and search pages, the category tree and search’s word corrections. 0 turns the catalog cache off. Catalog writes invalidate it at once.',
    },
  ],
  CACHE_TTL_USER: [
    z.coerce.number().int().min(0).max(86_400).default(3600),
    { description: 'Seconds the read cache keeps user profiles and preferences; 0 turns it off.' },
  ],
  CACHE_TTL_ORDER: [
    z.coerce.number().int().min(0).max(86_400).default(300),
    { description: 'Seconds the read cache keeps an order’s status and details; 0 turns it off.' },
  ],
  CACHE_TTL_STOCK: [
    z.coerce.number().int().min(0).max(60).default(5),
    {
      description:
        'Seconds a server may answer storefront stock (`available`) from its own copy. Every stock change drops the copies at once: in the process that made it on commit, in the others by Redis pub/sub (else PostgreSQL `NOTIFY`). The TTL bounds how stale a copy gets when such a message is lost. 0 reads stock from the database for every answer. Orders always check stock in the database.',
    },
  ],
  CACHE_PUBLIC_MAX_AGE: [
    z.coerce.number().int().min(0).max(86_400).default(30),
    {
      description:
        'The `max-age` browsers and CDNs may keep public catalog answers (`Cache-Control: public`); they revalidate with `ETag`. 0 = revalidate every time.',
    },
  ],
  SMTP_URL: [
    url(['smtp', 'smtps']).optional(),
    {
      description:
        'SMTP server for outgoing mail. Unset: mail is written as `.eml` files to `DATA_DIR/mail`.',
      example: 'smtp://user:pass@mail.example.com:587',
    },
  ],
  MAIL_FROM: [
    z.string().min(3).default('Bazaar <no-reply@bazaar.local>'),
    { description: 'From address of outgoing mail.' },
  ],
  WELCOME_EMAIL_DELAY: [
    z.coerce.number().int().min(0).max(604_800).default(600),
    {
      description:
        'Seconds after sign-up before the welcome e-mail is considered. It is marketing mail, sent only if the customer has opted in (`marketing_emails`) by then, so onboarding gets time to ask.',
    },
  ],
  LOG_LEVEL: [
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    { description: 'pino log level.' },
  ],
  OTEL_EXPORTER_OTLP_ENDPOINT: [
    url(['http', 'https']).optional(),
    {
      description:
        'OpenTelemetry collector (OTLP over HTTP); traces of requests, queries, cache and jobs are sent to `<endpoint>/v1/traces`. Unset: no tracing, no overhead.',
      example: 'http://otel-collector:4318',
    },
  ],
  OTEL_SERVICE_NAME: [
    z.string().min(1).max(100).default('bazaar'),
    { description: 'The `service.name` of exported traces.' },
  ],
  TRUST_PROXY: [
    z.string().optional(),
    {
      description:
        'Proxies whose `X-Forwarded-*` headers are trusted: `true`, a hop count, or comma-separated IPs/CIDRs. Unset: none.',
      example: '10.0.0.0/8,127.0.0.1',
    },
  ],
  CORS_ORIGINS: [
    z.string().optional(),
    {
      description: 'Comma-separated origins allowed by CORS. Unset: no cross-origin access.',
      example: 'https://shop.example.com',
    },
  ],
  BODY_LIMIT: [
    z.coerce.number().int().min(1024).default(1_048_576),
    { description: 'Largest accepted request body in bytes.' },
  ],
  JSON_DEPTH_LIMIT: [
    z.coerce.number().int().min(2).max(1000).default(32),
    { description: 'Deepest nesting of objects and arrays accepted in a JSON body; deeper is a 400.' },
  ],
  REQUEST_TIMEOUT: [
    z.coerce.number().int().min(0).default(30),
    {
      description:
        'Seconds a client has to send a whole request (headers and body) before the connection is closed; `0` = no limit.',
    },
  ],
  HANDLER_TIMEOUT: [
    z.coerce.number().int().min(0).default(30),
    {
      description:
        'Seconds from receiving a request to answering it before the server gives up with 503 `SERVICE_UNAVAILABLE`; `0` = no limit.',
    },
  ],
  COMPRESSION_THRESHOLD: [
    z.coerce.number().int().min(0).default(1024),
    {
      description:
        'Answers of at least this many bytes are compressed (br or gzip) when the client accepts it.',
    },
  ],
  TLS_CERT_FILE: [
    z.string().min(1).optional(),
    {
      description:
        'PEM certificate (chain) file; with `TLS_KEY_FILE` the server speaks HTTPS itself. Unset: plain HTTP (behind a TLS proxy).',
      example: '/run/secrets/tls.crt',
    },
  ],
  TLS_KEY_FILE: [
    z.string().min(1).optional(),
    { description: 'PEM private key file of `TLS_CERT_FILE`.', example: '/run/secrets/tls.key' },
  ],
  HSTS_MAX_AGE: [
    z.coerce.number().int().min(0).default(31_536_000),
    {
      description:
        'max-age of `Strict-Transport-Security`, sent over native TLS or when a trusted proxy reports HTTPS (`X-Forwarded-Proto`).',
    },
  ],
  RATE_LIMIT_DEFAULT: [
    z.coerce.number().int().positive().default(600),
    { description: 'Requests per minute per user (or IP) for an endpoint without its own limit.' },
  ],
  RATE_LIMITS: [
    z
      .string()
      .regex(
        /^\s*([A-Z]+ \/\S*=\d+\/\d+\s*)(,\s*[A-Z]+ \/\S*=\d+\/\d+\s*)*$/,
        'expected "METHOD /path=limit/windowSeconds, …"',
      )
      .optional(),
    {
      description:
        'Per-endpoint overrides of the built-in limits: `METHOD /route=limit/windowSeconds`, comma-separated.',
      example: 'GET /api/v1/users=200/60,POST /api/v1/orders=60/60',
    },
  ],
  RATE_LIMIT_STORE_DOWN: [
    z.enum(['auth-closed', 'open', 'closed']).default('auth-closed'),
    {
      description:
        'While Redis is unreachable: `auth-closed` refuses sign-in and other credential endpoints (503) and serves the rest without limits; `open` serves everything; `closed` refuses everything that is rate limited.',
    },
  ],
  IDEMPOTENCY_LOCK_SECONDS: [
    z.coerce.number().int().min(1).max(3600).default(60),
    {
      description:
        'How long a running request holds its `Idempotency-Key`: retries meanwhile get 409 `IDEMPOTENCY_KEY_IN_USE`. If the server handling it dies, a retry proceeds after this many seconds.',
    },
  ],
  BAZAAR_ADMIN_EMAIL: [
    z.email().default('admin@bazaar.local'),
    { description: 'E-mail of the admin account created on first start.' },
  ],
  BAZAAR_ADMIN_PASSWORD: [
    z.string().min(12).max(256).optional(),
    { description: 'Password of that admin account. Unset: a random one is generated and printed once.' },
  ],
  SEED_DEMO_DATA: [
    flag(true),
    {
      description:
        'On first start, create the admin account; on the embedded default also a demo catalog (1,200 products). `bazaar seed` does both on any database.',
    },
  ],
  JWT_AUDIENCE: [
    z.string().min(1).default('bazaar-api'),
    { description: 'The `aud` claim of access tokens.' },
  ],
  ACCESS_TOKEN_TTL: [seconds(900), { description: 'Access token lifetime in seconds.' }],
  REFRESH_TOKEN_TTL: [
    seconds(30 * 24 * 3600),
    { description: 'Absolute lifetime of a sign-in session (refresh token family) in seconds.' },
  ],
  KEY_ENCRYPTION_KEY: [
    z.string().min(32).optional(),
    {
      description:
        'Secret (≥ 32 characters) that encrypts JWT signing keys at rest. Unset: keys are stored unencrypted.',
    },
  ],
  PASSWORD_RESET_TTL: [seconds(3600), { description: 'Lifetime of a password reset link in seconds.' }],
  EMAIL_VERIFICATION_TTL: [
    seconds(48 * 3600),
    { description: 'Lifetime of an e-mail verification link in seconds.' },
  ],
  MFA_CHALLENGE_TTL: [
    seconds(300),
    { description: 'Time to enter the second factor after the password, in seconds.' },
  ],
  LOGIN_LIMIT_PER_ACCOUNT: [
    z.coerce.number().int().positive().default(5),
    { description: 'Failed sign-ins allowed per account per `LOGIN_LIMIT_WINDOW`.' },
  ],
  LOGIN_LIMIT_PER_IP: [
    z.coerce.number().int().positive().default(30),
    { description: 'Sign-in attempts allowed per client IP per `LOGIN_LIMIT_WINDOW`.' },
  ],
  LOGIN_LIMIT_WINDOW: [seconds(900), { description: 'Window of the sign-in limits, in seconds.' }],
  WORKER_CONCURRENCY: [
    z.coerce.number().int().min(1).max(100).default(4),
    { description: 'Jobs each worker process handles at once per queue.' },
  ],
  JOB_RETRY_LIMIT: [
    z.coerce.number().int().min(0).max(50).default(5),
    { description: 'Retries of a failed job before it goes to the dead-letter queue.' },
  ],
  JOB_RETRY_DELAY: [seconds(5), { description: 'First retry delay in seconds; doubles on each retry.' }],
  JOB_POLL_INTERVAL: [
    z.coerce.number().min(0.5).max(3_600).optional(),
    {
      description:
        "Seconds between an idle worker's looks for jobs (0.5 or more). Jobs due now wake their workers as the transaction that added them commits; polling finds the rest: delayed jobs, retries, and jobs whose wake-up was lost. Unset: 1 (0.5 when `NODE_ENV=test`).",
      example: '5',
    },
  ],
  JOB_EXPIRE_SECONDS: [
    z.coerce.number().int().min(2).max(86_400).default(300),
    {
      description:
        'Longest a job may run. A job held by a worker that died (killed, machine lost) is handed to another worker after this many seconds (checked every half of it, at most every 120 s).',
    },
  ],
  LOW_STOCK_THRESHOLD: [
    z.coerce.number().int().min(0).max(1_000_000).default(5),
    {
      description:
        'A variant is low on stock when its available units fall below this (unless the variant sets its own threshold); crossing it publishes `inventory.low_stock`.',
    },
  ],
  ORDER_HOLD_MINUTES: [
    z.coerce.number().int().min(1).max(10_080).default(30),
    {
      description:
        'Minutes an unpaid order keeps its reserved stock; after that the `orders.expire` job cancels it and releases the stock.',
    },
  ],
  TEST_GATEWAY_ENABLED: [
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .optional()
      .transform((v) => (v === undefined ? undefined : v === 'true' || v === '1' || v === 'yes')),
    {
      description:
        'Offer the built-in test payment gateway (test cards, no real money). Unset: on, except when `NODE_ENV=production`.',
    },
  ],
  TEST_GATEWAY_WEBHOOK_URL: [
    url(['http', 'https']).optional(),
    {
      description:
        'Where the test gateway delivers its webhooks. Default `<PUBLIC_URL>/api/v1/webhooks/test`.',
      example: 'http://127.0.0.1:3000/api/v1/webhooks/test',
    },
  ],
  TEST_GATEWAY_WEBHOOK_SECRET: [
    z.string().min(16).optional(),
    {
      description:
        'Secret (≥ 16 characters) that signs the test gateway’s webhooks. Unset: generated once and kept in the database, shared by every server.',
    },
  ],
  STRIPE_SECRET_KEY: [
    z
      .string()
      .regex(/^(sk|rk)_\w+$/, 'expected a Stripe secret key (sk_… or rk_…)')
      .optional(),
    {
      description:
        'Stripe secret API key; with `STRIPE_WEBHOOK_SECRET` it enables the `stripe` payment gateway.',
      example: 'sk_live_…',
    },
  ],
  STRIPE_WEBHOOK_SECRET: [
    z.string().min(8).optional(),
    {
      description: 'Signing secret of the Stripe webhook endpoint `<PUBLIC_URL>/api/v1/webhooks/stripe`.',
      example: 'whsec_…',
    },
  ],
  STRIPE_API_BASE: [
    url(['http', 'https']).optional(),
    {
      description: 'Base URL of the Stripe API (tests and proxies). Unset: `https://api.stripe.com`.',
      example: 'http://127.0.0.1:12111',
    },
  ],
  WEBHOOK_TOLERANCE_SECONDS: [
    seconds(300),
    {
      description:
        'Payment webhooks whose signed timestamp is older or newer than this many seconds are refused (replay protection).',
    },
  ],
  SHOP_NAME: [
    z.string().min(1).max(200).default('Bazaar'),
    { description: 'The seller’s name on invoices and in e-mails (`{{shop_name}}`).' },
  ],
  SHOP_ADDRESS: [
    z.string().max(1000).optional(),
    {
      description: 'The seller’s address on invoices; lines separated by `|`.',
      example: 'Bazaar GmbH|Marktstraße 1|10115 Berlin|Germany',
    },
  ],
  HEAP_GROWING_PERCENT: [
    z.coerce.number().int().min(0).max(400).default(50),
    {
      description:
        'How far V8 lets the heap grow past what survived the last full garbage collection before collecting again, in percent. The default keeps a server under load below ~200 MB RSS (V8’s own policy let it reach ~280 MB) at the cost of more frequent collections: some milliseconds of p99 (bench/README.md). `0` restores V8’s policy.',
      example: '100',
    },
  ],
  SHUTDOWN_TIMEOUT: [
    seconds(15),
    { description: 'Seconds to finish in-flight work on SIGTERM before exiting.' },
  ],
  SHUTDOWN_DRAIN_DELAY: [
    z.coerce.number().int().min(0).max(300).default(0),
    {
      description:
        'Seconds between SIGTERM and closing the listener, during which `/readyz` answers 503 while requests are still served, so a load balancer or Kubernetes stops routing here first.',
      example: '5',
    },
  ],
} satisfies Record<string, [z.ZodType, VarDoc]>;

type Vars = typeof vars;
export type Env = { [K in keyof Vars]: z.output<Vars[K][0]> };

export interface Config extends Env {
  publicUrl: string;
  dataDir: string;
  embedded: boolean;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const configDocs = Object.entries(vars).map(([name, [schema, doc]]) => {
  const parsed = (schema as z.ZodType).safeParse(undefined);
  const value: unknown = parsed.success ? parsed.data : undefined;
  const fallback =
    typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
      ? `${value}`
      : undefined;
  return { name, default: fallback, description: doc.description, example: (doc as VarDoc).example };
});

function readVar(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const fileVar = env[`${name}_FILE`];
  if (fileVar) {
    try {
      return readFileSync(fileVar, 'utf8').trim();
    } catch {
      throw new ConfigError(`${name}_FILE points to "${fileVar}", which cannot be read.`);
    }
  }
  const value = env[name];
  return value === '' ? undefined : value;
}

/** Reads and validates the environment; throws a ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const out: Record<string, unknown> = {};
  for (const [name, [schema]] of Object.entries(vars)) {
    const raw = readVar(env, name);
    const result = (schema as z.ZodType).safeParse(raw);
    if (!result.success) {
      const reason = result.error.issues[0]?.message ?? 'invalid value';
      throw new ConfigError(`${name} is invalid (${reason}); got "${raw}". ${describe(name)}`);
    }
    out[name] = result.data;
  }
  const values = out as Env;
  if ((values.TLS_CERT_FILE === undefined) !== (values.TLS_KEY_FILE === undefined)) {
    throw new ConfigError('TLS_CERT_FILE and TLS_KEY_FILE go together: set both to serve HTTPS, or neither.');
  }
  if (values.DATABASE_READ_URL && !values.DATABASE_URL) {
    throw new ConfigError('DATABASE_READ_URL is set without DATABASE_URL; a read replica needs a primary.');
  }
  return {
    ...values,
    publicUrl: (values.PUBLIC_URL ?? `http://localhost:${values.PORT}`).replace(/\/$/, ''),
    dataDir: path.resolve(values.DATA_DIR),
    embedded: values.DATABASE_URL === undefined,
  };
}

function describe(name: string): string {
  const doc = configDocs.find((d) => d.name === name);
  return doc ? `Expected: ${doc.description}` : '';
}
