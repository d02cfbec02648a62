import { randomUUID } from 'node:crypto';
import { constants as zlibConstants } from 'node:zlib';
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifySchema,
} from 'fastify';
import compress from '@fastify/compress';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Cache } from '../cache/cache.js';
import type { Actor, Context } from '../context.js';
import type { Database } from '../db/client.js';
import { AppError } from '../errors.js';
import { requestLoggerFactory, type Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { SecretBox } from '../security/secret-box.js';
import { errorEnvelope } from './envelope.js';
import {
  idempotencyErrors,
  idempotencyHeaderSchema,
  idempotencyHooks,
  REPLAYED_HEADER,
  type IdempotencyClaim,
  type IdempotencyMode,
} from './idempotency.js';
import { httpCacheHook, notModifiedResponse } from './http-cache.js';
import { finishOpenApiDocument } from './openapi.js';
import { limitJsonDepth } from './json-depth.js';
import { rateLimiterFor, type RateLimitOptions } from './rate-limit.js';
import { serializerCompiler } from './serializer.js';
import {
  endRequestSpan,
  inRequestSpan,
  recordRequestError,
  requestTraceId,
  startRequestSpan,
} from './request-tracing.js';
import { docsCsp, securityHeaders } from './security-headers.js';
import { sendError, toErrorBody } from './errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The permission a route needs; `authenticated` = any signed-in actor. Unset = public. */
    permission?: string;
    /** Honour an `Idempotency-Key` header (see idempotency.ts); `required` refuses requests without one. */
    idempotency?: IdempotencyMode;
  }
  interface FastifyRequest {
    actor: Actor | null;
    /** The claimed Idempotency-Key of this request, on routes that opt in and got one. */
    idempotency: IdempotencyClaim | null;
  }
  interface FastifyInstance {
    db: Database;
    /** The read replica (or the primary when none is configured): see `readContextOf`. */
    readDb: Database;
    cache: Cache | undefined;
  }
}

/** Resolves a bearer token to an actor, or throws AppError('AUTH_FAILED'). Supplied by the auth module. */
export interface Authenticator {
  authenticate(token: string): Promise<Actor>;
}

export interface HttpOptions {
  logger: Logger;
  metrics: Metrics;
  db: Database;
  /** Lag-tolerant reads (DATABASE_READ_URL); defaults to `db`. */
  readDb?: Database;
  bodyLimit: number;
  /** Deepest accepted nesting of a JSON body. */
  jsonDepthLimit: number;
  /** Milliseconds to receive a whole request (slow-client protection); 0 = none. */
  requestTimeoutMs: number;
  /** Milliseconds from routing to the answer before a 503; 0 = none. */
  handlerTimeoutMs: number;
  /** Answers at least this many bytes long are compressed (gzip or br) when the client accepts it. */
  compressionThreshold: number;
  /** PEM certificate and key: serve HTTPS natively. */
  tls?: { cert: Buffer; key: Buffer };
  hstsMaxAgeSeconds: number;
  trustProxy?: string;
  corsOrigins?: string;
  publicUrl: string;
  version: string;
  rateLimit: RateLimitOptions;
  /** How long a running request holds its Idempotency-Key (IDEMPOTENCY_LOCK_SECONDS). */
  idempotencyLockSeconds?: number;
  /** Seals stored idempotent responses at rest (KEY_ENCRYPTION_KEY); unset stores them as text. */
  keyEncryptionKey?: string;
  /** The read cache handed to services through their context. */
  cache?: Cache;
  /** `max-age` of routes with `config.httpCache: 'public'` (CACHE_PUBLIC_MAX_AGE). */
  publicCacheMaxAge?: number;
}

export type App = FastifyInstance & { withTypeProvider: FastifyInstance['withTypeProvider'] };

const REQUEST_ID = /^[\w.:-]{1,128}$/;
const SECRET_QUERY = /([?&](?:token|code|secret|client_secret|refresh_token)=)[^&]*/gi;

export function parseTrustProxy(value: string | undefined): boolean | number | string[] | undefined {
  if (value === undefined) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (/^\d+$/.test(value)) return Number(value);
  return value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}

