import type { Redis } from 'ioredis';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { AppError } from '../errors.js';
import { RedisWindows, type WindowCount } from './redis-windows.js';

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

/** Where a limiter's counters live: Redis (shared) or this process. */
interface Counters {
  change(key: string, points: number): Promise<WindowCount>;
  delete(key: string): Promise<unknown>;
}

/** Seconds a client waits when the counter store is unreachable. */
const STORE_DOWN_RETRY_SECONDS = 5;

// One set of counters per Redis client, so that the limits of every route share a turn's call.
const redisWindows = new WeakMap<Redis, RedisWindows>();

function countersOf(options: LimiterOptions): Counters {
  const { keyPrefix, durationSeconds: duration } = options;
  // Keys as rate-limiter-flexible names them, so counters outlive a change of implementation.
  const keyOf = (key: string) => `${keyPrefix}:${key}`;
  const redis = options.redis;
  if (redis) {
    let windows = redisWindows.get(redis);
    if (!windows) redisWindows.set(redis, (windows = new RedisWindows(redis)));
    return {
      change: (key, points) => windows.change(keyOf(key), points, duration),
      delete: (key) => redis.del(keyOf(key)),
    };
  }
  const memory = new RateLimiterMemory({ keyPrefix, points: options.points, duration });
  return {
    change: async (key, points) => {
      const res = await memory.penalty(key, points);
      return { consumed: res.consumedPoints, msLeft: res.msBeforeNext };
    },
    delete: (key) => memory.delete(key),
  };
}

/**
 * A limiter that fails closed unless told otherwise: when Redis cannot be reached it throws
 * SERVICE_UNAVAILABLE rather than letting every attempt through, because these limits protect
 * credentials.
 */
export function createLimiter(options: LimiterOptions): Limiter {
  const counters = countersOf(options);
  return {
    points: options.points,
    durationSeconds: options.durationSeconds,
    async consume(key, points = 1) {
      let count;
      try {
        count = await counters.change(key, points);
      } catch (error) {
        if (options.failOpen) return { allowed: true, remaining: options.points, resetSeconds: 1 };
        throw storeUnavailable(error);
      }
      if (count.consumed > options.points)
        return { allowed: false, retryAfterSeconds: toSeconds(count.msLeft) };
      return {
        allowed: true,
        remaining: options.points - count.consumed,
        resetSeconds: toSeconds(count.msLeft),
      };
    },
    async reward(key, points = 1) {
      await guard(() => counters.change(key, -points), options.failOpen);
    },
    async delete(key) {
      await guard(() => counters.delete(key), options.failOpen);
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
