import { afterAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';

/** Graceful stop, as a load balancer sees it: readiness fails first, requests are still served. */
describe('shutdown drain', () => {
  let app: TestApp | undefined;
  afterAll(async () => {
    await app?.close();
  });

  it('answers 503 on /readyz from the moment shutdown begins, while it still serves requests', async () => {
    app = await createTestApp({ env: { SHUTDOWN_DRAIN_DELAY: '2' } });
    await app.bazaar.http.listen({ port: 0, host: '127.0.0.1' });
    expect((await app.request({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);

    const stopped = app.bazaar.stop();
    const readiness = await app.request({ method: 'GET', url: '/readyz' });
    expect(readiness.statusCode).toBe(503);
    expect(readiness.json()).toMatchObject({
      status: 'unavailable',
      checks: [{ name: 'shutdown', ok: false }],
    });
    expect((await app.request({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.request({ method: 'GET', url: '/api/v1/categories' })).statusCode).toBe(200);

    await stopped;
    expect(app.bazaar.http.server.listening).toBe(false);
  });
});
