import type { Redis } from 'ioredis';
import type { Config } from '../../config.js';
import { AppError } from '../../platform/errors.js';
import { createLimiter, type Limiter } from '../../platform/security/rate-limit.js';
import { sha256 } from '../../platform/security/tokens.js';
import { normalizeEmail } from '../users/index.js';

/** The auth module's brute-force and mail-bombing limits. */
export interface LoginLimiter {
  /** Failed sign-ins (and password re-confirmations) per account. */
  perAccount: Limiter;
  /** Every sign-in attempt per client IP. */
  perIp: Limiter;
  /** Account mails (password reset, verification) per account. */
  mailPerAccount: Limiter;
  /** Account mail requests per client IP. */
  mailPerIp: Limiter;
}

const MAILS_PER_ACCOUNT_PER_HOUR = 5;
const MAIL_REQUESTS_PER_IP_PER_HOUR = 30;

/** Builds the limits from configuration; counters are shared through Redis when it is given. */
export function createLoginLimiter(config: Config, redis?: Redis): LoginLimiter {
  const window = config.LOGIN_LIMIT_WINDOW;
  const limiter = (name: string, points: number, durationSeconds: number) =>
    createLimiter({
      redis,
      keyPrefix: `${config.REDIS_KEY_PREFIX}auth:${name}`,
      points,
      durationSeconds,
      failOpen: config.RATE_LIMIT_STORE_DOWN === 'open',
    });
  return {
    perAccount: limiter('login-account', config.LOGIN_LIMIT_PER_ACCOUNT, window),
    perIp: limiter('login-ip', config.LOGIN_LIMIT_PER_IP, window),
    mailPerAccount: limiter('mail-account', MAILS_PER_ACCOUNT_PER_HOUR, 3600),
    mailPerIp: limiter('mail-ip', MAIL_REQUESTS_PER_IP_PER_HOUR, 3600),
  };
}

/** Counter key of an account: a hash, so the counter store never holds e-mail addresses. */
export function accountKey(email: string): string {
  return sha256(normalizeEmail(email)).slice(0, 32);
}

/** Counts one attempt; RATE_LIMIT (429 with Retry-After) once the limit is exceeded. */
export async function enforceLimit(limiter: Limiter, key: string): Promise<void> {
  const result = await limiter.consume(key);
  if (!result.allowed) {
    throw new AppError(
      'RATE_LIMIT',
      'Too many attempts; try again later.',
      undefined,
      result.retryAfterSeconds,
    );
  }
}
