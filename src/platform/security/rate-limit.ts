import type { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import { AppError } from '../errors.js';

export type LimitResult =
  { allowed: true; remaining: number; resetSeconds: number } | { allowed: false; retryAfterSeconds: number };

/** A fixed-window counter per key, shared across processes when backed by Redis. */
export interface Limiter {
  readonly points: number;
  readonly durationSeconds: number;
  /** Counts one attempt (or `points`) against `key`. */
  consume(key: string, points?: number): Promise<LimitResult>;
  /** Gives back points, e.g. for an attempt that should not have counted. */
  reward(key: string, points?: number): Promise<void>;
  /** Forgets `key`, e.g. after a successful sign-in. */
  delete(key: string): Promise<void>;
}

export interface LimiterOptions {
  /** Shared counters; without it, counters live in this process only. */
  redis?: Redis;
  keyPrefix: string;
  points: number;
  durationSeconds: number;
  /** Let attempts through while the store is unreachable (RATE_LIMIT_STORE_DOWN=open); default: refuse. */
  failOpen?: boolean;
}

/** Seconds a client waits when the counter store is unreachable. */
const STORE_DOWN_RETRY_SECONDS = 5;

/**
 * A limiter that fails closed unless told otherwise: when Redis cannot be reached it throws
 * SERVICE_UNAVAILABLE rather than letting every attempt through, because these limits protect
 * credentials.
 */
export function createLimiter(options: LimiterOptions): Limiter {
  const base = { keyPrefix: options.keyPrefix, points: options.points, duration: options.durationSeconds };
  const store: RateLimiterAbstract = options.redis
    ? // Without rejectIfRedisNotReady, ioredis queues commands while disconnected and callers hang.
      new RateLimiterRedis({ ...base, storeClient: options.redis, rejectIfRedisNotReady: true })
    : new RateLimiterMemory(base);

  return {
    points: options.points,
    durationSeconds: options.durationSeconds,
    async consume(key, points = 1) {
      try {
        const res = await store.consume(key, points);
        return { allowed: true, remaining: res.remainingPoints, resetSeconds: toSeconds(res.msBeforeNext) };
      } catch (error) {
        if (error instanceof RateLimiterRes)
          return { allowed: false, retryAfterSeconds: toSeconds(error.msBeforeNext) };
        if (options.failOpen) return { allowed: true, remaining: options.points, resetSeconds: 1 };
        throw storeUnavailable(error);
      }
    },
    async reward(key, points = 1) {
      await guard(() => store.reward(key, points), options.failOpen);
    },
    async delete(key) {
      await guard(() => store.delete(key), options.failOpen);
    },
  };
}

async function guard(work: () => Promise<unknown>, failOpen = false): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (!failOpen) throw storeUnavailable(error);
  }
}

function storeUnavailable(cause: unknown): AppError {
  const error = new AppError(
    'SERVICE_UNAVAILABLE',
    'The service is temporarily unavailable; try again shortly.',
    undefined,
    STORE_DOWN_RETRY_SECONDS,
  );
  error.cause = cause;
  return error;
}

function toSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
