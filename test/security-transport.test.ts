import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_CSP } from '../src/platform/http/security-headers.js';
import { jsonDeeperThan } from '../src/platform/http/json-depth.js';
import { createTestApp, type ApiResponse, type TestApp } from './helpers/app.js';

function expectSecurityHeaders(res: Pick<ApiResponse, 'headers'>) {
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['referrer-policy']).toBe('no-referrer');
  expect(res.headers['x-frame-options']).toBe('DENY');
  expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
  expect(res.headers['content-type']).toMatch(/charset=utf-8/i);
}

let resolveStuckAbort: (reason: unknown) => void;
const stuckAborted = new Promise<unknown>((resolve) => (resolveStuckAbort = resolve));

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('security headers and transport limits', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({
      env: {
        CORS_ORIGINS: 'https://shop.example.com',
        JSON_DEPTH_LIMIT: '8',
        HANDLER_TIMEOUT: '1',
        TRUST_PROXY: '127.0.0.1',
      },
      setup: (bazaar) => {
        bazaar.http.get('/api/v1/test/boom', async () => {
          throw new Error('an unexpected failure');
        });
        // Answers only when aborted: the handler timeout must answer for it, and tell it to stop.
        bazaar.http.get('/api/v1/test/stuck', async (request) => {
          const reason = await new Promise((resolve) =>
            request.signal.addEventListener('abort', () => resolve(request.signal.reason)),
          );
          resolveStuckAbort(reason);
          return { never: 'seen' };
        });
        bazaar.http.get('/api/v1/test/slow', async () => {
          await new Promise((resolve) => setTimeout(resolve, 600));
          return { answered: true };
        });
      },
    });
  });
  afterAll(() => app.close());

  it('sets them on a 200, a 404 and a real 500', async () => {
    const ok = await app.api('GET', '/api/v1/products');
    expect(ok.status).toBe(200);
    expectSecurityHeaders(ok);
    const missing = await app.api('GET', '/api/v1/no-such-thing');
    expect(missing.status).toBe(404);
    expectSecurityHeaders(missing);
    const failed = await app.api('GET', '/api/v1/test/boom');
    expect(failed.status).toBe(500);
    expect(failed.body.error.code).toBe('INTERNAL_ERROR');
    expect(failed.raw).not.toContain('an unexpected failure');
    expectSecurityHeaders(failed);
    const metrics = (await app.request({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('bazaar_http_request_errors_total{method="GET",route="/api/v1/test/boom"} 1');
    // Plain HTTP from no proxy: no HSTS.
    expect(ok.headers['strict-transport-security']).toBeUndefined();
  });

  it('sends HSTS when the trusted proxy reports HTTPS', async () => {
    const res = await app.api('GET', '/healthz', undefined, undefined, { 'x-forwarded-proto': 'https' });
    expect(res.headers['strict-transport-security']).toMatch(/^max-age=31536000; includeSubDomains$/);
  });

  it('gives /admin a same-origin CSP without inline scripts, and /docs swagger-ui’s own, never framed', async () => {
    const admin = await app.request({ method: 'GET', url: '/admin/' });
    expect(admin.headers['content-security-policy']).toBe(ADMIN_CSP);
    expect(ADMIN_CSP).toContain("script-src 'self'");
    expect(ADMIN_CSP).not.toContain('unsafe-inline');
    const docs = await app.request({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    const csp = String(docs.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("frame-ancestors 'self'");
  });

  it('answers CORS only for configured origins', async () => {
    const preflight = (origin: string) =>
      app.request({
        method: 'OPTIONS',
        url: '/api/v1/products',
        headers: { origin, 'access-control-request-method': 'GET' },
      });
    expect((await preflight('https://shop.example.com')).headers['access-control-allow-origin']).toBe(
      'https://shop.example.com',
    );
    expect(
      (await preflight('https://evil.example.net')).headers['access-control-allow-origin'],
    ).toBeUndefined();
  });

  it('refuses JSON nested deeper than JSON_DEPTH_LIMIT with 400 in the envelope', async () => {
    const send = (payload: string) =>
      app.request({
        method: 'POST',
        url: '/api/v1/auth/login',
        headers: { 'content-type': 'application/json' },
        payload,
      });
    const deep = await send(`{"email":${nested(8)},"password":"x"}`);
    expect(deep.statusCode).toBe(400);
    expect(deep.json().error).toMatchObject({
      code: 'VALIDATION_ERROR',
      message: expect.stringMatching(/deeper than 8/),
    });
    // Within the limit the body parses and is judged by the route's schema instead.
    const shallow = await send(`{"email":${nested(7)},"password":"x"}`);
    expect(shallow.statusCode).toBe(400);
    expect(shallow.json().error.message).not.toMatch(/deeper/);
    // A body that would overflow a recursive parser is a 400 too, not a 500.
    expect((await send(nested(200_000))).statusCode).toBe(400);
    // Brackets inside strings do not count.
    expect(jsonDeeperThan(`{"a":"${'['.repeat(50)}\\"["}`, 2)).toBe(false);
  });

  it('answers a handler that overruns HANDLER_TIMEOUT with 503 in the envelope, and aborts its signal', async () => {
    const started = performance.now();
    const [res, slow] = await Promise.all([
      app.api('GET', '/api/v1/test/stuck'),
      app.api('GET', '/api/v1/test/slow'),
    ]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1000);
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('SERVICE_UNAVAILABLE');
    expectSecurityHeaders(res);
    expect(await stuckAborted).toBeInstanceOf(Error);
    // A request answered within the limit is left alone.
    expect(slow.status).toBe(200);
    expect(slow.body.data ?? slow.body).toMatchObject({ answered: true });
  });

  it('compresses large answers with br or gzip, and leaves small ones alone', async () => {
    const plain = await app.request({ method: 'GET', url: '/api/v1/openapi.json' });
    const gzip = await app.request({
      method: 'GET',
      url: '/api/v1/openapi.json',
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gzip.rawPayload).toString()).toBe(plain.body);
    const br = await app.request({
      method: 'GET',
      url: '/api/v1/openapi.json',
      headers: { 'accept-encoding': 'br, gzip' },
    });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.rawPayload.length).toBeLessThan(plain.rawPayload.length / 3);
    expect(brotliDecompressSync(br.rawPayload).toString()).toBe(plain.body);
    const small = await app.request({
      method: 'GET',
      url: '/healthz',
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(small.headers['content-encoding']).toBeUndefined();
  });
});

describe('native TLS', () => {
  let app: TestApp;
  let dir: string;
  let cert: Buffer;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'bazaar-tls-'));
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1'],
        ...['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
        ...['-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')],
      ],
      { stdio: 'ignore' },
    );
    cert = readFileSync(path.join(dir, 'cert.pem'));
    app = await createTestApp({
      listen: true,
      env: { TLS_CERT_FILE: path.join(dir, 'cert.pem'), TLS_KEY_FILE: path.join(dir, 'key.pem') },
    });
  });
  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves HTTPS with TLS_CERT_FILE and TLS_KEY_FILE, with HSTS', async () => {
    expect(app.url).toMatch(/^https:\/\//);
    const res = await new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
      (resolve, reject) => {
        const req = httpsRequest(`${app.url}/api/v1/no-such-thing`, { ca: cert }, (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () =>
            resolve({ status: response.statusCode!, headers: response.headers, body }),
          );
        });
        req.on('error', reject);
        req.end();
      },
    );
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body).error.code).toBe('NOT_FOUND');
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
  });
});
