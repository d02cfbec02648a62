import path from 'node:path';
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Config } from './config.js';
import { systemContext } from './platform/context.js';
import { CACHE_INVALIDATED_CHANNEL, Cache, MemoryStore, RedisStore } from './platform/cache/cache.js';
import { createRedis, redisConnected } from './platform/cache/redis.js';
import { openDatabase, type DatabaseHandle } from './platform/db/client.js';
import { migrate } from './platform/db/migrate.js';
import { adminDashboard } from './platform/http/admin-static.js';
import { purgeExpiredIdempotencyKeys } from './platform/http/idempotency.js';
import { opsRoutes } from './platform/http/ops-routes.js';
import { parseRateLimits } from './platform/http/rate-limit.js';
import { createHttpServer, type HttpServer } from './platform/http/server.js';
import { Jobs } from './platform/jobs/jobs.js';
import { WAKE_CHANNEL } from './platform/jobs/wake.js';
import { broadcastFor } from './platform/broadcast.js';
import { createMailer, type Mailer } from './platform/mail/mailer.js';
import { createLogger, type Logger } from './platform/observability/logger.js';
import { createMetrics, registerPoolGauges, type Metrics } from './platform/observability/metrics.js';
import { startTracing, type Tracing } from './platform/observability/tracing.js';
import { projectRoot } from './platform/paths.js';
import { prepareSecretBoxKey } from './platform/security/secret-box.js';
import { auditRoutes } from './modules/audit/index.js';
import { operationsRoutes, overviewRoutes } from './modules/operations/index.js';
import { createAuthModule, createLoginLimiter } from './modules/auth/index.js';
import { createCatalogModule } from './modules/catalog/index.js';
import { createInventoryModule, STOCK_CHANGED_CHANNEL } from './modules/inventory/index.js';
import { createNotificationsModule } from './modules/notifications/index.js';
import { createOrdersModule } from './modules/orders/index.js';
import { createPaymentsModule } from './modules/payments/index.js';
import { usersRoutes } from './modules/users/index.js';

export const version = (
  JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }
).version;

/** How long start-up waits for Redis before serving without it (the client's connect timeout). */
const REDIS_START_TIMEOUT_MS = 2_000;

export interface BazaarOptions {
  logger?: Logger;
  /** An already open database (tests); otherwise opened from config. */
  database?: DatabaseHandle;
  /** Apply pending migrations before building (default true). */
  migrate?: boolean;
}

/**
 * The composition root: every platform service and module, wired once. The same object runs
 * the API server, the worker, or both (`start`).
 */
