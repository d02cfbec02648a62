import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/platform/observability/logger.js';
import { createProduct, placeOrder } from './payments-helpers.js';
import { createTestApp, signInAdmin, signUp, waitFor, type TestApp } from './helpers/app.js';
import { OtlpCollector, type CollectedSpan } from './helpers/otlp-collector.js';
import { payThroughTestGateway } from './helpers/test-gateway.js';

const SERVER = 2;
const CONSUMER = 5;

/** Sum of a metric's samples whose labels include `labels`, from the Prometheus text format. */
async function metricValue(app: TestApp, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = (await app.request({ method: 'GET', url: '/metrics' })).body;
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^(\w+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const labelText = match[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) sum += Number(match[3]);
  }
  return sum;
}

describe('traces, logs and metrics of a running Bazaar', () => {
  let collector: OtlpCollector;
  let app: TestApp;
  const logLines: Record<string, unknown>[] = [];
  let handled: string | undefined;

  beforeAll(async () => {
    collector = await OtlpCollector.start();
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean))
          logLines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    app = await createTestApp({
      work: true,
      listen: true,
      logger: createLogger('info', logStream),
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'bazaar-test' },
      setup: (bazaar) => {
        bazaar.jobs.subscribe<{ user_id: string }>('user.registered', 'trace-probe', async (event) => {
          await bazaar.database.db.execute(sql`select count(*) from users`);
          bazaar.logger.info({ user_id: event.data.user_id }, 'trace probe handled');
          handled = event.data.user_id;
        });
      },
    });
  });
  afterAll(async () => {
    await app?.close();
    await collector?.close();
  });

  const spansOf = (traceId: string) => collector.spans.filter((s) => s.traceId === traceId);

  it('exports one trace over OTLP for a request, its queries and the job it queued', async () => {
    const user = await signUp(app);
    await waitFor(
      () => (handled === user.userId ? true : undefined),
      20_000,
      'the worker to handle the event',
    );
    await app.bazaar.tracing!.flush();

    const server = await waitFor(
      () =>
        collector.spans.find(
          (s) => s.kind === SERVER && s.attributes['http.route'] === '/api/v1/auth/register',
        ),
      10_000,
      'the request span',
    );
    expect(server.name).toBe('POST /api/v1/auth/register');
    expect(server.attributes['http.response.status_code']).toBe(201);
    const job = await waitFor(
      () => spansOf(server.traceId).find((s) => s.name === 'handle user.registered.trace-probe'),
      10_000,
      'the job span in the request’s trace',
    );
    expect(job.kind).toBe(CONSUMER);
    const trace = spansOf(server.traceId);
    const queries = trace.filter((s) => typeof s.attributes['db.query.text'] === 'string');
    expect(queries.map((s) => s.attributes['db.operation.name'])).toEqual(
      expect.arrayContaining(['INSERT', 'SELECT']),
    );
    // Statements only: parameters (the e-mail address, the password hash) never reach a span.
    for (const span of trace) expect(JSON.stringify(span.attributes)).not.toContain(user.email);
    const publish = trace.find((s) => s.name === 'publish user.registered');
    expect(publish?.parentSpanId).toBeDefined();
    expect(job.parentSpanId).toBe(publish!.spanId);
    // The handler's own queries belong to the trace as well.
    const handlerQuery = trace.find((s: CollectedSpan) => s.parentSpanId === job.spanId);
    expect(handlerQuery?.attributes['db.query.text']).toBe('select count(*) from users');

    // Log lines of the request and of the job name the trace.
    expect(
      logLines.find((l) => l.msg === 'request completed' && l.route === '/api/v1/auth/register'),
    ).toMatchObject({ trace_id: server.traceId });
    expect(logLines.find((l) => l.msg === 'trace probe handled')).toMatchObject({ trace_id: server.traceId });
  });

  it('puts the trace id in error answers, next to the request id', async () => {
    const requestId = randomUUID();
    const res = await app.api('GET', '/api/v1/no-such-route', undefined, undefined, {
      'x-request-id': requestId,
    });
    expect(res.status).toBe(404);
    expect(res.body.request_id).toBe(requestId);
    expect(res.body.trace_id).toMatch(/^[0-9a-f]{32}$/);
    await app.bazaar.tracing!.flush();
    const span = await waitFor(() =>
      collector.spans.find((s) => s.attributes['bazaar.request_id'] === requestId),
    );
    expect(span.traceId).toBe(res.body.trace_id);
  });

  it('continues a caller’s W3C traceparent', async () => {
    const traceId = randomUUID().replaceAll('-', '');
    await app.api('GET', '/api/v1/products', undefined, undefined, {
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
    });
    await app.bazaar.tracing!.flush();
    const span = await waitFor(() => collector.spans.find((s) => s.traceId === traceId && s.kind === SERVER));
    expect(span.parentSpanId).toBe('00f067aa0ba902b7');
  });

  it('counts RED per route, sign-ups, orders and revenue at commit', async () => {
    const signUpsBefore = await metricValue(app, 'bazaar_signups_total');
    const admin = await signInAdmin(app);
    const customer = await signUp(app);
    expect(await metricValue(app, 'bazaar_signups_total')).toBe(signUpsBefore + 1);

    const { variantId } = await createProduct(app, admin.accessToken, { price: 1999, stock: 5 });
    const ordersBefore = await metricValue(app, 'bazaar_orders_created_total', { currency: 'USD' });
    const order = await placeOrder(app, customer.accessToken, variantId, 2);
    expect(await metricValue(app, 'bazaar_orders_created_total', { currency: 'USD' })).toBe(ordersBefore + 1);

    const revenueBefore = await metricValue(app, 'bazaar_revenue_minor_units_total', { currency: 'USD' });
    await payThroughTestGateway(app, customer.accessToken, order.id);
    expect(await metricValue(app, 'bazaar_revenue_minor_units_total', { currency: 'USD' })).toBe(
      revenueBefore + order.total,
    );

    const route = { method: 'POST', route: '/api/v1/orders' };
    expect(await metricValue(app, 'bazaar_http_requests_total', { ...route, status: '201' })).toBeGreaterThan(
      0,
    );
    expect(await metricValue(app, 'bazaar_http_request_duration_seconds_count', route)).toBeGreaterThan(0);
    expect(await metricValue(app, 'bazaar_db_pool_connections_max')).toBeGreaterThan(0);
    expect(await metricValue(app, 'bazaar_jobs_processed_total', { outcome: 'completed' })).toBeGreaterThan(
      0,
    );
  });
});
