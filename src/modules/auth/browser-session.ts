import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../platform/errors.js';

/**
 * The browser-session mode of sign-in (the admin dashboard): the refresh token lives in an
 * httpOnly, SameSite=Strict cookie scoped to the session routes, so page scripts never see it;
 * the access token stays in the page's memory. API clients keep the JSON-body refresh.
 */
export const SESSION_PATH = '/api/v1/auth/session';
export const REFRESH_COOKIE = 'bazaar_refresh';
/** The header every cookie-authenticated request must carry (its value is fixed). */
export const CSRF_HEADER = 'x-bazaar-csrf';

/** `Set-Cookie` value carrying a refresh token; `Secure` whenever the request came over TLS. */
export function refreshCookie(request: FastifyRequest, token: string, maxAgeSeconds: number): string {
  return serializeCookie(request, token, maxAgeSeconds);
}

export function clearedRefreshCookie(request: FastifyRequest): string {
  return serializeCookie(request, '', 0);
}

function serializeCookie(request: FastifyRequest, value: string, maxAgeSeconds: number): string {
  const parts = [
    `${REFRESH_COOKIE}=${value}`,
    `Path=${SESSION_PATH}`,
    `Max-Age=${maxAgeSeconds}`,
    'HttpOnly',
    'SameSite=Strict',
  ];
  if (request.protocol === 'https') parts.push('Secure');
  return parts.join('; ');
}

/** The refresh token from the request's cookie, or undefined. */
export function refreshTokenFromCookie(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const pair of header.split(';')) {
    const [name, ...rest] = pair.trim().split('=');
    if (name === REFRESH_COOKIE) {
      const value = rest.join('=');
      return /^[\w.~+/=-]{16,512}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

/**
 * CSRF defence for cookie-authenticated requests, in two layers besides SameSite=Strict: a
 * custom header (which no cross-origin page can send without a CORS preflight we would refuse)
 * and, when the browser names one, an Origin that is this server's own.
 */
export function assertSameOriginRequest(request: FastifyRequest, publicUrl: string): void {
  if (request.headers[CSRF_HEADER] !== '1') {
    throw new AppError('FORBIDDEN', `Cookie sessions need the ${CSRF_HEADER}: 1 header.`);
  }
  if (request.headers['sec-fetch-site'] === 'cross-site') {
    throw new AppError('FORBIDDEN', 'Cross-site requests cannot use the session cookie.');
  }
  const origin = request.headers.origin;
  if (origin === undefined) return;
  const allowed = new Set([new URL(publicUrl).origin, `${request.protocol}://${request.host}`]);
  if (!allowed.has(origin)) {
    throw new AppError('FORBIDDEN', 'The request’s Origin is not this server.');
  }
}

export function setRefreshCookie(reply: FastifyReply, cookie: string): void {
  void reply.header('Set-Cookie', cookie);
}
