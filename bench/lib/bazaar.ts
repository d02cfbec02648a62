import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { bazaarMain, runBazaarCommand, spawnNode, waitUntilReady, type Spawned } from './processes.js';
import { repoRoot, type BenchSettings } from './settings.js';

export const ADMIN_EMAIL = 'bench-admin@bazaar.local';
export const ADMIN_PASSWORD = 'Bench-Admin-Password-2026';
const UNLIMITED = '100000000/60';

/** Routes the scenarios call, lifted out of the per-user limits (the bench comes from one IP). */
const benchRoutes = [
  'GET /api/v1/products',
  'GET /api/v1/products/:id',
  'GET /api/v1/categories',
  'GET /api/v1/users/me',
  'GET /api/v1/auth/me',
  'POST /api/v1/auth/register',
  'POST /api/v1/auth/login',
  'POST /api/v1/orders',
  'GET /api/v1/orders/:id',
  'POST /api/v1/orders/:id/payments',
  'POST /api/v1/webhooks/:gateway',
  'POST /api/v1/admin/inventory/:variant_id/adjustments',
];

/**
 * The environment of every Bazaar process in a run: production mode, quiet logs, limits high
 * enough that the load is measured rather than throttled (the limiter itself still runs on every
 * request), and the cache settings a scenario asks for.
 */
export function bazaarEnv(settings: BenchSettings, runId: string, extra: Record<string, string> = {}) {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: settings.databaseUrl,
    REDIS_URL: settings.redisUrl,
    REDIS_KEY_PREFIX: `bench-${runId}:`,
    DATA_DIR: embeddedDataDir(settings, runId),
    DATABASE_POOL_SIZE: '10',
    // Webhook deliveries and event handlers per worker at once; the default 4 queues checkouts behind each other.
    WORKER_CONCURRENCY: '20',
    TEST_GATEWAY_ENABLED: 'true',
    TEST_GATEWAY_WEBHOOK_SECRET: 'whsec_bench_0123456789abcdef',
    KEY_ENCRYPTION_KEY: 'bench-key-encryption-key-0123456789abcdef',
    BAZAAR_ADMIN_EMAIL: ADMIN_EMAIL,
    BAZAAR_ADMIN_PASSWORD: ADMIN_PASSWORD,
    SEED_DEMO_DATA: 'false',
    ACCESS_TOKEN_TTL: '7200',
    RATE_LIMIT_DEFAULT: '100000000',
    RATE_LIMITS: benchRoutes.map((route) => `${route}=${UNLIMITED}`).join(','),
    LOGIN_LIMIT_PER_IP: '100000000',
    LOGIN_LIMIT_PER_ACCOUNT: '100000000',
    // Caching as the gateway layer configures it; variables an older build does not know are ignored.
    CACHE_TTL_CATALOG: '900',
    CACHE_TTL_USER: '3600',
    CACHE_TTL_ORDER: '300',
    // As the container runs it (deploy/Dockerfile): argon2's buffers go back to the OS when freed.
    MALLOC_MMAP_THRESHOLD_: '131072',
    ...extra,
  };
}

const dataDirs = new Map<string, string>();
function embeddedDataDir(settings: BenchSettings, runId: string): string | undefined {
  if (settings.databaseUrl) return undefined;
  let dir = dataDirs.get(runId);
  if (!dir) {
    dir = mkdtempSync(path.join(os.tmpdir(), `bazaar-bench-${runId}-`));
    dataDirs.set(runId, dir);
  }
  return dir;
}

/** Recreates the benchmark database (when asked), migrates it and seeds the admin and demo catalog. */
export async function prepareDatabase(settings: BenchSettings, env: Record<string, string | undefined>) {
  if (!existsSync(path.join(repoRoot, bazaarMain)))
    throw new Error('dist/src/main.js is missing: run `npm run build` first (npm run bench does).');
  if (settings.databaseUrl && settings.freshDatabase) await recreateDatabase(settings.databaseUrl);
  await runBazaarCommand('migrate', env);
  return runBazaarCommand('seed', env);
}

async function recreateDatabase(url: string) {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!/^[\w-]+$/.test(name)) throw new Error(`unexpected benchmark database name "${name}"`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => undefined });
  try {
    await sql.unsafe(`drop database if exists "${name}" with (force)`);
    await sql.unsafe(`create database "${name}"`);
  } finally {
    await sql.end();
  }
}

/**
 * Scenarios without a worker (order creation above all) leave their jobs behind: thousands of
 * order e-mails. A scenario that starts a worker measures its own jobs, not that backlog, so the
 * jobs still waiting are dropped first (only in the benchmark's own database).
 */
async function dropJobBacklog(url: string) {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    await sql`delete from pgboss.job where state in ('created', 'retry')`;
  } finally {
    await sql.end();
  }
}

export interface RunningBazaar {
  url: string;
  server: Spawned;
  worker?: Spawned;
  /** Milliseconds from spawning `serve` to its first 200 on /readyz. */
  readyMs: number;
  stop: () => Promise<void>;
}

/** Starts `bazaar serve` (and a `bazaar worker` when the scenario needs the job handlers). */
export async function startBazaar(
  env: Record<string, string | undefined>,
  options: { port: number; worker: boolean; profileDir?: string; perfMap?: boolean; name: string },
): Promise<RunningBazaar> {
  const profile = (role: string) => [
    ...(options.profileDir
      ? [
          '--cpu-prof',
          '--cpu-prof-dir',
          options.profileDir,
          '--cpu-prof-name',
          `${options.name}${role}.cpuprofile`,
        ]
      : []),
    ...(options.perfMap ? ['--perf-basic-prof'] : []),
  ];
  const url = `http://127.0.0.1:${options.port}`;
  const serverEnv = {
    ...env,
    PORT: String(options.port),
    // One public URL (the JWT issuer) for every server of a run, so tokens made once serve all scenarios.
    PUBLIC_URL: 'http://bazaar.bench',
    TEST_GATEWAY_WEBHOOK_URL: `${url}/api/v1/webhooks/test`,
  };
  const server = spawnNode([...profile(''), bazaarMain, 'serve'], serverEnv);
  const readyMs = await waitUntilReady(`${url}/readyz`, server);
  if (options.worker && env.DATABASE_URL) await dropJobBacklog(env.DATABASE_URL);
  const worker = options.worker
    ? spawnNode([...profile('-worker'), bazaarMain, 'worker'], serverEnv)
    : undefined;
  if (worker) await failFastIfCrashed(worker);
  return {
    url,
    server,
    worker,
    readyMs,
    async stop() {
      await Promise.all([server.stop(), worker?.stop()]);
    },
  };
}

/** The worker has no HTTP port; the warm-up covers its start, but a crash should stop the run at once. */
async function failFastIfCrashed(worker: Spawned) {
  const deadline = performance.now() + 1_000;
  while (performance.now() < deadline) {
    if (worker.child.exitCode !== null) throw new Error(`worker exited:\n${worker.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
