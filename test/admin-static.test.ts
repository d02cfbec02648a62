import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { adminDashboard } from '../src/platform/http/admin-static.js';
import { ADMIN_CSP, securityHeaders } from '../src/platform/http/security-headers.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'bazaar-admin-dist-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function server(dist: string) {
  const app = Fastify();
  // As in the real server: the security headers hook gives /admin its policy.
  app.addHook('onSend', securityHeaders({ tls: false, hstsMaxAgeSeconds: 31_536_000 }));
  app.setErrorHandler((error: Error, _request, reply) => reply.code(503).send({ message: error.message }));
  await app.register((instance) => adminDashboard(instance, { root: dist }));
  return app;
}

describe('serving the admin dashboard', () => {
  it('answers index.html for every SPA path, uncached, and hashed assets cached for a year', async () => {
    mkdirSync(path.join(root, 'assets'), { recursive: true });
    writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>admin</title>');
    writeFileSync(path.join(root, 'assets', 'index-abc123.js'), 'console.log(1)');
    const app = await server(root);
    for (const url of ['/admin', '/admin/', '/admin/orders/5b1c', '/admin/settings?tab=tax']) {
      const page = await app.inject({ url });
      expect(page.statusCode, url).toBe(200);
      expect(page.body).toContain('<title>admin</title>');
      expect(page.headers['cache-control']).toBe('no-cache');
      expect(page.headers['content-security-policy']).toBe(ADMIN_CSP);
    }
    const asset = await app.inject({ url: '/admin/assets/index-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await app.inject({ url: '/admin/assets/missing.js' })).statusCode).toBe(404);
    await app.close();
  });

  it('says how to build it when the build is missing', async () => {
    const app = await server(path.join(root, 'nowhere'));
    const page = await app.inject({ url: '/admin/orders' });
    expect(page.statusCode).toBe(503);
    expect(page.json().message).toContain('npm run build');
    await app.close();
  });

  it('allows only the dashboard’s own scripts and styles', () => {
    expect(ADMIN_CSP).toContain("script-src 'self'");
    expect(ADMIN_CSP).toContain("style-src 'self'");
    expect(ADMIN_CSP).not.toContain('unsafe');
  });
});
