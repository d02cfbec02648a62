import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AppError } from '../errors.js';
import { projectRoot } from '../paths.js';

/** Where `npm run build` puts the dashboard (vite build of admin/). */
export const adminDistDir = path.join(projectRoot, 'admin', 'dist');

/**
 * The dashboard's policy: its own scripts, styles and API only — Vite's build has no inline
 * script or style. Product images may come from any https host.
 */
export const ADMIN_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' https: data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Serves the admin dashboard at /admin: hashed assets cached for a year, and index.html (never
 * cached) for every other path below /admin, so the SPA's own routes survive a reload.
 */
export async function adminDashboard(app: FastifyInstance, options: { root?: string } = {}) {
  const root = options.root ?? adminDistDir;
  // Set before the response is built, so the server's default API policy does not apply here.
  app.addHook('onRequest', async (_request, reply) => {
    void reply.header('Content-Security-Policy', ADMIN_CSP);
  });
  await app.register(fastifyStatic, {
    root: path.join(root, 'assets'),
    prefix: '/admin/assets/',
    immutable: true,
    maxAge: '365d',
    index: false,
  });
  const sendIndex = (reply: FastifyReply) => {
    if (!existsSync(path.join(root, 'index.html'))) {
      throw new AppError('SERVICE_UNAVAILABLE', 'The admin dashboard is not built: run npm run build.');
    }
    // Always revalidated, so a new deployment's asset names are picked up at once.
    return reply.header('Cache-Control', 'no-cache').sendFile('index.html', root, { cacheControl: false });
  };
  app.get('/admin', { schema: { hide: true } }, (_request, reply) => sendIndex(reply));
  app.get('/admin/*', { schema: { hide: true } }, (_request, reply) => sendIndex(reply));
}
