import type { FastifyReply, FastifyRequest } from 'fastify';

/** API answers and errors load nothing and may not be framed. */
const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/**
 * The admin dashboard is a built single-page app served from /admin: its scripts, styles and API
 * calls all come from this origin (Vite's build has no inline script or style); product images
 * may come from any https host.
 */
export const ADMIN_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' https: data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** swagger-ui's own static CSP (with the hashes of its inline scripts), but never framed. */
export function docsCsp(swaggerUiCsp: string): string {
  return swaggerUiCsp.replace("frame-ancestors 'self'", "frame-ancestors 'none'");
}

export interface SecurityHeaderOptions {
  /** Served over TLS by this process (TLS_CERT_FILE); otherwise HSTS only behind a trusted TLS proxy. */
  tls: boolean;
  hstsMaxAgeSeconds: number;
}

const TEXTUAL = /^(text\/|application\/(json|javascript|xml)|[\w.+-]+\/[\w.+-]+\+(json|xml))/i;

/**
 * The headers every response carries, errors and 404s included (an onSend hook, so it also runs
 * for answers of the error and not-found handlers). API answers that set no `Cache-Control` of
 * their own are `no-store`. Synchronous: it runs on every answer.
 */
export function securityHeaders(options: SecurityHeaderOptions) {
  const hsts = `max-age=${options.hstsMaxAgeSeconds}; includeSubDomains`;
  return (
    request: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    done: (error: null, payload: unknown) => void,
  ) => {
    void reply.header('X-Content-Type-Options', 'nosniff');
    void reply.header('Referrer-Policy', 'no-referrer');
    void reply.header('X-Frame-Options', 'DENY');
    // request.protocol reads X-Forwarded-Proto only from proxies TRUST_PROXY names; a browser
    // that saw HSTS over plain HTTP would ignore it anyway, so it is sent only where it counts.
    if (options.tls || request.protocol === 'https') void reply.header('Strict-Transport-Security', hsts);
    const path = request.url.split('?')[0]!;
    if (path === '/admin' || path.startsWith('/admin/')) {
      void reply.header('Content-Security-Policy', ADMIN_CSP);
    } else if (!reply.hasHeader('Content-Security-Policy')) {
      void reply.header('Content-Security-Policy', API_CSP);
    }
    const type = reply.getHeader('Content-Type');
    if (typeof type === 'string' && TEXTUAL.test(type) && !/charset=/i.test(type)) {
      void reply.header('Content-Type', `${type}; charset=utf-8`);
    }
    if (path.startsWith('/api/') && !reply.hasHeader('Cache-Control')) {
      void reply.header('Cache-Control', 'no-store');
    }
    done(null, payload);
  };
}
