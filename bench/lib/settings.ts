import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const resultsDir = path.join(repoRoot, 'bench', 'results');

const number = (env: NodeJS.ProcessEnv, name: string, fallback: number) => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`${name} must be a non-negative number, got "${raw}"`);
  return value;
};

/** Everything a run can be tuned with, from the environment (see bench/README.md). */
export interface BenchSettings {
  /** PostgreSQL URL of the benchmark database; unset (BENCH_EMBEDDED=1) runs on embedded PGlite. */
  databaseUrl?: string;
  redisUrl?: string;
  warmupSeconds: number;
  durationSeconds: number;
  /** Turns of Bazaar and its ceiling that share the measured duration (see `loadInTurns`). */
  rounds: number;
  connections: number;
  checkoutClients: number;
  idleConnections: number;
  /** Customers registered for authenticated scenarios, and variants whose stock is raised for orders. */
  customers: number;
  stockedVariants: number;
  /** Recreate the benchmark database at the start of a run (default on). */
  freshDatabase: boolean;
  /** Directory for `--cpu-prof` profiles of the Bazaar server; unset = no profiling. */
  profileDir?: string;
  /** Start Bazaar's processes with `--perf-basic-prof`, so `perf` names their JavaScript frames. */
  perfMap: boolean;
  /** Directory for result files. */
  resultsDir: string;
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): BenchSettings {
  const embedded = env.BENCH_EMBEDDED === '1';
  return {
    databaseUrl: embedded
      ? undefined
      : env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/bazaar_bench',
    redisUrl: env.BENCH_REDIS_URL || (embedded ? undefined : 'redis://127.0.0.1:6379/0'),
    warmupSeconds: number(env, 'BENCH_WARMUP', 5),
    durationSeconds: number(env, 'BENCH_DURATION', 10),
    rounds: Math.max(1, number(env, 'BENCH_ROUNDS', 5)),
    connections: number(env, 'BENCH_CONNECTIONS', 50),
    checkoutClients: number(env, 'BENCH_CHECKOUT_CLIENTS', 10),
    idleConnections: number(env, 'BENCH_IDLE_CONNECTIONS', 10_000),
    customers: Math.max(1, number(env, 'BENCH_CUSTOMERS', 20)),
    stockedVariants: Math.max(1, number(env, 'BENCH_STOCKED_VARIANTS', 40)),
    freshDatabase: env.BENCH_FRESH_DB !== '0',
    profileDir: env.BENCH_PROFILE ? path.resolve(env.BENCH_PROFILE) : undefined,
    perfMap: env.BENCH_PERF_MAP === '1',
    resultsDir: env.BENCH_RESULTS_DIR ? path.resolve(env.BENCH_RESULTS_DIR) : resultsDir,
  };
}

export function machine() {
  return {
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    memory_mb: Math.round(os.totalmem() / 1024 / 1024),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}
