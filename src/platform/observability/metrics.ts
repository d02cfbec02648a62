import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

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

  return { registry, httpRequests, httpDuration, jobsProcessed, mailsSent };
}

export type Metrics = ReturnType<typeof createMetrics>;
