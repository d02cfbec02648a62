import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** One registry per process; modules add their counters through `metrics.registry`. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'bazaar_' });

  const httpRequests = new Counter({
    name: 'bazaar_http_requests_total',
    help: 'HTTP requests by method, route and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'bazaar_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const httpErrors = new Counter({
    name: 'bazaar_http_request_errors_total',
    help: 'HTTP requests answered with a server error (5xx), by method and route.',
    labelNames: ['method', 'route'] as const,
    registers: [registry],
  });
  const jobsProcessed = new Counter({
    name: 'bazaar_jobs_processed_total',
    help: 'Jobs handled by the worker, by queue and outcome.',
    labelNames: ['queue', 'outcome'] as const,
    registers: [registry],
  });
  const mailsSent = new Counter({
    name: 'bazaar_mail_sent_total',
    help: 'E-mails handed to the transport, by template.',
    labelNames: ['template'] as const,
    registers: [registry],
  });

  const ordersCreated = new Counter({
    name: 'bazaar_orders_created_total',
    help: 'Orders placed (committed), by currency.',
    labelNames: ['currency'] as const,
    registers: [registry],
  });
  const revenue = new Counter({
    name: 'bazaar_revenue_minor_units_total',
    help: 'Payments captured, in minor units of the currency (cents), by currency; refunds not deducted.',
    labelNames: ['currency'] as const,
    registers: [registry],
  });
  const signUps = new Counter({
    name: 'bazaar_signups_total',
    help: 'Customer accounts registered.',
    registers: [registry],
  });

  return {
    registry,
    httpRequests,
    httpDuration,
    httpErrors,
    jobsProcessed,
    mailsSent,
    ordersCreated,
    revenue,
    signUps,
  };
}

/** Pool gauges, read from the database client when Prometheus scrapes. */
export function registerPoolGauges(
  metrics: Metrics,
  pool: { readonly max: number; readonly inUse: number; readonly waiting: number },
): void {
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [metrics.registry],
      collect() {
        this.set(read());
      },
    });
  gauge('bazaar_db_pool_connections_max', 'Database connections this process may open.', () => pool.max);
  gauge(
    'bazaar_db_pool_connections_in_use',
    'Database connections held by running queries and transactions.',
    () => pool.inUse,
  );
  gauge(
    'bazaar_db_pool_waiting',
    'Queries and transactions waiting for a free database connection.',
    () => pool.waiting,
  );
}

export type Metrics = ReturnType<typeof createMetrics>;