export async function buildBazaar(config: Config, options: BazaarOptions = {}) {
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  const keyDerivation = prepareSecretBoxKey(config.KEY_ENCRYPTION_KEY);
  const metrics: Metrics = createMetrics();
  const tracing: Tracing | undefined = config.OTEL_EXPORTER_OTLP_ENDPOINT
    ? await startTracing({
        endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
        serviceName: config.OTEL_SERVICE_NAME,
        serviceVersion: version,
      })
    : undefined;
  const database =
    options.database ??
    (await openDatabase({
      url: config.DATABASE_URL,
      readUrl: config.DATABASE_READ_URL,
      dataDir: config.dataDir,
      poolSize: config.DATABASE_POOL_SIZE,
      prepare: config.DATABASE_PREPARE,
    }));
  registerPoolGauges(metrics, database.pool);
  if (options.migrate !== false) {
    const applied = await migrate(database.db);
    if (applied > 0) logger.info({ applied }, 'database migrated');
  }

  const redis: Redis | undefined = config.REDIS_URL ? createRedis(config.REDIS_URL, logger) : undefined;
  if (redis && !(await redisConnected(redis, REDIS_START_TIMEOUT_MS))) {
    logger.warn('redis unreachable at start: rate limits and the cache run degraded until it answers');
  }

  const jobs = new Jobs(
    database,
    {
      retryLimit: config.JOB_RETRY_LIMIT,
      retryDelaySeconds: config.JOB_RETRY_DELAY,
      pollingIntervalSeconds: config.JOB_POLL_INTERVAL ?? (config.NODE_ENV === 'test' ? 0.5 : 1),
      concurrency: config.WORKER_CONCURRENCY,
      expireInSeconds: config.JOB_EXPIRE_SECONDS,
    },
    logger,
    metrics,
    broadcastFor({ database, redis, keyPrefix: config.REDIS_KEY_PREFIX }, WAKE_CHANNEL),
  );
  const mailer: Mailer = createMailer({
    smtpUrl: config.SMTP_URL,
    from: config.MAIL_FROM,
    mailDir: path.join(config.dataDir, 'mail'),
  });
  jobs.schedule('idempotency.purge', '17 3 * * *', async () => {
    const purged = await purgeExpiredIdempotencyKeys(database.db);
    logger.info({ purged }, 'expired idempotency keys purged');
  });
  const notifications = createNotificationsModule({
    db: database.db,
    jobs,
    mailer,
    metrics,
    logger,
    mailFrom: config.MAIL_FROM,
    shopName: config.SHOP_NAME,
    shopUrl: config.publicUrl,
    welcomeDelaySeconds: config.WELCOME_EMAIL_DELAY,
    retryLimit: config.JOB_RETRY_LIMIT,
  });
  const cache = new Cache(
    redis ? new RedisStore(redis) : new MemoryStore(),
    config.REDIS_KEY_PREFIX,
    metrics.registry,
    logger,
    {
      ttls: { catalog: config.CACHE_TTL_CATALOG, user: config.CACHE_TTL_USER, order: config.CACHE_TTL_ORDER },
      // Only a store that processes share needs its invalidations told to the others.
      invalidations: redis
        ? broadcastFor({ database, redis, keyPrefix: config.REDIS_KEY_PREFIX }, CACHE_INVALIDATED_CHANNEL)
        : undefined,
    },
  );

  const auth = createAuthModule({
    config,
    db: database.db,
    jobs,
    notifications,
    limiter: createLoginLimiter(config, redis),
    logger,
    metrics,
  });

  const inventory = createInventoryModule({
    db: database.db,
    jobs,
    logger,
    stockChanges: broadcastFor(
      { database, redis, keyPrefix: config.REDIS_KEY_PREFIX },
      STOCK_CHANGED_CHANNEL,
    ),
    stockTtlSeconds: config.CACHE_TTL_STOCK,
    registry: metrics.registry,
    lowStockThreshold: config.LOW_STOCK_THRESHOLD,
  });
  const catalog = createCatalogModule({ inventory });
  const orders = createOrdersModule({
    db: database.db,
    jobs,
    catalog,
    inventory,
    logger,
    metrics,
    cache,
    holdMinutes: config.ORDER_HOLD_MINUTES,
  });
  const payments = createPaymentsModule({ config, db: database.db, jobs, logger, metrics, cache });

  const http: HttpServer = await createHttpServer(
    {
      logger,
      metrics,
      db: database.db,
      readDb: database.read,
      bodyLimit: config.BODY_LIMIT,
      jsonDepthLimit: config.JSON_DEPTH_LIMIT,
      requestTimeoutMs: config.REQUEST_TIMEOUT * 1000,
      handlerTimeoutMs: config.HANDLER_TIMEOUT * 1000,
      compressionThreshold: config.COMPRESSION_THRESHOLD,
      tls: readTls(config),
      hstsMaxAgeSeconds: config.HSTS_MAX_AGE,
      trustProxy: config.TRUST_PROXY,
      corsOrigins: config.CORS_ORIGINS,
      publicUrl: config.publicUrl,
      version,
      keyEncryptionKey: config.KEY_ENCRYPTION_KEY,
      idempotencyLockSeconds: config.IDEMPOTENCY_LOCK_SECONDS,
      cache,
      publicCacheMaxAge: config.CACHE_PUBLIC_MAX_AGE,
      rateLimit: {
        redis,
        storeDownPolicy: config.RATE_LIMIT_STORE_DOWN,
        keyPrefix: config.REDIS_KEY_PREFIX,
        defaultRule: { limit: config.RATE_LIMIT_DEFAULT, windowSeconds: 60 },
        overrides: parseRateLimits(config.RATE_LIMITS),
        onStoreError: (error) =>
          logger.warn({ err: error }, 'rate-limit store unavailable; serving without limits'),
      },
    },
    () => auth.authenticator,
  );

  const checks = [
    { name: 'database', check: () => database.ping() },
    { name: 'jobs', check: () => jobs.ping(database.db) },
    ...(redis ? [{ name: 'redis', check: async () => void (await redis.ping()) }] : []),
  ];
  let draining = false;
  await http.register(opsRoutes({ metrics, checks, isDraining: () => draining }));
  await http.register(auth.rootRoutes);
  await http.register(payments.rootRoutes);
  await http.register(
    async (api) => {
      await api.register(auth.apiRoutes);
      await api.register(usersRoutes);
      await api.register(auditRoutes);
      await api.register(catalog.routes);
      await api.register(inventory.routes);
      await api.register(orders.routes);
      await api.register(notifications.routes);
      await api.register(payments.routes);
    },
    { prefix: '/api/v1' },
  );
  await http.register(operationsRoutes(jobs), { prefix: '/api/v1' });
  await http.register(overviewRoutes({ jobs, inventory }), { prefix: '/api/v1' });
  await http.register(adminDashboard);

  await keyDerivation;
  await auth.ensureSigningKey(database.db);

  let stopping: Promise<void> | undefined;
  return {
    config,
    logger,
    metrics,
    database,
    jobs,
    mailer,
    redis,
    http,
    tracing,
    auth,
    catalog,
    inventory,
    orders,
    payments,
    cache,
    systemContext: () => systemContext(database.db, 'system', cache),

    /** Installs the job schema and queues; `work` also consumes them in this process. */
    startJobs: (work: boolean) => jobs.start({ work }),

    /** Graceful stop: refuse new requests, finish in-flight ones and running jobs, then close. */
    stop(): Promise<void> {
      stopping ??= (async () => {
        // Readiness fails first, so load balancers stop sending new requests while these finish.
        draining = true;
        if (config.SHUTDOWN_DRAIN_DELAY > 0 && http.server.listening) {
          logger.info({ seconds: config.SHUTDOWN_DRAIN_DELAY }, 'draining: /readyz answers 503');
          await delay(config.SHUTDOWN_DRAIN_DELAY * 1000);
        }
        await http.close();
        await jobs.stop(config.SHUTDOWN_TIMEOUT);
        await inventory.stop();
        await cache.stop();
        mailer.close();
        redis?.disconnect();
        if (!options.database) await database.close();
        await tracing?.shutdown();
      })();
      return stopping;
    },
  };
}

export type Bazaar = Awaited<ReturnType<typeof buildBazaar>>;

function readTls(config: Config): { cert: Buffer; key: Buffer } | undefined {
  if (!config.TLS_CERT_FILE || !config.TLS_KEY_FILE) return undefined;
  return { cert: readFileSync(config.TLS_CERT_FILE), key: readFileSync(config.TLS_KEY_FILE) };
}
