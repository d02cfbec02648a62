import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { AppError } from '../errors.js';
import { projectRoot } from '../paths.js';

/** Where `npm run build` puts the dashboard (vite build of admin/). */
export const adminDistDir = path.join(projectRoot, 'admin', 'dist');

/**
 * Serves the admin dashboard at /admin: hashed assets cached for a year, and index.html (never
 * cached) for every other path below /admin, so the SPA's own routes survive a reload.
 */
export async function adminDashboard(app: FastifyInstance, options: { root?: string } = {}) {
  const root = options.root ?? adminDistDir;
  // Its Content-Security-Policy (ADMIN_CSP) is set by the server's security headers.
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