/** The Fastify instance with every cross-cutting concern; modules add their routes to it. */
export async function createHttpServer(options: HttpOptions, authenticator: () => Authenticator) {
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit,
    requestTimeout: options.requestTimeoutMs,
    // An idle socket is closed once neither the request nor its handler can still be in time.
    connectionTimeout:
      options.requestTimeoutMs && options.handlerTimeoutMs
        ? options.requestTimeoutMs + options.handlerTimeoutMs
        : 0,
    handlerTimeout: options.handlerTimeoutMs || undefined,
    // An HTTPS server has the same request API; its distinct server type changes nothing here.
    ...((options.tls ? { https: options.tls } : {}) as object),
    trustProxy: parseTrustProxy(options.trustProxy) as boolean | string[] | undefined,
    // Our own onResponse log line carries route, status and duration; Fastify's two lines per request are noise.
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    childLoggerFactory: requestLoggerFactory as never,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler as Parameters<typeof app.setSerializerCompiler>[0]);
  app.decorate('db', options.db);
  app.decorate('readDb', options.readDb ?? options.db);
  app.decorate('cache', options.cache);
  app.decorateRequest('actor', null);
  app.decorateRequest('idempotency', null);

  limitJsonDepth(app as unknown as FastifyInstance, options.jsonDepthLimit);
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  if (options.corsOrigins) {
    await app.register(cors, {
      origin: options.corsOrigins.split(',').map((o) => o.trim()),
      credentials: true,
      exposedHeaders: [
        'X-Request-Id',
        'RateLimit-Limit',
        'RateLimit-Remaining',
        'RateLimit-Reset',
        'Retry-After',
        'ETag',
        REPLAYED_HEADER,
      ],
    });
  }

  // Hooks that run on every request and never wait are synchronous: an async hook costs a
  // promise and a microtask per request.
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('X-Request-Id', request.id);
    startRequestSpan(request);
    done();
  });

  app.addHook(
    'onSend',
    securityHeaders({ tls: options.tls !== undefined, hstsMaxAgeSeconds: options.hstsMaxAgeSeconds }),
  );

  // A GET or HEAD request has no body to decompress: such routes skip compress' preParsing hook.
  // (This onRoute hook runs before compress' own, which reads the flag.)
  app.addHook('onRoute', (route) => {
    if (toArray(route.method).every((m) => m === 'GET' || m === 'HEAD')) route.decompress ??= false;
  });

  // Route-level: each route registered from here on compresses answers above the threshold.
  await app.register(compress, {
    global: true,
    threshold: options.compressionThreshold,
    encodings: ['br', 'gzip'],
    // Brotli's default quality (11) costs more CPU per response than it saves on the wire.
    brotliOptions: { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 4 } },
  });

  app.addHook('onResponse', (request, reply, done) => {
    recordResponse(options.metrics, request, reply);
    done();
  });

  app.setErrorHandler((error, request, reply) => {
    const { status, error: body } = toErrorBody(error);
    if (status >= 500) {
      recordRequestError(request, error);
      request.log.error({ err: error, trace_id: requestTraceId(request) }, 'request failed');
    }
    return sendError(request, reply, status, body);
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      404,
      new AppError('NOT_FOUND', `No route for ${request.method} ${request.url.split('?')[0]}.`),
    ),
  );

  const limiterFor = rateLimiterFor(options.rateLimit);
  const idempotent = idempotencyHooks(
    options.db,
    new SecretBox(options.keyEncryptionKey),
    options.idempotencyLockSeconds,
  );

  // Declared permissions become a preHandler and the OpenAPI security requirement; every API
  // route gets its rate limit after authentication, so limits are per user where there is one.
  app.addHook('onRoute', (route) => {
    const schema = (route.schema ?? {}) as FastifySchema & {
      response?: Record<string, unknown>;
      security?: unknown;
    };
    const permission = route.config?.permission;
    const idempotency = route.config?.idempotency;
    const isApi =
      route.url.startsWith('/api/v1/') ||
      route.url === '/oauth/token' ||
      route.url.startsWith('/.well-known/');
    if (isApi) schema.response = { ...standardErrors(permission !== undefined), ...schema.response };
    if (idempotency) {
      if (schema.headers)
        throw new Error(`${route.url}: merge its header schema with the Idempotency-Key one.`);
      schema.headers = idempotencyHeaderSchema(idempotency);
      schema.response = { ...idempotencyErrors, ...schema.response };
    }
    if (permission) schema.security = [{ bearerAuth: [] }];

    const authenticate = async (request: FastifyRequest) => {
      request.actor = await authenticator().authenticate(bearerToken(request));
      if (permission !== 'authenticated' && !request.actor.permissions.has(permission!)) {
        throw new AppError('FORBIDDEN', `This action needs the ${permission} permission.`);
      }
    };
    const method = toArray(route.method).find((m) => m !== 'HEAD') ?? 'GET';
    route.preHandler = [
      ...(permission ? [authenticate] : []),
      ...(isApi ? [limiterFor(method, route.url)] : []),
      ...(idempotency ? [idempotent.preHandler] : []),
      ...toArray(route.preHandler),
    ].map(inRequestSpan);
    if (idempotency) route.onSend = [inRequestSpan(idempotent.onSend), ...toArray(route.onSend)];
    route.handler = inRequestSpan(route.handler);
    const httpCache = route.config?.httpCache;
    if (httpCache) {
      route.onSend = [httpCacheHook(httpCache, options.publicCacheMaxAge ?? 0), ...toArray(route.onSend)];
      schema.response = { ...schema.response, 304: notModifiedResponse };
    }
    route.schema = schema;
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Bazaar API',
        version: options.version,
        description:
          'Bazaar is a headless commerce platform. Every answer is JSON in one envelope: `{ request_id, data, meta?, links? }` on success and `{ request_id, error: { code, message, details? } }` on failure.',
        license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
        contact: { name: 'Bazaar', url: options.publicUrl },
      },
      servers: [{ url: options.publicUrl }],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description:
              'An access token from sign-in, refresh or POST /oauth/token: an RS256 JWT (RFC 9068 profile, RFC8725 best practices) valid for 15 minutes, verifiable with /.well-known/jwks.json.',
          },
          adminBearerAuth: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description:
              'The same RS256 access token (RFC8725 best practices), issued to an admin account or an API client granted the operation’s permission.',
          },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: (documentObject) =>
      finishOpenApiDocument(jsonSchemaTransformObject(documentObject) as Record<string, unknown>) as never,
  });

  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true },
    staticCSP: true,
    transformStaticCSP: docsCsp,
  });

  return app;
}

