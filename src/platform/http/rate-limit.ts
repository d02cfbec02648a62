import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { AppError } from '../errors.js';
import { createLimiter } from '../security/rate-limit.js';

export interface RateRule {
  limit: number;
  windowSeconds: number;
  /** Refuse requests when the counter store is down (credential endpoints) instead of letting them through. */
  failClosed: boolean;
}

/**
 * Per-endpoint limits (requests per window, per user or API client, else per IP), from the
 * system design. `RATE_LIMITS` overrides or extends them without code changes.
 */
export const defaultRateRules: Record<string, Omit<RateRule, 'failClosed'> & { failClosed?: boolean }> = {
  'GET /api/v1/users': { limit: 100, windowSeconds: 60 },
  'GET /api/v1/users/:id': { limit: 300, windowSeconds: 60 },
  'POST /api/v1/orders': { limit: 30, windowSeconds: 60 },
  'GET /api/v1/orders/:id': { limit: 300, windowSeconds: 60 },
  'POST /api/v1/auth/register': { limit: 10, windowSeconds: 60, failClosed: true },
  'POST /api/v1/auth/login': { limit: 20, windowSeconds: 60, failClosed: true },
  'POST /api/v1/auth/login/mfa': { limit: 10, windowSeconds: 60, failClosed: true },
  'POST /api/v1/auth/refresh': { limit: 60, windowSeconds: 60, failClosed: true },
  'POST /api/v1/auth/password/forgot': { limit: 5, windowSeconds: 60, failClosed: true },
  'POST /api/v1/auth/password/reset': { limit: 10, windowSeconds: 60, failClosed: true },
  'POST /api/v1/auth/password/change': { limit: 10, windowSeconds: 60, failClosed: true },
  'POST /api/v1/auth/email/verify': { limit: 10, windowSeconds: 60, failClosed: true },
  'POST /api/v1/auth/verify': { limit: 300, windowSeconds: 60, failClosed: true },
  'POST /oauth/token': { limit: 30, windowSeconds: 60, failClosed: true },
  // Gateways deliver bursts from a few IPs; deliveries are authenticated by their signature.
  'POST /api/v1/webhooks/:gateway': { limit: 6000, windowSeconds: 60 },
};

/**
 * Parses `RATE_LIMITS`: `GET /api/v1/users=200/60, POST /api/v1/orders=50/60`. Path parameters
 * may be written OpenAPI-style (`/api/v1/users/{id}`) or as routes are declared (`/:id`).
 */
export function parseRateLimits(
  value: string | undefined,
): Record<string, { limit: number; windowSeconds: number }> {
  const out: Record<string, { limit: number; windowSeconds: number }> = {};
  for (const entry of (value ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const match = /^([A-Z]+ \/\S*)=(\d+)\/(\d+)$/.exec(entry);
    if (!match) throw new Error(`RATE_LIMITS entry "${entry}" is not "METHOD /path=limit/windowSeconds".`);
    const route = match[1]!.replace(/\{(\w+)\}/g, ':$1');
    out[route] = { limit: Number(match[2]), windowSeconds: Number(match[3]) };
  }
  return out;
}

/**
 * What a limiter does while its counter store (Redis) is unreachable: `auth-closed` refuses the
 * credential endpoints (marked `failClosed`) and lets the rest through; `open` and `closed` apply
 * one behaviour to all.
 */
export type StoreDownPolicy = 'auth-closed' | 'open' | 'closed';

export interface RateLimitOptions {
  redis?: Redis;
  storeDownPolicy?: StoreDownPolicy;
  keyPrefix: string;
  defaultRule: { limit: number; windowSeconds: number };
  overrides: Record<string, { limit: number; windowSeconds: number }>;
  onStoreError?: (error: unknown) => void;
}

/** Builds the per-route preHandler; called from the onRoute hook once per route. */
export function rateLimiterFor(options: RateLimitOptions) {
  // While the store is down every request fails open; report that once a minute, not per request.
  let lastReport = 0;
  const reportStoreError = (error: unknown) => {
    if (Date.now() - lastReport < 60_000) return;
    lastReport = Date.now();
    options.onStoreError?.(error);
  };
  return (method: string, url: string) => {
    const key = `${method} ${url}`;
    const base = defaultRateRules[key];
    const rule: RateRule = {
      ...(base ?? options.defaultRule),
      ...options.overrides[key],
      failClosed: failsClosed(options.storeDownPolicy ?? 'auth-closed', base?.failClosed ?? false),
    };
    const limiter = createLimiter({
      redis: options.redis,
      keyPrefix: `${options.keyPrefix}rl:${key}`,
      points: rule.limit,
      durationSeconds: rule.windowSeconds,
    });

    return async (request: FastifyRequest, reply: FastifyReply) => {
      // request.ip honours X-Forwarded-For only from the proxies TRUST_PROXY names.
      const who = request.actor ? `${request.actor.kind}:${request.actor.id}` : `ip:${request.ip}`;
      let result;
      try {
        result = await limiter.consume(who);
      } catch (error) {
        if (rule.failClosed) throw error;
        reportStoreError(error);
        return; // fail open: serving without a limit beats refusing everyone
      }
      void reply.header('RateLimit-Limit', String(rule.limit));
      if (result.allowed) {
        void reply.header('RateLimit-Remaining', String(result.remaining));
        void reply.header('RateLimit-Reset', String(result.resetSeconds));
        return;
      }
      void reply.header('RateLimit-Remaining', '0');
      void reply.header('RateLimit-Reset', String(result.retryAfterSeconds));
      throw new AppError(
        'RATE_LIMIT',
        'Too many requests; slow down.',
        { limit: rule.limit, window_seconds: rule.windowSeconds },
        result.retryAfterSeconds,
      );
    };
  };
}

function failsClosed(policy: StoreDownPolicy, credentialEndpoint: boolean): boolean {
  if (policy === 'auth-closed') return credentialEndpoint;
  return policy === 'closed';
}
