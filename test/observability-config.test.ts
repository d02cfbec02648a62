import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createTestApp, type TestApp } from './helpers/app.js';

const dir = path.join(import.meta.dirname, '..', 'deploy', 'observability');
const read = (file: string) => readFileSync(path.join(dir, file), 'utf8');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
}
const alerts = (parse(read('alerts.yml')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(read('grafana-dashboard.json')) as {
  panels: { type: string; title: string; targets?: { expr: string }[] }[];
};
const dashboardExprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

/** Metric names an expression reads; histogram series map to their histogram. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\bbazaar_\w+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''));
}

describe('deploy/observability', () => {
  let app: TestApp;
  let exported: Set<string>;
  beforeAll(async () => {
    app = await createTestApp();
    const text = (await app.request({ method: 'GET', url: '/metrics' })).body;
    exported = new Set([...text.matchAll(/^# TYPE (\w+) /gm)].map((m) => m[1]!));
  });
  afterAll(() => app.close());

  it('alerts only on metrics a running Bazaar exports', () => {
    const missing = alerts.flatMap((rule) => metricNames(rule.expr)).filter((name) => !exported.has(name));
    expect(missing).toEqual([]);
  });

  it('charts only metrics a running Bazaar exports', () => {
    expect(dashboardExprs.length).toBeGreaterThan(10);
    // The read cache registers its counter when the app composes one; until then (a build
    // without the cache module) the hit-ratio panel is the only one allowed to stay empty.
    const hasCache = 'cache' in app.bazaar;
    const missing = dashboardExprs
      .flatMap(metricNames)
      .filter((name) => !exported.has(name))
      .filter((name) => hasCache || name !== 'bazaar_cache_requests_total');
    expect(missing).toEqual([]);
  });

  it('has the alerts operations rely on', () => {
    const byName = new Map(alerts.map((rule) => [rule.alert, rule]));
    expect(byName.get('BazaarHighErrorRate')).toMatchObject({
      for: '5m',
      expr: expect.stringContaining('> 0.01'),
    });
    expect(byName.get('BazaarSlowRequests')?.expr).toMatch(/histogram_quantile\(0\.95,[\s\S]*> 0\.5/);
    expect(byName.get('BazaarJobQueueGrowing')?.expr).toContain('deriv(bazaar_job_queue_depth');
    expect(byName.get('BazaarDeadLetters')?.expr).toContain('bazaar_job_dead_letters) > 0');
    expect(byName.get('BazaarDatabasePoolSaturated')?.expr).toContain('> 0.8');
  });

  it('charts RED, latency, the pool, the cache, jobs and the business', () => {
    const all = dashboardExprs.join('\n');
    for (const needle of [
      'bazaar_http_requests_total',
      'bazaar_http_request_errors_total',
      'histogram_quantile(0.99',
      'bazaar_db_pool_waiting',
      'bazaar_cache_requests_total{result="hit"}',
      'bazaar_job_queue_depth',
      'bazaar_jobs_processed_total{outcome="failed"}',
      'bazaar_job_dead_letters',
      'bazaar_orders_created_total',
      'bazaar_revenue_minor_units_total',
      'bazaar_signups_total',
    ])
      expect(all).toContain(needle);
  });

  it('scrapes the API servers and loads the alert rules', () => {
    const prometheus = parse(read('prometheus.yml')) as {
      rule_files: string[];
      scrape_configs: { metrics_path: string }[];
    };
    expect(prometheus.rule_files).toContain('/etc/prometheus/alerts.yml');
    expect(prometheus.scrape_configs[0]?.metrics_path).toBe('/metrics');
  });
});