export type HttpServer = Awaited<ReturnType<typeof createHttpServer>>;

/** The metrics, span end and log line of an answered request (an onResponse hook's work). */
function recordResponse(metrics: Metrics, request: FastifyRequest, reply: FastifyReply): void {
  const route = request.routeOptions.url ?? 'unmatched';
  const labels = { method: request.method, route, status: String(reply.statusCode) };
  metrics.httpRequests.inc(labels);
  metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
  if (reply.statusCode >= 500) metrics.httpErrors.inc({ method: request.method, route });
  const traceId = requestTraceId(request);
  endRequestSpan(request, reply, route);
  if (!(request.log as Logger).isLevelEnabled('info')) return;
  request.log.info(
    {
      method: request.method,
      url: request.url.replace(SECRET_QUERY, '$1[redacted]'),
      route,
      status: reply.statusCode,
      duration_ms: Math.round(reply.elapsedTime * 100) / 100,
      ip: request.ip,
      actor: request.actor?.id,
      ...(traceId ? { trace_id: traceId } : {}),
    },
    'request completed',
  );
}

function toArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  const match = header ? /^Bearer ([\w.~+/=-]{1,4096})$/i.exec(header) : null;
  if (!match?.[1]) throw new AppError('AUTH_FAILED', 'A valid Bearer access token is required.');
  return match[1];
}

/** The error answers every API route may give, described once and shared by every route's schema. */
const publicErrors = {
  400: errorEnvelope.describe('The request is invalid (malformed JSON, wrong types, unknown fields).'),
  404: errorEnvelope.describe('Not found.'),
  413: errorEnvelope.describe('The request body is too large.'),
  415: errorEnvelope.describe('Unsupported Content-Type.'),
  429: errorEnvelope.describe('Too many requests; retry after the Retry-After header.'),
  500: errorEnvelope.describe('An unexpected error occurred.'),
};
const authenticatedErrors = {
  ...publicErrors,
  401: errorEnvelope.describe('Missing, invalid or expired access token.'),
  403: errorEnvelope.describe('The token lacks the permission this operation needs.'),
};

function standardErrors(authenticated: boolean): Record<string, unknown> {
  return authenticated ? authenticatedErrors : publicErrors;
}

/** The service context of a request: actor, request id, client IP and the database. */
export function contextOf(request: FastifyRequest): Context {
  return {
    requestId: request.id,
    actor: request.actor,
    ip: request.ip,
    userAgent: request.headers['user-agent'],
    db: request.server.db,
    cache: request.server.cache,
  };
}

/**
 * `contextOf` on the read replica, for public, read-only routes whose answer may lag the primary
 * by a moment (storefront browsing). Never for a read that must see the caller's own write.
 */
export function readContextOf(request: FastifyRequest): Context {
  return { ...contextOf(request), db: request.server.readDb };
}
